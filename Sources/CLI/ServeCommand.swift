import ArgumentParser
import Console
import Foundation
import Hummingbird
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the web interface and the HTTP API (/api/v1, OpenAPI document at /api/v1/openapi.json) on the gallery.",
        discussion: """
            Open http://HOST:PORT/ in a browser: investigators, supervisors, auditors, privacy officers and \
            admins sign in with their API token; the public opt-out and access-request forms need none. \
            Every API route authenticates with a bearer API token (except health, the document and the public \
            forms) and goes through the same rules and audit log as the command line. Listens on 127.0.0.1 \
            unless told otherwise; put TLS in front of it and pass --secure-cookies.

            Each setting comes from its flag, else its environment variable, else the JSON config file \
            (--config or LINEUP_CONFIG; keys host, port, workers, ingest_workers, max_upload_mib, \
            request_timeout_seconds, head_timeout_seconds, body_timeout_seconds, secure_cookies, \
            public_requests_per_address), else the default.

            With --mode cluster (or LINEUP_MODE=cluster) the gallery is PostgreSQL and Milvus, and any number \
            of these processes, each with the same keyring, serve it side by side behind a load balancer; \
            every hour each reconciles Milvus with PostgreSQL.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var galleryOptions: GalleryOptions

    @Option(help: "JSON config file (default: LINEUP_CONFIG).")
    var config: String?

    @Option(help: "Address to listen on (LINEUP_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port (LINEUP_PORT; default 8080).")
    var port: Int?

    @Option(
        name: .customLong("max-upload-mib"),
        help: "Largest upload accepted, in MiB; larger gets 413 (LINEUP_MAX_UPLOAD_MIB; default 20).")
    var maxUploadMiB: Int?

    @Option(help: "Seconds before a request is answered 503 timeout (LINEUP_REQUEST_TIMEOUT; default 120).")
    var requestTimeout: Int?

    @Option(
        help:
            "Seconds a request head may take to arrive, from the connection opening or the last answer (slow headers, idle keep-alive); the connection is closed past it (LINEUP_HEAD_TIMEOUT; default 20)."
    )
    var headTimeout: Int?

    @Option(help: "Seconds a request body may take to arrive after its head; the connection is closed past it (LINEUP_BODY_TIMEOUT; default 120).")
    var bodyTimeout: Int?

    @Option(help: "Face pipelines for concurrent searches (LINEUP_WORKERS; default one per core).")
    var workers: Int?

    @Option(
        help:
            "Face pipelines for ingests, each taking one upload or folder ingest at a time while the others queue; they never take a search's (LINEUP_INGEST_WORKERS; default 1)."
    )
    var ingestWorkers: Int?

    @Option(
        help:
            "Public opt-out and access requests each client address may send per 15 minutes; more get 429 (LINEUP_PUBLIC_REQUESTS_PER_ADDRESS; default 5). Behind a proxy every request has the proxy's address."
    )
    var publicRequestsPerAddress: Int?

    @Flag(help: "Mark the session cookie Secure: the server is reached over HTTPS (LINEUP_SECURE_COOKIES=1).")
    var secureCookies = false

    func run() async throws {
        let settings = try ServeSettings.resolve(flags: self)
        let governance = try galleryOptions.governance(pipelineOptions)
        // The server searches: its index is loaded before it listens, so the first
        // search does not wait for it and health reports it from the start.
        let index = try governance.gallery.indexOrigin
        printError("lineup: \(try governance.gallery.indexedFaces()) faces indexed (\(try governance.gallery.indexKind.rawValue), from \(index))")
        let pipelines = try ServerPipelines(searchWorkers: settings.workers, ingestWorkers: settings.ingestWorkers) { limits in
            try pipelineOptions.pipeline(limits: limits)
        }
        let metrics = ServerMetrics()
        let server = LineupServer(
            governance: governance, pipelines: pipelines,
            configuration: .init(
                host: settings.host, port: settings.port,
                maxUploadBytes: settings.maxUploadMiB << 20,
                secureCookies: settings.secureCookies,
                requestTimeout: .seconds(settings.requestTimeoutSeconds),
                headTimeout: .seconds(settings.headTimeoutSeconds),
                bodyTimeout: .seconds(settings.bodyTimeoutSeconds),
                publicRequestsPerAddress: settings.publicRequestsPerAddress),
            metrics: metrics)
        printError("lineup: serving on http://\(settings.host):\(settings.port)/ (API under /api/v1)")
        // Retention runs at start and every hour, as `lineup retention run` would; in cluster
        // mode the shared index is then reconciled with the metadata store.
        let retention = Task.detached {
            while !Task.isCancelled {
                do {
                    // Runs whose process died (a crash, kill -9) are closed and logged.
                    let closed = try governance.closeAbandonedRuns()
                    if !closed.isEmpty { printError("lineup: closed \(closed.count) ingest runs whose process had stopped") }
                } catch {
                    printError("lineup: closing abandoned ingest runs failed: \(error)")
                }
                do {
                    let receipts = try governance.runRetention(as: nil)
                    if !receipts.isEmpty { printError("lineup: retention erased \(receipts.reduce(0) { $0 + $1.faces }) faces past their period") }
                } catch {
                    printError("lineup: retention run failed: \(error)")
                }
                do {
                    // Unfinished erasures, Milvus's compaction, PostgreSQL's vacuum.
                    let purged = try governance.finishErasures()
                    if !purged.isEmpty { printError("lineup: the templates of \(purged.count) erasures left the shared index's files") }
                } catch {
                    printError("lineup: finishing erasures failed: \(error)")
                }
                if governance.gallery.indexKindKnownNow == .shared {
                    do {
                        let reconciled = try governance.reconcileIndex(as: nil)
                        if reconciled.added + reconciled.removed > 0 {
                            printError("lineup: shared index reconciled: \(reconciled.added) added, \(reconciled.removed) removed")
                        }
                    } catch {
                        printError("lineup: index reconciliation failed: \(error)")
                    }
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
        defer { retention.cancel() }
        try await server.application().runService()
        await server.stopIngests()
    }
}

/// The server's settings, each from its flag, its environment variable, the config
/// file or its default, in that order; every value is checked, and a bad one names
/// where it came from.
struct ServeSettings: Equatable {
    var host = "127.0.0.1"
    var port = 8080
    var workers = ProcessInfo.processInfo.activeProcessorCount
    var ingestWorkers = 1
    var publicRequestsPerAddress = 5
    var maxUploadMiB = 20
    var requestTimeoutSeconds = 120
    var headTimeoutSeconds = 20
    var bodyTimeoutSeconds = 120
    var secureCookies = false

    static let fileKeys: Set<String> = [
        "host", "port", "workers", "ingest_workers", "max_upload_mib", "request_timeout_seconds",
        "secure_cookies", "public_requests_per_address", "head_timeout_seconds",
        "body_timeout_seconds",
    ]

    static func resolve(flags: ServeCommand, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServeSettings {
        var settings = ServeSettings()
        if let path = flags.config ?? environment["LINEUP_CONFIG"] { try settings.read(file: path) }
        func number(_ variable: String) throws -> Int? {
            guard let text = environment[variable] else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(variable)=\(text) is not a whole number") }
            return value
        }
        settings.host = flags.host ?? environment["LINEUP_HOST"] ?? settings.host
        settings.port = try flags.port ?? number("LINEUP_PORT") ?? settings.port
        settings.workers = try flags.workers ?? number("LINEUP_WORKERS") ?? settings.workers
        settings.ingestWorkers = try flags.ingestWorkers ?? number("LINEUP_INGEST_WORKERS") ?? settings.ingestWorkers
        settings.publicRequestsPerAddress =
            try flags.publicRequestsPerAddress ?? number("LINEUP_PUBLIC_REQUESTS_PER_ADDRESS")
            ?? settings.publicRequestsPerAddress
        settings.maxUploadMiB = try flags.maxUploadMiB ?? number("LINEUP_MAX_UPLOAD_MIB") ?? settings.maxUploadMiB
        settings.requestTimeoutSeconds = try flags.requestTimeout ?? number("LINEUP_REQUEST_TIMEOUT") ?? settings.requestTimeoutSeconds
        settings.headTimeoutSeconds = try flags.headTimeout ?? number("LINEUP_HEAD_TIMEOUT") ?? settings.headTimeoutSeconds
        settings.bodyTimeoutSeconds = try flags.bodyTimeout ?? number("LINEUP_BODY_TIMEOUT") ?? settings.bodyTimeoutSeconds
        if flags.secureCookies || ["1", "true", "yes"].contains(environment["LINEUP_SECURE_COOKIES"]?.lowercased() ?? "") {
            settings.secureCookies = true
        }
        try settings.check()
        return settings
    }

    mutating func read(file path: String) throws {
        struct File: Decodable {
            var host: String?
            var port: Int?
            var workers: Int?
            var ingestWorkers: Int?
            var publicRequestsPerAddress: Int?
            var maxUploadMib: Int?
            var requestTimeoutSeconds: Int?
            var headTimeoutSeconds: Int?
            var bodyTimeoutSeconds: Int?
            var secureCookies: Bool?
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the config file \(path)") }
        guard let keys = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ValidationError("the config file \(path) is not a JSON object")
        }
        if let unknown = Set(keys.keys).subtracting(Self.fileKeys).sorted().first {
            throw ValidationError(
                "the config file \(path) has an unknown key '\(unknown)' (known: \(Self.fileKeys.sorted().joined(separator: ", ")))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let file: File
        do {
            file = try decoder.decode(File.self, from: data)
        } catch DecodingError.typeMismatch(_, let context) {
            throw ValidationError("\(context.codingPath.map(\.stringValue).joined(separator: ".")) in \(path) has the wrong type")
        }
        host = file.host ?? host
        port = file.port ?? port
        workers = file.workers ?? workers
        ingestWorkers = file.ingestWorkers ?? ingestWorkers
        publicRequestsPerAddress = file.publicRequestsPerAddress ?? publicRequestsPerAddress
        maxUploadMiB = file.maxUploadMib ?? maxUploadMiB
        requestTimeoutSeconds = file.requestTimeoutSeconds ?? requestTimeoutSeconds
        headTimeoutSeconds = file.headTimeoutSeconds ?? headTimeoutSeconds
        bodyTimeoutSeconds = file.bodyTimeoutSeconds ?? bodyTimeoutSeconds
        secureCookies = file.secureCookies ?? secureCookies
    }

    func check() throws {
        guard (1...65535).contains(port) else { throw ValidationError("port \(port) is not 1 to 65535") }
        guard (1...256).contains(workers) else { throw ValidationError("workers must be 1 to 256") }
        guard (1...64).contains(ingestWorkers) else { throw ValidationError("ingest workers must be 1 to 64") }
        guard (1...1_000_000).contains(publicRequestsPerAddress) else {
            throw ValidationError("public requests per address must be 1 to 1000000")
        }
        guard (1...1024).contains(maxUploadMiB) else { throw ValidationError("max upload must be 1 to 1024 MiB") }
        guard (1...3600).contains(requestTimeoutSeconds) else { throw ValidationError("request timeout must be 1 to 3600 seconds") }
        guard (1...600).contains(headTimeoutSeconds) else { throw ValidationError("head timeout must be 1 to 600 seconds") }
        guard (1...3600).contains(bodyTimeoutSeconds) else { throw ValidationError("body timeout must be 1 to 3600 seconds") }
    }
}
