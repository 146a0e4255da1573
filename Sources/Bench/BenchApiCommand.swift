import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import Logging
import Server
import ServiceLifecycle
import Store

struct BenchApiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Search through the HTTP API under load (wrk) against the engine's own search time, on a gallery of real faces.",
        discussion: """
            Builds (or reuses, with --store) a gallery of the shared LFW photos, with an approved \
            investigator whose daily limits are lifted for the run. Then, in one process: the engine's \
            own justified search (Governance.search: decode, detect, embed, index, audit), one after \
            another; and the same search over HTTP with wrk at each --clients count. Prints p50 and \
            p99 latency, requests per second and errors, and the API's p50 minus the engine's. Then, \
            while --uploads uploads of --upload-photos photos each are ingested in the background: \
            health's latency (one request after another) and a search's (wrk, one client), against the \
            same without the uploads. wrk is Debian's package (scripts/bench-api.sh installs it).
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Gallery folder to build or reuse (default: a scratch folder, deleted after).")
    var store: String?

    @Option(help: "Photos to ingest (default: the shared LFW development photos).")
    var images: String?

    @Option(help: "The probe photo (default: the first photo of the folder).")
    var probe: String?

    @Option(parsing: .upToNextOption, help: "Concurrent clients for each wrk run.")
    var clients: [Int] = [1, 16, 64]

    @Option(help: "Seconds per wrk run.")
    var seconds = 20

    @Option(help: "Engine searches for the baseline.")
    var searches = 200

    @Option(help: "Port for the server under test.")
    var port = 18_181

    @Option(help: "Uploads ingested at once for the case under ingest load (0 leaves the case out).")
    var uploads = 2

    @Option(help: "Photos in each of those uploads.")
    var uploadPhotos = 120

    func run() async throws {
        guard let folder = images ?? ProjectPaths.sharedLFWImages else {
            throw ValidationError("no photos: give --images, or put the shared LFW photos beside the checkout")
        }
        let scratch = store == nil
        let directory = store ?? FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-api-\(UUID().uuidString)").path
        defer { if scratch { try? FileManager.default.removeItem(atPath: directory) } }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let pipelines = try (0..<threads).map { _ in try pipelineOptions.pipeline() }
        let gallery = try Gallery(directory: directory, modelID: pipelineOptions.modelID, dimension: SFaceEmbedder.templateDimension)
        let governance = try Governance(gallery: gallery)
        let investigator = try Self.prepare(governance, photos: folder, pipelines: pipelines)
        let probePath = try probe ?? MediaFiles.list(under: URL(fileURLWithPath: folder)).sorted().first ?? ""
        let photo = try Image.readFile(probePath, limits: pipelineOptions.limits)
        let justification = Justification(caseNumber: "BENCH-1", purpose: "load benchmark", legalBasis: "benchmark of the API")
        print("gallery: \(try gallery.indexedFaces()) faces (\(try gallery.indexKind.rawValue) index); probe \(probePath)")

        var engine: [Double] = []
        for _ in 0..<searches {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try governance.search(as: investigator.principal, justification: justification, photo: photo, pipeline: pipelines[0])
            engine.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        engine.sort()
        let engineP50 = engine[engine.count / 2], engineP99 = engine[min(engine.count - 1, engine.count * 99 / 100)]
        print("engine (in process, one after another): p50 \(format(engineP50)) ms  p99 \(format(engineP99)) ms")

        let server = LineupServer(
            governance: governance,
            pipelines: ServerPipelines(
                searches: PipelinePool(pipelines),
                ingest: PipelinePool([try pipelineOptions.pipeline()]),
                publicRequests: PipelinePool([try pipelineOptions.pipeline(limits: ServerPipelines.publicLimits)])),
            configuration: .init(host: "127.0.0.1", port: port))
        let script = directory + "/search.lua"
        try Self.wrkScript(token: investigator.token, photo: probePath, justification: justification).write(
            toFile: script, atomically: true, encoding: .utf8)
        var quiet = Logger(label: "lineup-bench")
        quiet.logLevel = .warning
        let services = ServiceGroup(configuration: .init(services: [.init(service: server.application())], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            try await Task.sleep(for: .seconds(1))
            print("clients   p50 ms   p99 ms    req/s   errors   API p50 − engine p50")
            for count in clients {
                let result = try Self.runWrk(script: script, port: port, clients: count, seconds: seconds)
                print(
                    "\(String(count).leftPad(7))  \(format(result.p50).leftPad(7))  \(format(result.p99).leftPad(7))  "
                        + "\(format(result.requestsPerSecond, 1).leftPad(7))  \(String(result.errors).leftPad(7))   "
                        + (count == 1 ? "\(format(result.p50 - engineP50)) ms" : "-"))
            }
            if uploads > 0 {
                try await IngestLoad(
                    port: port, adminToken: investigator.adminToken, photos: folder, directory: directory,
                    uploads: uploads, photosPerUpload: uploadPhotos, seconds: seconds, searchScript: script
                )
                .run(governance)
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            await server.stopIngests()
        }
    }

    /// Ingests the photos and makes an approved investigator and an admin, once per
    /// store (their tokens are kept in the store folder, mode 0600, for the next run).
    static func prepare(_ g: Governance, photos: String, pipelines: [FacePipeline])
        throws -> (principal: Principal, token: String, adminToken: String)
    {
        let tokenFile = g.gallery.directory + "/bench-investigator.token", adminFile = g.gallery.directory + "/bench-admin.token"
        func saved(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }
        if let token = saved(tokenFile) {
            guard let admin = saved(adminFile) else {
                throw ValidationError("--store was made by an earlier version of this benchmark (no admin token): use a new folder")
            }
            return (try g.authenticate(token: token), token, admin)
        }
        guard try g.gallery.store.database.read({ db in try db.count(Account.self) }) == 0 else {
            throw ValidationError("--store must be a new folder or one this benchmark made: it holds other accounts")
        }
        let (admin, token) = try benchAccounts(g)
        _ = try g.registerSource(
            as: admin,
            Source(
                name: "bench-photos", kind: .folder, root: photos, legalBasis: .publicTask,
                specialCategoryCondition: .archivingOrResearch, jurisdiction: "GB",
                retentionDays: 30, createdBy: "bench", collectionMethod: .licensed))
        let bar = ProgressBar(total: 0, label: "ingest")
        _ = try g.ingest(as: admin, source: "bench-photos", paths: [], pipelines: pipelines) { progress in
            bar.show(done: progress.filesDone, total: progress.filesTotal, faces: progress.faces, detail: "")
        }
        let longLived = try g.issueToken(as: admin, label: "bench", days: 366).token
        for (path, value) in [(tokenFile, token), (adminFile, longLived)] {
            _ = FileManager.default.createFile(atPath: path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600])
        }
        return (try g.authenticate(token: token), token, longLived)
    }

    static func wrkScript(token: String, photo: String, justification: Justification) -> String {
        let boundary = "lineup-bench-boundary"
        func field(_ name: String, _ value: String) -> String {
            "--\(boundary)\\r\\nContent-Disposition: form-data; name=\\\"\(name)\\\"\\r\\n\\r\\n\(value)\\r\\n"
        }
        let fields =
            field("case_number", justification.caseNumber) + field("purpose", justification.purpose)
            + field("legal_basis", justification.legalBasis)
        return """
            local file = io.open("\(photo)", "rb")
            local photo = file:read("*all")
            file:close()
            wrk.method = "POST"
            wrk.path = "/api/v1/search"
            wrk.headers["Authorization"] = "Bearer \(token)"
            wrk.headers["Content-Type"] = "multipart/form-data; boundary=\(boundary)"
            wrk.body = "\(fields)--\(boundary)\\r\\nContent-Disposition: form-data; name=\\"photo\\"; filename=\\"probe.jpg\\"\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n" .. photo .. "\\r\\n--\(boundary)--\\r\\n"
            """
    }

    struct WrkResult {
        var p50: Double
        var p99: Double
        var requestsPerSecond: Double
        var errors: Int
    }

    /// Runs wrk and reads its latency distribution, rate and errors (non-2xx answers and socket errors).
    static func runWrk(script: String, port: Int, clients: Int, seconds: Int) throws -> WrkResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "wrk", "--latency", "--timeout", "60s", "-t", String(min(clients, 4)), "-c", String(clients),
            "-d", "\(seconds)s", "-s", script, "http://127.0.0.1:\(port)/api/v1/search",
        ]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { throw ValidationError("wrk not found: install Debian's wrk (scripts/bench-api.sh does)") }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("wrk failed:\n\(text)") }
        func milliseconds(_ token: String) -> Double {
            let units: [(String, Double)] = [("us", 0.001), ("ms", 1), ("s", 1000), ("m", 60_000)]
            for (unit, scale) in units where token.hasSuffix(unit) { return (Double(token.dropLast(unit.count)) ?? .nan) * scale }
            return .nan
        }
        var result = WrkResult(p50: .nan, p99: .nan, requestsPerSecond: .nan, errors: 0)
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "50%", words.count > 1 { result.p50 = milliseconds(words[1]) }
            if words.first == "99%", words.count > 1 { result.p99 = milliseconds(words[1]) }
            if words.first == "Requests/sec:", words.count > 1 { result.requestsPerSecond = Double(words[1]) ?? .nan }
            if line.contains("Non-2xx or 3xx responses:") { result.errors += Int(words.last ?? "") ?? 0 }
            if line.contains("Socket errors:") {
                result.errors += words.compactMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }.reduce(0, +)
            }
        }
        return result
    }
}

/// A benchmark's accounts in a new gallery: a bootstrapped admin of "Bench
/// operations", and an investigator of "Bench police" approved by its supervisor,
/// both with limits no benchmark reaches. Returns the admin and the investigator's token.
func benchAccounts(_ g: Governance) throws -> (admin: Principal, investigatorToken: String) {
    let admin = try g.authenticate(
        token: g.bootstrap(organisation: "Bench operations", type: .government, jurisdiction: "GB", admin: "bench-admin").token)
    _ = try g.addOrganisation(as: admin, name: "Bench police", type: .lawEnforcement, jurisdiction: "GB", searchesPerDay: 100_000_000)
    let supervisor = try g.authenticate(
        token: g.addAccount(as: admin, name: "bench-supervisor", organisation: "Bench police", roles: [.supervisor]).1.token)
    let investigator = try g.addAccount(
        as: supervisor, name: "bench-investigator", organisation: "Bench police", roles: [.investigator],
        searchesPerDay: 100_000_000
    ).1.token
    _ = try g.approve(as: supervisor, account: "bench-investigator")
    return (admin, investigator)
}
