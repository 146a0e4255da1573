import FaceVision
import Foundation
import Governance
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@testable import Server

/// The server's side of the probe's findings: each test fails without its fix.
@Suite struct HardeningServerTests {
    // MARK: 2 and 3: ServeUnderLoadTests (CLITests) times a real `lineup serve` under load.

    // MARK: 4. Sign-in: same-origin redirects only, and its own CSRF token

    @Test func signInRedirectsOnlyToThisServersPaths() async throws {
        let world = try ServerWorld()
        for next in [
            "/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil.example",
            "javascript:alert(1)", "/%2F/evil.example", " /search",
        ] {
            #expect(WebSession.safeNext(next) == nil, "\(next)")
        }
        #expect(WebSession.safeNext("/accounts?filter=a%20b") == "/accounts?filter=a%20b")
        try await world.test { client in
            let evil = try await BrowserSession.postSignIn(client, token: world.tokens[.auditor]!, next: "/\t/evil.example")
            #expect(evil.status == .seeOther)
            #expect(evil.headers[.location] == "/audit", "home, not \(evil.headers[.location] ?? "")")
            let good = try await BrowserSession.postSignIn(client, token: world.tokens[.auditor]!, next: "/policy")
            #expect(good.headers[.location] == "/policy")
            // A form posted from another site has neither the sign-in cookie nor its token.
            let forged = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=" + world.tokens[.auditor]!))
            #expect(forged.status == .forbidden)
            #expect(!(forged.headers[.setCookie] ?? "").hasPrefix(WebSession.cookieName + "="), "no session was started")
        }
    }

    // MARK: 10. The public forms cannot take the server down

    @Test func publicRequestsAreLimitedPerAddressAndQueued() async throws {
        let world = try ServerWorld(configuration: .init(publicRequestsPerAddress: 2))
        try await world.test { client in
            let photo = try ServerWorld.photo("biden.jpg")
            var statuses: [Int] = []
            for _ in 0..<3 {
                let (headers, body) = ServerWorld.form(["contact": "person@example.org"], files: [("photo", "me.jpg", photo)])
                let response = try await client.execute(uri: "/api/v1/access-requests", method: .post, headers: headers, body: body)
                statuses.append(response.status.code)
                if response.status == .tooManyRequests { #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0) }
            }
            #expect(statuses == [201, 201, 429])
        }
        // A photo declaring 9500×9500 pixels: ServeUnderLoadTests (CLITests).
        // The gate itself: per address, and at most `queueLimit` at once.
        let gate = PublicRequestGate(limits: .init(perAddress: 10, window: .seconds(60), queueLimit: 2))
        try gate.enter(from: "a")
        try gate.enter(from: "b")
        #expect(throws: PublicRequestGate.Refusal.self) { try gate.enter(from: "c") }
        gate.leave()
        try gate.enter(from: "c")
    }

    // MARK: 12, 21. Path parameters decoded; no cache; metrics need a role

    @Test func apiPathParametersArePercentDecoded() async throws {
        let world = try ServerWorld()
        let g = world.governance
        _ = try g.addAccount(
            as: g.authenticate(token: world.tokens[.supervisor]!), name: "sp ace", organisation: "Met",
            roles: [.investigator])
        try await world.test { client in
            let response = try await client.execute(
                uri: "/api/v1/accounts/sp%20ace/approve", method: .post,
                headers: [.authorization: "Bearer " + world.tokens[.supervisor]!])
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
    }

    @Test func personalAnswersAreNeverCachedAndMetricsNeedARole() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            for (uri, role) in [("/api/v1/accounts", Role.admin), ("/api/v1/audit/entries", .auditor), ("/api/v1/sources", .investigator)] {
                let response = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer " + world.tokens[role]!])
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store", "\(uri)")
            }
            let refused = try await client.execute(uri: "/api/v1/accounts", method: .get)
            #expect(refused.headers[.cacheControl] == "no-store")
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            let investigator = try await client.execute(
                uri: "/metrics", method: .get,
                headers: [.authorization: "Bearer " + world.tokens[.investigator]!])
            #expect(investigator.status == .forbidden)
            let auditor = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + world.tokens[.auditor]!])
            #expect(auditor.status == .ok && String(buffer: auditor.body).contains("lineup_searches_total"))
        }
    }

    @Test func folderIngestPathsAreTheSourceRootsNotTheWorkingFolders() async throws {
        let world = try ServerWorld()
        let g = world.governance
        _ = try g.registerSource(
            as: g.authenticate(token: world.tokens[.admin]!),
            Source(
                name: "portraits", kind: .folder, root: world.folder + "/photos", legalBasis: .publicTask,
                specialCategoryCondition: .substantialPublicInterest, jurisdiction: "GB", retentionDays: 30,
                createdBy: "", collectionMethod: .ownRecords))
        try await world.test { client in
            let response = try await client.execute(
                uri: "/api/v1/sources/portraits/ingest", method: .post,
                headers: [.authorization: "Bearer " + world.tokens[.admin]!, .contentType: "application/json"],
                body: ByteBuffer(string: #"{"paths": ["biden.jpg"]}"#))
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            #expect(ServerWorld.json(response)["files_ingested"] as? Int == 1)
        }
    }

    /// A client that goes away mid-body is no server error.
    @Test func aBodyCutShortIsTheClientsNotAnUnhandledError() async throws {
        struct Cut: Error {}
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            continuation.yield(ByteBuffer(string: "--x\r\n"))
            continuation.finish(throwing: Cut())
        }
        let request = Request(
            head: .init(method: .post, scheme: "http", authority: "localhost", path: "/api/v1/search"),
            body: RequestBody(asyncSequence: stream))
        do {
            _ = try await LineupServer.body(of: request, limit: 1 << 20)
            Issue.record("a cut body was read")
        } catch let error as APIError {
            #expect(error.status == .badRequest)
            #expect(APIError.from(error).code != .internalError)
        }
    }

    // MARK: 15: ServeConnectionTests (CLITests) is as slow and rude as an attacker to a real `lineup serve`.
}
