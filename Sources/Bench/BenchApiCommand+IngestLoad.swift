import ArgumentParser
import Console
import Dispatch
import FaceVision
import Foundation
import Governance
import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The case of `lineup-bench api` where uploads are ingested while people search:
/// health's latency (one request after another) and a search's (wrk, one client),
/// first with the server otherwise idle, then while `uploads` uploads of
/// `photosPerUpload` photos each are ingested in the background.
struct IngestLoad {
    var port: Int
    var adminToken: String
    var photos: String
    var directory: String
    var uploads: Int
    var photosPerUpload: Int
    var seconds: Int
    var searchScript: String

    func run(_ governance: Governance) async throws {
        let admin = try governance.authenticate(token: adminToken)
        // A new source each run: files already held by a source are not ingested twice.
        let stamp = Int(Date().timeIntervalSince1970)
        let root = directory + "/bench-uploads-\(stamp)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let source = "bench-uploads-\(stamp)"
        _ = try governance.registerSource(
            as: admin,
            Source(
                name: source, kind: .upload, root: root, legalBasis: .publicTask,
                specialCategoryCondition: .archivingOrResearch, jurisdiction: "GB",
                retentionDays: 30, createdBy: "bench", collectionMethod: .licensed))
        let all = MediaFiles.list(under: URL(fileURLWithPath: photos)).filter(MediaFiles.isPhoto)
            .evenlySpaced(count: uploads * photosPerUpload)
        guard all.count >= uploads else { throw ValidationError("not enough photos in \(photos) for \(uploads) uploads") }
        let batches = (0..<uploads).map { index in Array(all[(index * all.count / uploads)..<((index + 1) * all.count / uploads)]) }

        let idleHealth = try await healthLatencies(for: .seconds(5))
        let idleSearch = try BenchApiCommand.runWrk(script: searchScript, port: port, clients: 1, seconds: min(seconds, 10))

        var jobs: [String] = []
        for batch in batches { jobs.append(try await upload(batch, into: source)) }
        let started = ContinuousClock.now
        async let busyHealth = healthLatencies(for: .seconds(seconds))
        let busySearch = try BenchApiCommand.runWrk(script: searchScript, port: port, clients: 1, seconds: seconds)
        let health = try await busyHealth
        var done = 0, total = 0, states: [String] = []
        for job in jobs {
            let status = try await get("/api/v1/ingest-jobs/\(job)")
            done += status["files_done"] as? Int ?? 0
            total += status["files_total"] as? Int ?? 0
            states.append(status["state"] as? String ?? "?")
        }
        let elapsed = (ContinuousClock.now - started).components.seconds
        // The uploads run to their end: how long two take beside the searches above.
        var faces = 0
        for job in jobs {
            var status: [String: Any] = [:]
            repeat {
                try await Task.sleep(for: .milliseconds(500))
                status = try await get("/api/v1/ingest-jobs/\(job)")
            } while ["running", "queued"].contains(status["state"] as? String)
            faces += status["faces"] as? Int ?? 0
        }
        let allDone = Double((ContinuousClock.now - started).components.seconds)

        print("")
        print(
            "under ingest load: \(uploads) uploads of \(batches.map(\.count).map(String.init).joined(separator: "+")) photos, "
                + "ingest workers 1; after \(elapsed) s \(done) of \(total) files ingested (jobs \(states.joined(separator: ", ")))")
        print("                     health p50   health p99   health max   search p50   search p99   search req/s")
        print("both uploads ingested in \(format(allDone, 0)) s: \(format(Double(all.count) / allDone, 1)) files/s, \(faces) faces")
        for (label, health, search) in [("idle", idleHealth, idleSearch), ("while ingesting", health, busySearch)] {
            let sorted = health.sorted()
            func at(_ q: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
            print(
                label.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + [at(0.5), at(0.99), sorted.last ?? .nan, search.p50, search.p99].map { format($0).leftPad(10) + " ms" }.joined()
                    + format(search.requestsPerSecond, 1).leftPad(13))
        }
    }

    /// Health asked one request after another for `duration`: each answer's time, ms.
    func healthLatencies(for duration: Duration) async throws -> [Double] {
        let deadline = ContinuousClock.now + duration
        var times: [Double] = []
        let url = URL(string: "http://127.0.0.1:\(port)/api/v1/health")!
        while ContinuousClock.now < deadline {
            let start = DispatchTime.now().uptimeNanoseconds
            let (_, response) = try await URLSession.shared.data(from: url)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("health answered \(response)") }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            try await Task.sleep(for: .milliseconds(20))
        }
        return times
    }

    /// Uploads the photos as one multipart request; answers with the job's id.
    func upload(_ files: [String], into source: String) async throws -> String {
        let boundary = "lineup-bench-upload"
        var body = Data()
        for path in files {
            body.append(
                Data(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\((path as NSString).lastPathComponent)\"\r\nContent-Type: image/jpeg\r\n\r\n"
                        .utf8))
            body.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/sources/\(source)/uploads")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.upload(for: request, from: body)
        guard (response as? HTTPURLResponse)?.statusCode == 202,
            let job = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String
        else {
            throw ValidationError("the upload was refused: \(String(decoding: data, as: UTF8.self))")
        }
        return job
    }

    func get(_ path: String) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)" + path)!)
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}
