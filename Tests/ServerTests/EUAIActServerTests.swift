import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Synchronization
import Testing

@testable import Governance
@testable import Server

/// The EU AI Act's duties end to end through the HTTP API and the web pages: the same
/// scenario as the command line's, with the engine's clock moved by the test.
@Suite struct EUAIActServerTests {
    final class Clock: Sendable {
        let date = Mutex(Date())
        func now() -> Date { date.withLock { $0 } }
        func advance(hours: Double) { date.withLock { $0 = $0.addingTimeInterval(hours * 3600) } }
    }

    /// A French police force beside the world's own: a supervisor, an investigator and
    /// a verifier; their tokens by name.
    static func gendarmerie(_ world: ServerWorld) throws -> [String: String] {
        let g = world.governance
        let admin = try g.authenticate(token: world.tokens[.admin]!)
        _ = try g.addOrganisation(as: admin, name: "Gendarmerie", type: .lawEnforcement, jurisdiction: "FR")
        let supervisor = try g.addAccount(as: admin, name: "sup-fr", organisation: "Gendarmerie", roles: [.supervisor]).1.token
        let investigator = try g.addAccount(
            as: g.authenticate(token: supervisor), name: "enq", organisation: "Gendarmerie", roles: [.investigator]
        ).1.token
        _ = try g.approve(as: g.authenticate(token: supervisor), account: "enq")
        let verifier = try g.addAccount(as: admin, name: "ver-fr", organisation: "Gendarmerie", roles: [.verifier]).1.token
        // The world's admin token lives a day; the scenario's clock passes two.
        let longAdmin = try g.issueToken(as: admin, label: "scenario", days: 30).token
        return ["supervisor": supervisor, "investigator": investigator, "verifier": verifier, "admin": longAdmin]
    }

    static func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, json: [String: Any]? = nil
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer " + token }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
        }
        let response = try await client.execute(uri: "/api/v1" + uri, method: method, headers: headers, body: body)
        return (response.status, ServerWorld.json(response))
    }

    static func search(_ client: some TestClientProtocol, case number: String, token: String, photo: String = "obama2.jpg") async throws
        -> (status: HTTPResponse.Status, body: [String: Any])
    {
        var (headers, body) = ServerWorld.form(
            ["case_number": number, "purpose": "identify a robbery suspect", "legal_basis": "CPP art. 230-6", "top": "4"],
            files: [("photo", photo, try ServerWorld.photo(photo))])
        headers[.authorization] = "Bearer " + token
        let response = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
        return (response.status, ServerWorld.json(response))
    }

    @Test func theActsDutiesThroughTheAPI() async throws {
        let clock = Clock()
        let world = try ServerWorld(ingest: true, now: { clock.now() })
        let people = try Self.gendarmerie(world)
        let (admin, investigator, verifier, supervisor) = (
            people["admin"]!, people["investigator"]!, people["verifier"]!, people["supervisor"]!
        )
        try await world.test { client in
            // No scraped source (Art. 5(1)(e)).
            let scraped = try await Self.call(
                client, .post, "/sources", token: admin,
                json: [
                    "name": "scraped", "root": world.folder + "/photos", "legal_basis": "legitimate-interest",
                    "special_category_condition": "made-public", "jurisdiction": "FR", "retention_days": 30, "collection": "cctv",
                ])
            #expect(scraped.status == .badRequest)
            #expect(((scraped.body["error"] as? [String: Any])?["message"] as? String)?.contains("Art. 5(1)(e)") == true)

            // A case opened, its authorisation requested, searched.
            #expect(try await Self.call(client, .post, "/cases", token: investigator, json: ["number": "FR-1"]).status == .created)
            let requested = try await Self.call(
                client, .post, "/cases/FR-1/authorisation", token: investigator,
                json: ["authority_kind": "judicial", "authority": "Tribunal judiciaire de Paris", "reference": "TJ-1", "scope": "one suspect"])
            #expect(requested.status == .created && requested.body["authorisation_required_by"] as? String == "eu-ai-act-authorisation")
            let found = try await Self.search(client, case: "FR-1", token: investigator)
            #expect(found.status == .ok)
            let entry = try #require(found.body["audit_entry"] as? Int)
            let candidates = try #require((found.body["result"] as? [String: Any])?["candidates"] as? [[String: Any]])
            let face = try #require(candidates.first { ($0["origin_uri"] as? String)?.contains("obama") == true }?["face_id"] as? Int)

            // Proposed by the investigator, verified by a second person.
            let proposed = try await Self.call(
                client, .post, "/reviews", token: investigator, json: ["search": entry, "face": face, "reason": "same hairline"])
            #expect(proposed.status == .created && proposed.body["state"] as? String == "possible-match")
            let review = try #require(proposed.body["review"] as? Int)
            let none = try await Self.call(client, .get, "/cases/FR-1/leads", token: investigator)
            #expect((none.body["verified_leads"] as? [Any])?.isEmpty == true, "a possible match is not a lead")
            let queue = try await Self.call(client, .get, "/reviews/queue", token: verifier)
            let queued = try #require(queue.body["reviews"] as? [[String: Any]])
            #expect(queued.map { $0["review"] as? Int } == [review] && queued.first?["proposal_reason"] == nil)
            let item = try await Self.call(client, .get, "/reviews/\(review)", token: verifier)
            #expect(item.status == .ok && (item.body["probe_face"] as? String).flatMap { Data(base64Encoded: $0) } != nil)
            #expect((item.body["candidate"] as? [String: Any])?["face_id"] as? Int == face)
            let byInvestigator = try await Self.call(
                client, .post, "/reviews/\(review)/verification", token: investigator, json: ["confirm": true, "reason": "mine"])
            #expect(byInvestigator.status == .forbidden)
            let byBritishVerifier = try await Self.call(
                client, .post, "/reviews/\(review)/verification", token: world.tokens[.verifier]!, json: ["confirm": true, "reason": "looks right"])
            #expect(byBritishVerifier.status == .forbidden, "a verifier of another organisation")
            let verified = try await Self.call(
                client, .post, "/reviews/\(review)/verification", token: verifier, json: ["confirm": true, "reason": "same person"])
            #expect(verified.status == .ok && verified.body["state"] as? String == "verified-lead")
            #expect(verified.body["proposal_reason"] as? String == "same hairline")
            let leads = try await Self.call(client, .get, "/cases/FR-1/leads", token: investigator)
            #expect((leads.body["verified_leads"] as? [[String: Any]])?.count == 1)

            // A case without a request stops 48 hours after its first search.
            #expect(try await Self.search(client, case: "FR-2", token: investigator).status == .ok)
            clock.advance(hours: 49)
            let late = try await Self.search(client, case: "FR-2", token: investigator)
            #expect(late.status == .forbidden)
            #expect(((late.body["error"] as? [String: Any])?["message"] as? String)?.contains("48 hours") == true)
            #expect(try await Self.search(client, case: "FR-1", token: investigator).status == .ok, "the requested case goes on")

            // A rejection erases that case's searches' data, with a receipt, and no other's.
            _ = try await Self.call(
                client, .post, "/cases/FR-3/authorisation", token: investigator,
                json: ["authority_kind": "administrative", "authority": "CNIL", "reference": "A-3", "scope": "one suspect"])
            #expect(try await Self.search(client, case: "FR-3", token: investigator, photo: "obama.jpg").status == .ok)
            let decided = try await Self.call(
                client, .post, "/cases/FR-3/authorisation/decision", token: supervisor,
                json: ["granted": false, "decided_on": PolicyRule.dayString(clock.now())])
            #expect(decided.status == .ok && (decided.body["receipt"] as? [String: Any])?["scope"] as? String == "case")
            let rejectedLog = try await Self.call(client, .get, "/cases/FR-3/log", token: supervisor)
            #expect((rejectedLog.body["searches"] as? [[String: Any]])?.allSatisfy { $0["erased"] as? Bool == true } == true)

            // The case log: period, reference database, matched input, both people, the chain's own entries.
            let log = try await Self.call(client, .get, "/cases/FR-1/log", token: supervisor)
            #expect(log.status == .ok && log.body["use_started_at"] is String)
            let searches = try #require(log.body["searches"] as? [[String: Any]])
            #expect(searches.count == 2 && searches.allSatisfy { $0["erased"] as? Bool == false && $0["sealed_template"] is String })
            #expect((searches[0]["reference_database"] as? [String: Any])?["faces"] as? Int == 4)
            #expect((searches[0]["matches"] as? [[String: Any]])?.contains { $0["face"] as? Int == face } == true)
            #expect(log.body["verifiers"] as? [String] == ["ver-fr"])
            let chain = try await Self.call(client, .get, "/audit/entries", token: admin)
            var hashes: [Int: String] = [:]
            for entry in chain.body["entries"] as? [[String: Any]] ?? [] {
                if let id = entry["id"] as? Int, let hash = (entry["hash"] as? String).flatMap({ Data(base64Encoded: $0) }) {
                    hashes[id] = hash.map { String(format: "%02x", $0) }.joined()
                }
            }
            let cited = try #require(log.body["audit_entries"] as? [[String: Any]])
            #expect(!cited.isEmpty && cited.allSatisfy { hashes[$0["id"] as? Int ?? -1] == $0["hash"] as? String })
            #expect(try await Self.call(client, .get, "/cases/FR-1/log", token: investigator).status == .forbidden)

            // The annual report, and the public pages the operator chooses to publish.
            let year = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: clock.now()).year!
            let report = try await Self.call(client, .get, "/reports/annual?year=\(year)", token: admin)
            let french = try #require((report.body["organisations"] as? [[String: Any]])?.first { $0["organisation"] as? String == "Gendarmerie" })
            #expect(french["uses"] as? Int == 3 && french["searches"] as? Int == 4 && french["searches_refused"] as? Int == 1)
            #expect(french["verified_leads"] as? Int == 1 && french["authorisations_requested"] as? Int == 2)
            #expect(french["authorisations_rejected"] as? Int == 1 && french["erasures"] as? Int == 1)
            #expect(try await Self.call(client, .get, "/transparency?year=\(year)", token: nil).status == .notFound)
            try world.governance.setTransparencyPage(as: world.governance.authenticate(token: admin), published: true)
            let published = try await Self.call(client, .get, "/transparency?year=\(year)", token: nil)
            #expect(published.status == .ok && (published.body["organisations"] as? [Any])?.count == (report.body["organisations"] as? [Any])?.count)
            let page = try await client.execute(uri: "/transparency?year=\(year)", method: .get)
            #expect(page.status == .ok && String(buffer: page.body).contains("Gendarmerie"))
            let card = try await Self.call(client, .get, "/model-card", token: nil)
            #expect(card.status == .ok && card.body["verification"] is [String: Any] && card.body["weak_conditions"] is [Any])
            let cardPage = try await client.execute(uri: "/model-card", method: .get)
            #expect(String(buffer: cardPage.body).contains("id=\"operating-points\""))
        }
    }

    /// The candidate page offers the review state beside the probe; the verifier's
    /// queue and page show the probe beside the candidate and hide the reason until
    /// the decision.
    @Test func theWebOffersReviewStatesAndTheVerifiersQueue() async throws {
        let world = try ServerWorld(ingest: true)
        let people = try Self.gendarmerie(world)
        try await world.test { client in
            let investigator = try await BrowserSession.signIn(client, token: people["investigator"]!)
            let found = try await investigator.postMultipart(
                client, "/search", ["case_number": "FR-W", "purpose": "identify a suspect", "legal_basis": "CPP art. 230-6"],
                files: [("photo", "obama2.jpg", try ServerWorld.photo("obama2.jpg"))])
            let html = String(buffer: found.body)
            let link = try #require(html.firstMatch(of: /href="(\/searches\/(\d+)\/candidates\/(\d+))" id="open-1"/))
            let opened = String(buffer: try await investigator.get(client, String(link.1)).body)
            #expect(opened.contains("id=\"side-by-side\"") && opened.contains("id=\"probe-face\"") && opened.contains("id=\"candidate-face\""))
            #expect(opened.contains("id=\"propose\""))
            let proposed = try await investigator.post(client, String(link.1) + "/propose", ["reason": "same hairline"])
            #expect(proposed.status == .seeOther)
            let after = String(buffer: try await investigator.get(client, String(link.1)).body)
            #expect(after.contains("id=\"review-possible-match\"") && !after.contains("id=\"propose\""))
            let empty = try await investigator.post(client, String(link.1) + "/propose", ["reason": "again"])
            #expect(empty.status == .unprocessableContent || empty.status == .badRequest)

            let verifier = try await BrowserSession.signIn(client, token: people["verifier"]!)
            let queue = String(buffer: try await verifier.get(client, "/verify").body)
            let row = try #require(queue.firstMatch(of: /href="\/verify\/(\d+)" id="verify-\d+"/))
            let page = String(buffer: try await verifier.get(client, "/verify/\(row.1)").body)
            #expect(page.contains("id=\"probe-face\"") && page.contains("id=\"candidate-face\"") && !page.contains("same hairline"))
            let decided = try await verifier.post(client, "/verify/\(row.1)", ["decision": "confirm", "reason": "same person"])
            let outcome = String(buffer: decided.body)
            #expect(decided.status == .ok && outcome.contains("id=\"review-verified-lead\"") && outcome.contains("same hairline"))
            #expect(String(buffer: try await verifier.get(client, "/verify").body).contains("id=\"queue-empty\""))
            let lead = String(buffer: try await investigator.get(client, String(link.1)).body)
            #expect(lead.contains("id=\"review-verified-lead\""))
            // The investigator has no verifier's queue.
            #expect(try await investigator.get(client, "/verify").status == .forbidden)
        }
    }
}
