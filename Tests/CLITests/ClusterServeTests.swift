import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Two `lineup serve --mode cluster` processes on different ports sharing one
/// PostgreSQL database and one Milvus collection (scripts/cluster.sh starts both):
/// what one ingests the other finds, and what one erases the other no longer shows.
@Suite(.serialized) struct ClusterServeTests {
    static let postgres = ProcessInfo.processInfo.environment["LINEUP_POSTGRES_URL"] ?? "postgres://lineup@127.0.0.1:54329/lineup"
    static let milvus = ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530"
    /// Both servers answer (asked once: psql, and Milvus's collection list).
    static let reachable: Bool = {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/psql")
        psql.arguments = [postgres, "-qtAc", "SELECT 1"]
        psql.standardOutput = FileHandle.nullDevice
        psql.standardError = FileHandle.nullDevice
        guard (try? psql.run()) != nil else { return false }
        psql.waitUntilExit()
        guard psql.terminationStatus == 0 else { return false }
        let answered = Mutex(false)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: URLRequest(url: URL(string: milvus + "/v1/vector/collections")!, timeoutInterval: 5)) { data, _, _ in
            answered.withLock { $0 = data.map { String(decoding: $0, as: UTF8.self).contains("\"code\":200") } ?? false }
            done.signal()
        }.resume()
        done.wait()
        return answered.withLock { $0 }
    }()

    /// Drops a test deployment's schema (psql) and collection (Milvus's API).
    static func dropDeployment(_ name: String) {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/psql")
        psql.arguments = [postgres, "-qc", "DROP SCHEMA IF EXISTS \(name) CASCADE"]
        psql.standardOutput = FileHandle.nullDevice
        psql.standardError = FileHandle.nullDevice
        try? psql.run()
        psql.waitUntilExit()
        var request = URLRequest(url: URL(string: milvus + "/v1/vector/collections/drop")!, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("{\"collectionName\": \"\(name)\"}".utf8)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        done.wait()
    }

    /// A running `lineup serve` and what it printed.
    final class Server: @unchecked Sendable {
        let process = Process()
        let log = Pipe()
        let base: String

        init(port: Int, folder: String, environment: [String: String]) throws {
            base = "http://127.0.0.1:\(port)"
            process.executableURL = CLITests.root.appendingPathComponent(".build/debug/lineup")
            process.arguments = ["serve", "--store", folder, "--port", String(port), "--workers", "1"]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = log
            process.standardError = log
            try process.run()
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }

        func waitUntilHealthy() async throws {
            for _ in 0..<240 {
                if let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/api/v1/health")!),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    return
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            Issue.record("lineup serve did not answer on \(base)")
            throw CancellationError()
        }

        func call(
            _ method: String, _ path: String, token: String, json: [String: Any]? = nil,
            form: (fields: [String: String], file: (field: String, name: String, bytes: Data))? = nil
        ) async throws
            -> (status: Int, body: [String: Any])
        {
            var request = URLRequest(url: URL(string: base + "/api/v1" + path)!, timeoutInterval: 120)
            request.httpMethod = method
            request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
            if let json {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = try JSONSerialization.data(withJSONObject: json)
            }
            if let form {
                let boundary = "cluster-test-\(UUID().uuidString)"
                var body = Data()
                for (name, value) in form.fields {
                    body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
                }
                body.append(
                    Data(
                        ("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(form.file.field)\"; "
                            + "filename=\"\(form.file.name)\"\r\nContent-Type: image/jpeg\r\n\r\n").utf8))
                body.append(form.file.bytes)
                body.append(Data("\r\n--\(boundary)--\r\n".utf8))
                request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
                request.httpBody = body
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return (
                (response as? HTTPURLResponse)?.statusCode ?? 0,
                (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            )
        }
    }

    static func photo(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: CLITests.samples + "/" + name)) }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: reachable),
            "no PostgreSQL or Milvus (LINEUP_POSTGRES_URL, LINEUP_MILVUS_URL): scripts/cluster.sh start"))
    func twoInstancesShareIngestAndErasure() async throws {
        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let name = "two_" + UUID().uuidString.prefix(8).lowercased()
        // One keyring for the deployment, as each instance's secret store would hand it out.
        let environment = [
            "LINEUP_MODE": "cluster", "LINEUP_POSTGRES_URL": Self.postgres + "?schema=" + name,
            "LINEUP_MILVUS_URL": Self.milvus, "LINEUP_MILVUS_COLLECTION": name,
            "LINEUP_KEYRING_FILE": folder + "/keyring.json",
        ]
        defer { Self.dropDeployment(name) }
        let photos = folder + "/photos"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        let tokens = try CLITests.accounts(folder + "/a", environment: environment)
        let added = try CLITests.lineup(
            [
                "source", "add", "portraits", "--store", folder + "/a", "--root", photos, "--basis", "public-task",
                "--condition", "substantial-public-interest", "--jurisdiction", "GB",
                "--retention-days", "30", "--collected", "own-records", "--token", tokens.admin,
            ], environment: environment)
        #expect(added.status == 0, "\(added.stderr)")

        let port = Int.random(in: 20_000...40_000)
        let one = try Server(port: port, folder: folder + "/a", environment: environment)
        let two = try Server(port: port + 1, folder: folder + "/b", environment: environment)
        defer {
            one.stop()
            two.stop()
        }
        try await one.waitUntilHealthy()
        try await two.waitUntilHealthy()

        // Ingest through the first instance: two uploads, waited for to the end.
        for file in ["obama.jpg", "biden.jpg"] {
            let upload = try await one.call(
                "POST", "/sources/portraits/uploads", token: tokens.admin,
                form: ([:], ("files", file, try Self.photo(file))))
            #expect(upload.status == 202, "\(upload.body)")
            let job = try #require(upload.body["id"] as? String)
            var state = upload.body["state"] as? String
            for _ in 0..<240 where state == "running" || state == "queued" {
                try await Task.sleep(for: .milliseconds(250))
                state = try await one.call("GET", "/ingest-jobs/" + job, token: tokens.admin).body["state"] as? String
            }
            #expect(state == "finished")
        }

        // Search through the second: it finds the face the first ingested.
        func search(_ server: Server, _ photo: String) async throws -> [[String: Any]] {
            let found = try await server.call(
                "POST", "/search", token: tokens.investigator,
                form: (
                    [
                        "case_number": "2026/0415", "purpose": "identify a suspect", "legal_basis": "PACE 1984 s.64A",
                        "below_threshold": "true",  // every face counts here, the stranger too
                    ],
                    ("photo", photo, try Self.photo(photo))
                ))
            #expect(found.status == 200, "\(found.body)")
            return (found.body["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        }
        var candidates: [[String: Any]] = []
        for _ in 0..<240 {  // another process's new rows show once Milvus has applied them
            candidates = try await search(two, "obama2.jpg")
            if candidates.contains(where: { ($0["origin_uri"] as? String)?.hasSuffix("obama.jpg") == true }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let obama = try #require(
            candidates.first { ($0["origin_uri"] as? String)?.hasSuffix("obama.jpg") == true },
            "the second instance finds what the first ingested: \(candidates)")
        let faceID = try #require(obama["face_id"] as? Int)
        #expect(candidates.count == 2)

        // Erase through the first; the very next search through the second no longer shows it.
        let erased = try await one.call("POST", "/erasures", token: tokens.officer, json: ["faces": [faceID], "reason": "data subject's request"])
        #expect(erased.status == 201, "\(erased.body)")
        #expect(erased.body["faces"] as? Int == 1)
        let after = try await search(two, "obama2.jpg")
        #expect(!after.contains { $0["face_id"] as? Int == faceID }, "an erased face is never shown: \(after)")
        #expect(after.count == 1)
        let health = try await two.call("GET", "/health", token: tokens.investigator)
        #expect(health.body["index"] as? String == "shared")
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: reachable),
            "no PostgreSQL or Milvus (LINEUP_POSTGRES_URL, LINEUP_MILVUS_URL): scripts/cluster.sh start"))
    func migrateCopiesAnEmbeddedGalleryAndChecksTheCopy() throws {
        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let name = "mig_" + UUID().uuidString.prefix(8).lowercased()
        defer { Self.dropDeployment(name) }
        let store = folder + "/store"
        let tokens = try CLITests.accounts(store)
        #expect(
            try CLITests.lineup(
                "source", "add", "samples", "--store", store, "--root", CLITests.samples, "--basis", "public-task",
                "--condition", "substantial-public-interest", "--jurisdiction", "GB", "--retention-days", "30", "--collected", "own-records",
                "--token", tokens.admin
            ).status == 0)
        #expect(try CLITests.lineup("ingest", "samples", "--store", store, "--token", tokens.admin).status == 0)
        let target = ["--postgres-url", Self.postgres + "?schema=" + name, "--milvus-url", Self.milvus, "--milvus-collection", name]

        let refused = try CLITests.lineup(["migrate", "--to", "cluster", "--store", store, "--token", tokens.investigator] + target)
        #expect(refused.status != 0 && refused.stderr.contains("admin"), "\(refused.stderr)")
        let migrated = try CLITests.lineup(["migrate", "--to", "cluster", "--store", store, "--token", tokens.admin] + target)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.json["faces"] as? Int == 4 && migrated.json["faces_in_milvus"] as? Int == 4, "\(migrated.stdout)")
        #expect((migrated.json["mismatched_tables"] as? [String])?.isEmpty == true)
        #expect(migrated.json["audit_chain_intact"] as? Bool == true)
        #expect(migrated.json["same_top_face"] as? Int == migrated.json["sample_searches"] as? Int)

        // The copy serves in cluster mode, with the gallery's keyring, for the same accounts.
        let cluster = ["--mode", "cluster", "--keyring", store + "/keyring.json"] + target
        let search = try CLITests.lineup(
            [
                "search", "--json", "--below-threshold", "--store", folder + "/elsewhere", "--token", tokens.investigator,
                CLITests.samples + "/obama2.jpg",
            ] + CLITests.justification + cluster)
        let candidates = (search.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.count == 4 && candidates.first?["origin_uri"] as? String == "obama2.jpg", "\(search.stderr)")
        let verified = try CLITests.lineup(["audit", "verify", "--store", folder + "/elsewhere", "--token", tokens.auditor] + cluster)
        #expect(verified.status == 0 && verified.stdout.contains("intact"), "\(verified.stdout)\(verified.stderr)")

        let again = try CLITests.lineup(["migrate", "--to", "cluster", "--store", store, "--token", tokens.admin] + target)
        #expect(again.status != 0 && again.stderr.contains("already holds records"), "\(again.stderr)")
    }
}
