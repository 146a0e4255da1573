import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import HummingbirdTesting
import Store
import TestSupport
import Testing

@testable import Server

/// A server over a real gallery of the sample portraits, with one account per role.
struct ServerWorld {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent(".lineup/samples").path
    static let models = try! ModelDirectory(path: root.appendingPathComponent(".lineup/models").path)
    static let pipeline = try! FacePipeline(models: models)
    /// A server's pipelines, as `lineup serve` holds them: one for searches, one for
    /// ingests, one for the public forms (with the public limits).
    static let pipelines = try! ServerPipelines(
        searches: PipelinePool([pipeline]), ingest: PipelinePool([FacePipeline(models: models)]),
        publicRequests: PipelinePool([FacePipeline(models: models, limits: ServerPipelines.publicLimits)]))

    let folder: String
    let governance: Governance
    let server: LineupServer
    /// A token per role, each account holding only that role.
    let tokens: [Role: String]

    init(
        maxUploadBytes: Int = 20 << 20, requestTimeout: Duration = .seconds(120), ingest: Bool = false,
        configuration: LineupServer.Configuration? = nil, now: @escaping @Sendable () -> Date = Date.init
    ) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
            try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: folder + "/photos/" + name)
        }
        governance = try Governance(
            gallery: Gallery(directory: folder + "/store", modelID: Self.pipeline.modelID, dimension: 128), now: now)
        let g = governance
        let admin = try g.authenticate(
            token: g.bootstrap(
                organisation: "Operations", type: .government, jurisdiction: "GB",
                admin: "root"
            ).token)
        _ = try g.addOrganisation(as: admin, name: "Met", type: .lawEnforcement, jurisdiction: "GB")
        var tokens: [Role: String] = [.admin: try g.issueToken(as: admin, label: "test", days: 1).token]
        let supervisor = try g.addAccount(as: admin, name: "sup", organisation: "Met", roles: [.supervisor]).1.token
        tokens[.supervisor] = supervisor
        tokens[.investigator] = try g.addAccount(
            as: g.authenticate(token: supervisor), name: "inv", organisation: "Met",
            roles: [.investigator]
        ).1.token
        _ = try g.approve(as: g.authenticate(token: supervisor), account: "inv")
        tokens[.privacyOfficer] = try g.addAccount(as: admin, name: "dpo", organisation: "Operations", roles: [.privacyOfficer]).1.token
        tokens[.auditor] = try g.addAccount(as: admin, name: "aud", organisation: "Operations", roles: [.auditor]).1.token
        tokens[.verifier] = try g.addAccount(as: admin, name: "ver", organisation: "Met", roles: [.verifier]).1.token
        self.tokens = tokens
        if ingest {
            // Where one photo was published, as the archive's export says it.
            try "file,page_url,title,credit\nobama2.jpg,https://news.example/2009/portrait.html,Official portrait,White House\n"
                .write(toFile: folder + "/photos/lineup-manifest.csv", atomically: true, encoding: .utf8)
            _ = try g.registerSource(
                as: admin,
                Source(
                    name: "portraits", kind: .folder, root: folder + "/photos", legalBasis: .publicTask,
                    specialCategoryCondition: .substantialPublicInterest, jurisdiction: "GB",
                    retentionDays: 30, createdBy: "", collectionMethod: .ownRecords))
            _ = try g.ingest(as: admin, source: "portraits", paths: [], pipelines: [Self.pipeline])
        }
        server = LineupServer(
            governance: governance, pipelines: Self.pipelines,
            configuration: configuration ?? .init(maxUploadBytes: maxUploadBytes, requestTimeout: requestTimeout),
            metrics: ServerMetrics())
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await Application(router: server.router()).test(.router) { client in try await body(client) }
    }

    /// A multipart form body: text fields, and files as (field, file name, bytes).
    static func form(_ fields: [String: String], files: [(String, String, [UInt8])]) -> (HTTPFields, ByteBuffer) {
        let boundary = "lineup-test-\(UUID().uuidString)"
        var body = ByteBuffer()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        for (name, file, bytes) in files {
            body.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(file)\"\r\n"
                    + "Content-Type: image/jpeg\r\n\r\n")
            body.writeBytes(bytes)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return ([.contentType: "multipart/form-data; boundary=\(boundary)"], body)
    }

    static func photo(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: samples + "/" + name))) }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    }
}

@Suite struct ServerTests {
    /// The document, the catalogue and the router's real routes are the same set.
    @Test func openAPIDocumentMatchesTheRoutes() throws {
        let world = try ServerWorld()
        defer { try? FileManager.default.removeItem(atPath: world.folder) }
        let routes = Set(world.server.router().routes.map { "\($0.method.rawValue) \($0.path)" })
        let served = routes.filter { $0.contains(" /api/v1/") }
        let pages = Set(WebPage.catalogue.map { "\($0.method.rawValue) \($0.path)" })
        #expect(
            routes.subtracting(served) == pages.union(["GET /metrics"]),
            "outside the API: the web pages of WebPage.catalogue and the Prometheus endpoint")
        let catalogued = Set(Endpoint.catalogue.map { "\($0.method.rawValue) \($0.path)" })
        #expect(
            served == catalogued,
            "served but not documented: \(served.subtracting(catalogued)); documented but not served: \(catalogued.subtracting(served))")
        let document = try JSONSerialization.jsonObject(with: OpenAPIDocument.json()) as? [String: Any] ?? [:]
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        #expect(documented == catalogued)
        let operationIDs = paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } }
        #expect(Set(operationIDs).count == Endpoint.catalogue.count, "operation ids are unique")
    }

    static let validator = ServerWorld.root.appendingPathComponent(".lineup/venv-test/bin/openapi-spec-validator").path

    /// The document served passes openapi-spec-validator (installed by scripts/test.sh).
    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: FileManager.default.isExecutableFile(atPath: validator)),
            "openapi-spec-validator not installed: run scripts/test.sh"))
    func servedDocumentIsValidOpenAPI() async throws {
        let world = try ServerWorld()
        let file = world.folder + "-openapi.json"
        try await world.test { client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("application/json") == true)
            try Data(buffer: response.body).write(to: URL(fileURLWithPath: file))
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.validator)
        process.arguments = [file]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(printed)")
    }

    /// Every route × every role, and no token: 401 without a token, 403 for a role the
    /// route does not allow, and neither for a role it allows. Errors have one shape.
    @Test func everyRouteRefusesAndAllowsTheRolesItDeclares() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            for endpoint in Endpoint.catalogue {
                let uri = endpoint.path.replacingOccurrences(of: "{name}", with: "nobody")
                    .replacingOccurrences(of: "{reference}", with: "none").replacingOccurrences(of: "{id}", with: "999999")
                for role in [nil] + Role.allCases {
                    var headers: HTTPFields = [:]
                    if let role { headers[.authorization] = "Bearer " + world.tokens[role]! }
                    let response = try await client.execute(uri: uri, method: endpoint.method, headers: headers)
                    let status = response.status.code
                    let allowed: Bool
                    switch endpoint.access {
                    case .public: allowed = true
                    case .anyAccount: allowed = role != nil
                    case .roles(let roles): allowed = role.map(roles.contains) ?? false
                    }
                    let who = role?.rawValue ?? "no token"
                    if allowed {
                        #expect(status != 401 && status != 403, "\(endpoint.method) \(endpoint.path) as \(who): \(status)")
                    } else {
                        #expect(status == (role == nil ? 401 : 403), "\(endpoint.method) \(endpoint.path) as \(who): \(status)")
                    }
                    if status >= 400 {
                        let error = ServerWorld.json(response)["error"] as? [String: Any]
                        #expect(error?["code"] is String && error?["message"] is String, "\(endpoint.path): one error shape")
                    }
                }
            }
        }
    }

    @Test func searchOverHTTPIsJustifiedAndChecksItsInput() async throws {
        let world = try ServerWorld(maxUploadBytes: 200_000, ingest: true)
        let investigator = world.tokens[.investigator]!
        try await world.test { client in
            let justification = ["case_number": "2026/0415", "purpose": "identify a suspect", "legal_basis": "PACE 1984 s.64A"]
            var (headers, body) = ServerWorld.form(justification, files: [("photo", "obama2.jpg", try ServerWorld.photo("obama2.jpg"))])
            headers[.authorization] = "Bearer " + investigator
            let found = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(found.status == .ok)
            let result = ServerWorld.json(found)["result"] as? [String: Any]
            let candidates = result?["candidates"] as? [[String: Any]] ?? []
            #expect(candidates.first?["origin_uri"] as? String == "obama2.jpg")
            let published = candidates.first?["published"] as? [[String: Any]]
            #expect(published?.first?["page_url"] as? String == "https://news.example/2009/portrait.html")
            #expect(published?.first?["page_title"] as? String == "Official portrait" && published?.first?["recorded_from"] as? String == "manifest")
            #expect((candidates.dropFirst().first?["origin_uri"] as? String)?.hasPrefix("obama") == true)
            #expect(ServerWorld.json(found)["audit_entry"] is Int)

            var missing = justification
            missing["case_number"] = nil
            (headers, body) = ServerWorld.form(missing, files: [("photo", "obama2.jpg", try ServerWorld.photo("obama2.jpg"))])
            headers[.authorization] = "Bearer " + investigator
            let unjustified = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(unjustified.status == .badRequest)
            #expect((ServerWorld.json(unjustified)["error"] as? [String: Any])?["message"] as? String == "the form needs case_number")

            // Two photos of the same man, each a part named photo: one fused probe.
            let small = try ["obama2.jpg", "obama3.jpg"].map { name in
                try Image(contentsOf: ServerWorld.samples + "/" + name).resized(width: 320, height: 400).jpegData(quality: 85)
            }
            (headers, body) = ServerWorld.form(justification, files: [("photo", "a.jpg", small[0]), ("photo", "b.jpg", small[1])])
            headers[.authorization] = "Bearer " + investigator
            let fused = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(fused.status == .ok)
            let fusedResult = ServerWorld.json(fused)["result"] as? [String: Any]
            #expect(fusedResult?["probe_photos"] as? Int == 2)
            #expect(((fusedResult?["candidates"] as? [[String: Any]])?.first?["origin_uri"] as? String)?.hasPrefix("obama") == true)
            var withFace = justification
            withFace["face"] = "0"
            (headers, body) = ServerWorld.form(withFace, files: [("photo", "a.jpg", small[0]), ("photo", "b.jpg", small[1])])
            headers[.authorization] = "Bearer " + investigator
            let picked = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(picked.status == .unprocessableContent || picked.status == .badRequest)

            (headers, body) = ServerWorld.form(
                justification, files: [("photo", "broken.jpg", Array(try ServerWorld.photo("biden.jpg").prefix(2000)))])
            headers[.authorization] = "Bearer " + investigator
            let broken = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(broken.status == .unprocessableContent)
            #expect((ServerWorld.json(broken)["error"] as? [String: Any])?["code"] as? String == "bad_image")

            let big = try ServerWorld.photo("obama.jpg") + [UInt8](repeating: 0, count: 250_000)
            (headers, body) = ServerWorld.form(justification, files: [("photo", "big.jpg", big)])
            headers[.authorization] = "Bearer " + investigator
            let tooLarge = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(tooLarge.status == .contentTooLarge)
            #expect((ServerWorld.json(tooLarge)["error"] as? [String: Any])?["code"] as? String == "too_large")
        }
        try await world.test { client in
            let metrics = String(
                buffer: try await client.execute(
                    uri: "/metrics", method: .get,
                    headers: [.authorization: "Bearer " + world.tokens[.auditor]!]
                ).body)
            #expect(metrics.contains("lineup_searches_total 2\n"), "\(metrics)")
            #expect(metrics.contains("lineup_gallery_faces 4"))
        }
        let searches = try world.governance.exportAudit(as: world.governance.authenticate(token: world.tokens[.auditor]!))
            .filter { $0.action.hasPrefix("search") }
        #expect(searches.map(\.action) == ["search", "search"], "two searches ran (one photo, two); the refused ones never reached the engine")
        #expect(searches[1].details.contains("photos_sha256"), "the fused search's audit entry names both photos")
    }

    @Test func theOptOutFormNeedsNoAccountAndWithholdsAtOnce() async throws {
        let world = try ServerWorld(ingest: true)
        try await world.test { client in
            let (headers, body) = ServerWorld.form(
                ["contact": "b.obama@example.org"],
                files: [("photo", "me.jpg", try ServerWorld.photo("obama3.jpg"))])
            let created = try await client.execute(uri: "/api/v1/opt-outs", method: .post, headers: headers, body: body)
            #expect(created.status == .created)
            let receipt = ServerWorld.json(created)
            #expect(receipt["matching_faces"] == nil, "the public answer does not say whether Lineup holds the person")
            let reference = receipt["reference"] as? String ?? ""
            let officer = try world.governance.authenticate(token: world.tokens[.privacyOfficer]!)
            #expect(
                try world.governance.optOuts(as: officer).first { $0.0.reference == reference }?.1.count == 3,
                "the three Obama photos are withheld")
            let status = try await client.execute(uri: "/api/v1/requests/" + reference, method: .get)
            #expect(ServerWorld.json(status)["status"] as? String == "pending")
            let unknown = try await client.execute(uri: "/api/v1/requests/OO-nothing", method: .get)
            #expect(unknown.status == .notFound)
            let noContact = ServerWorld.form([:], files: [("photo", "me.jpg", try ServerWorld.photo("obama3.jpg"))])
            let refused = try await client.execute(uri: "/api/v1/opt-outs", method: .post, headers: noContact.0, body: noContact.1)
            #expect(refused.status == .badRequest)
        }
    }

    /// Work that outlasts the timeout is answered 503 `timeout`; it still completes.
    @Test func aRequestPastTheTimeoutIsAnswered503() async throws {
        let world = try ServerWorld(requestTimeout: .milliseconds(1), ingest: true)
        try await world.test { client in
            var (headers, body) = ServerWorld.form(
                ["case_number": "2026/0415", "purpose": "identify a suspect", "legal_basis": "PACE 1984 s.64A"],
                files: [("photo", "obama2.jpg", try ServerWorld.photo("obama2.jpg"))])
            headers[.authorization] = "Bearer " + world.tokens[.investigator]!
            let late = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(late.status == .serviceUnavailable)
            #expect((ServerWorld.json(late)["error"] as? [String: Any])?["code"] as? String == "timeout")
            // The search itself runs to its end and is logged.
            let auditor = try world.governance.authenticate(token: world.tokens[.auditor]!)
            var logged = false
            for _ in 0..<100 where !logged {
                logged = try world.governance.exportAudit(as: auditor).contains { $0.action == "search" }
                if !logged { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(logged)
        }
    }
}
