import FaceVision
import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@testable import Governance
@testable import Server

/// The privacy office's pages over a real gallery of four portraits (three of Obama,
/// one of Biden): what a privacy officer sees, that the pages act only through
/// Governance, and that its refusals reach the page unchanged.
@Suite struct WebPrivacyTests {
    /// A gallery, an access request made with obama3.jpg, and the privacy officer's principal.
    struct AccessWorld {
        let world: ServerWorld
        let reference: String
        let officer: Principal

        init() throws {
            world = try ServerWorld(ingest: true)
            reference = try world.governance.requestAccess(
                photo: ServerWorld.photo("obama3.jpg"), contact: "barack@example.org",
                pipeline: ServerWorld.pipeline
            ).reference
            officer = try world.governance.authenticate(token: world.tokens[.privacyOfficer]!)
        }

        var candidates: [Governance.AccessCandidateView] {
            get throws { try world.governance.reviewAccess(as: officer, reference: reference).candidates }
        }
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    /// The `src` of every data-URL image in a page, decoded.
    static func dataImages(in html: String) throws -> [Image] {
        let marker = "src=\"data:image/jpeg;base64,"
        return try html.components(separatedBy: marker).dropFirst().map { rest in
            let base64 = String(rest.prefix { $0 != "\"" })
            return try Image(data: [UInt8](try #require(Data(base64Encoded: base64))))
        }
    }

    @Test func privacyPageListsOptOutsAndAccessRequests() async throws {
        let access = try AccessWorld()
        let optOut = try access.world.governance.requestOptOut(
            photo: ServerWorld.photo("obama3.jpg"), contact: "opt@example.org",
            pipeline: ServerWorld.pipeline)
        let undecided = try access.candidates.count
        #expect(optOut.matchingFaces >= 2, "the three Obama portraits are one person")
        let (world, reference) = (access.world, access.reference)
        try await world.test { client in
            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            let page = try await officer.get(client, "/privacy")
            #expect(page.status == .ok)
            let html = Self.text(page)
            #expect(html.contains("id=\"opt-out-\(optOut.reference)\""))
            #expect(html.contains("opt@example.org"))
            #expect(html.contains("<td class=\"faces-withheld\">\(optOut.matchingFaces)</td>"))
            for id in ["confirm-", "reject-", "erase-"] { #expect(html.contains("id=\"\(id)\(optOut.reference)\"")) }
            #expect(html.contains("href=\"/privacy/access/\(reference)\""))
            #expect(html.contains("barack@example.org"))
            #expect(html.contains("<td class=\"decided\">0</td>"))
            #expect(html.contains("<span class=\"status status-pending\">\(undecided)</span>"))
            #expect(html.contains("name=\"csrf\" value=\"\(officer.csrf)\""))
        }
    }

    @Test func reviewShowsTheRequesterBesideEachCandidateCrop() async throws {
        let access = try AccessWorld()
        let candidates = try access.candidates
        let origins = Set(candidates.compactMap { $0.provenance?.originURI })
        #expect(origins.isSuperset(of: ["obama.jpg", "obama3.jpg"]), "found: \(origins)")
        let (world, reference) = (access.world, access.reference)
        try await world.test { client in
            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            let page = try await officer.get(client, "/privacy/access/\(reference)")
            #expect(page.status == .ok)
            let html = Self.text(page)
            #expect(html.contains("class=\"requester-photo\""))
            for candidate in candidates {
                #expect(html.contains("id=\"crop-\(candidate.faceID)\""))
                #expect(html.contains("id=\"confirm-\(candidate.faceID)\""))
                #expect(html.contains("id=\"reject-\(candidate.faceID)\""))
                #expect(html.contains(String(format: "%.3f", candidate.score)))
            }
            for origin in origins { #expect(html.contains(origin)) }
            #expect(html.contains("id=\"release-report\"") && html.contains("id=\"erase-faces\""))
            // One requester photo per candidate row, plus each candidate's crop, all thumbnails.
            let images = try Self.dataImages(in: html)
            #expect(images.count == 2 * candidates.count)
            #expect(images.allSatisfy { max($0.width, $0.height) <= 320 })
            #expect(!html.contains("{{"), "every tag rendered")
        }
    }

    @Test func releaseIsRefusedUntilEachCandidateIsDecidedThenWorks() async throws {
        let access = try AccessWorld()
        let (world, reference, governance) = (access.world, access.reference, access.world.governance)
        // A logged search that returns the Obama faces, so the report has something to list.
        let investigator = try governance.authenticate(token: world.tokens[.investigator]!)
        _ = try governance.search(
            as: investigator,
            justification: Justification(
                caseNumber: "2026/0415", purpose: "find a witness",
                legalBasis: "PACE s.19"),
            photo: ServerWorld.photo("obama2.jpg"), pipeline: ServerWorld.pipeline)
        let candidates = try access.candidates
        let rejected = try #require(
            candidates.first { $0.provenance?.originURI == "biden.jpg" } ?? (candidates.count > 2 ? candidates.last : nil),
            "a candidate to reject")
        try await world.test { client in
            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            let refused = try await officer.post(client, "/privacy/access/\(reference)/report")
            #expect(refused.status == .unprocessableContent)
            let message = Self.text(refused)
            #expect(message.contains("id=\"error-message\"") && message.contains("await a decision"))
            #expect(try governance.requestStatus(reference: reference) == .pending)
            #expect(try governance.reviewAccess(as: access.officer, reference: reference).photo != nil, "the photo is kept")
            #expect(try access.candidates.allSatisfy { $0.decision == .pending })

            for candidate in candidates {
                let decision = candidate.faceID == rejected.faceID ? "reject" : "confirm"
                let response = try await officer.post(
                    client, "/privacy/access/\(reference)/decide",
                    ["face_id": String(candidate.faceID), "decision": decision])
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/privacy/access/\(reference)#candidate-\(candidate.faceID)")
            }
            let decided = try access.candidates
            #expect(decided.allSatisfy { $0.decision == ($0.faceID == rejected.faceID ? .rejected : .confirmed) && $0.decidedBy == "dpo" })
            let review = Self.text(try await officer.get(client, "/privacy/access/\(reference)"))
            #expect(review.contains("id=\"decision-\(rejected.faceID)\">rejected"))
            #expect(!review.contains("id=\"awaiting\""))

            let released = try await officer.post(client, "/privacy/access/\(reference)/report")
            #expect(released.status == .ok)
            let report = Self.text(released)
            for candidate in candidates {
                #expect(report.contains("id=\"reported-\(candidate.faceID)\"") == (candidate.faceID != rejected.faceID))
            }
            #expect(report.contains("find a witness") && report.contains("PACE s.19") && report.contains("Met"))
            #expect(report.contains("barack@example.org"))
            #expect(try governance.requestStatus(reference: reference) == .released)
            #expect(try governance.reviewAccess(as: access.officer, reference: reference).photo == nil, "releasing erased the photo")
            let after = Self.text(try await officer.get(client, "/privacy/access/\(reference)"))
            #expect(after.contains("erased when the report was released"))
            #expect(!after.contains("id=\"confirm-"), "a released request takes no more decisions")
        }
    }

    @Test func erasingShowsTheReceiptAndItDownloadsAsJSON() async throws {
        let access = try AccessWorld()
        let (world, reference, governance) = (access.world, access.reference, access.world.governance)
        let confirmed = try access.candidates.filter { ["obama.jpg", "obama2.jpg", "obama3.jpg"].contains($0.provenance?.originURI ?? "") }
        for candidate in confirmed {
            try governance.decideAccess(as: access.officer, reference: reference, faceID: candidate.faceID, confirm: true)
        }
        try await world.test { client in
            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            let erased = try await officer.post(client, "/privacy/access/\(reference)/erase")
            #expect(erased.status == .ok)
            let receipt = try #require(try governance.receipts().last)
            #expect(receipt.faces == confirmed.count)
            let html = Self.text(erased)
            #expect(html.contains("id=\"receipt-reference\">\(receipt.reference)<"))
            #expect(html.contains("id=\"receipt-sha256\">\(receipt.sha256)<"))
            #expect(html.contains("id=\"receipt-faces\">\(confirmed.count)<"))
            #expect(html.contains(receipt.reason))
            #expect(html.contains("href=\"/privacy/receipts/\(receipt.reference)\""))

            let download = try await officer.get(client, "/privacy/receipts/\(receipt.reference)")
            #expect(download.status == .ok)
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(receipt.reference).json\"")
            #expect(download.headers[.contentType]?.hasPrefix("application/json") == true)
            let json = ServerWorld.json(download)
            #expect(json["sha256"] as? String == receipt.sha256)
            #expect(json["reference"] as? String == receipt.reference)
            #expect(json["faces"] as? Int == confirmed.count)
            #expect(try await officer.get(client, "/privacy/receipts/ER-unknown").status == .notFound)

            let admin = try await BrowserSession.signIn(client, token: world.tokens[.admin]!)
            #expect(try await admin.get(client, "/privacy/receipts/\(receipt.reference)").status == .ok)
            let investigator = try await BrowserSession.signIn(client, token: world.tokens[.investigator]!)
            #expect(try await investigator.get(client, "/privacy/receipts/\(receipt.reference)").status == .forbidden)

            let listed = Self.text(try await officer.get(client, "/privacy"))
            #expect(listed.contains(receipt.reference))
            let review = Self.text(try await officer.get(client, "/privacy/access/\(reference)"))
            #expect(review.contains("This face has been erased."))
        }
    }

    @Test func optOutDecisionsThroughThePage() async throws {
        let world = try ServerWorld(ingest: true)
        let governance = world.governance
        let obama = try governance.requestOptOut(
            photo: ServerWorld.photo("obama3.jpg"), contact: "one@example.org",
            pipeline: ServerWorld.pipeline)
        let biden = try governance.requestOptOut(
            photo: ServerWorld.photo("biden.jpg"), contact: "two@example.org",
            pipeline: ServerWorld.pipeline)
        try await world.test { client in
            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            let confirmed = try await officer.post(client, "/privacy/opt-outs/\(obama.reference)/confirm")
            #expect(confirmed.status == .seeOther)
            #expect(try governance.requestStatus(reference: obama.reference) == .confirmed)
            let notice = Self.text(try await officer.get(client, try #require(confirmed.headers[.location])))
            #expect(notice.contains("id=\"notice\">Opt-out \(obama.reference) confirmed"))

            #expect(try await officer.post(client, "/privacy/opt-outs/\(biden.reference)/reject").status == .seeOther)
            #expect(try governance.requestStatus(reference: biden.reference) == .rejected)

            #expect(try await officer.post(client, "/privacy/opt-outs/\(obama.reference)/withdraw").status == .notFound)
            #expect(try governance.requestStatus(reference: obama.reference) == .confirmed)
            #expect(try await officer.post(client, "/privacy/opt-outs/OO-unknown/confirm").status == .notFound)

            let erased = try await officer.post(client, "/privacy/opt-outs/\(obama.reference)/erase")
            #expect(erased.status == .ok)
            let receipt = try #require(try governance.receipts().last)
            #expect(receipt.faces == obama.matchingFaces && receipt.scope == "person")
            #expect(Self.text(erased).contains("id=\"receipt-sha256\">\(receipt.sha256)<"))
        }
    }

    @Test func othersAreRefusedAndFormsNeedTheirToken() async throws {
        let access = try AccessWorld()
        let (world, reference) = (access.world, access.reference)
        let optOut = try world.governance.requestOptOut(
            photo: ServerWorld.photo("obama3.jpg"), contact: "opt@example.org",
            pipeline: ServerWorld.pipeline)
        let face = try #require(try access.candidates.first).faceID
        try await world.test { client in
            let unsigned = try await client.execute(uri: "/privacy", method: .get)
            #expect(unsigned.status == .seeOther)
            #expect(unsigned.headers[.location]?.hasPrefix("/login") == true)

            let investigator = try await BrowserSession.signIn(client, token: world.tokens[.investigator]!)
            for path in ["/privacy", "/privacy/access/\(reference)"] {
                let refused = try await investigator.get(client, path)
                #expect(refused.status == .forbidden)
                #expect(Self.text(refused).contains("privacy-officer"))
            }
            #expect(try await investigator.post(client, "/privacy/opt-outs/\(optOut.reference)/confirm").status == .forbidden)

            let officer = try await BrowserSession.signIn(client, token: world.tokens[.privacyOfficer]!)
            var headers = officer.headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            for (path, body) in [
                ("/privacy/opt-outs/\(optOut.reference)/confirm", ""),
                ("/privacy/access/\(reference)/decide", "face_id=\(face)&decision=confirm"),
                ("/privacy/access/\(reference)/erase", ""),
            ] {
                let forged = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
                #expect(forged.status == .forbidden, "\(path) without its CSRF token")
            }
            #expect(try world.governance.requestStatus(reference: optOut.reference) == .pending)
            #expect(try access.candidates.allSatisfy { $0.decision == .pending })
            #expect(try world.governance.receipts().isEmpty)
        }
    }
}
