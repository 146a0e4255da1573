import ArgumentParser
import Foundation
import Hummingbird
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (/api/v1, OpenAPI document at /api/v1/openapi.json) on the embedded gallery.",
        discussion: """
            Every route authenticates with a bearer API token (except health, the document and the public \
            opt-out and access-request forms) and goes through the same rules and audit log as the \
            command line. Listens on 127.0.0.1 unless told otherwise; put TLS in front of it.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var galleryOptions: GalleryOptions

    @Option(help: "Address to listen on (default: LINEUP_HOST, or 127.0.0.1).")
    var host: String?

    @Option(help: "Port (default: LINEUP_PORT, or 8080).")
    var port: Int?

    @Option(help: "Largest upload accepted, in MiB (larger gets 413).")
    var maxUploadMiB = 20

    @Option(help: "Face pipelines for concurrent searches (default: one per core).")
    var workers = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard (1...1024).contains(maxUploadMiB) else { throw ValidationError("--max-upload-mib must be 1 to 1024") }
    }

    func run() async throws {
        let governance = try galleryOptions.governance(pipelineOptions)
        let pipelines = try PipelinePool((0..<workers).map { _ in try pipelineOptions.pipeline() })
        let environmentPort = environment("LINEUP_PORT")
        guard let resolvedPort = port ?? (environmentPort.map { Int($0) } ?? 8080) else {
            throw ValidationError("LINEUP_PORT \(environmentPort ?? "") is not a number")
        }
        let metrics = ServerMetrics()
        metrics.bootstrapProcessMetrics()
        let server = LineupServer(governance: governance, pipelines: pipelines,
                                  configuration: .init(host: host ?? environment("LINEUP_HOST") ?? "127.0.0.1",
                                                       port: resolvedPort, maxUploadBytes: maxUploadMiB << 20),
                                  metrics: metrics)
        try await server.application().runService()
    }
}
