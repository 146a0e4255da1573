import Foundation
import Testing

/// The EU AI Act's duties end to end through the command line, as the people of a
/// French police force and the operator's auditor would run them: a case opened,
/// searched, a candidate proposed and verified by a second person and exported; a case
/// without an authorisation request stopped 48 hours after its first search (the
/// clock moved by the debug build's switch); a rejected authorisation erasing its
/// searches' data while another case keeps its own; the case log checked against the
/// audit chain; the annual report's counts.
@Suite(.serialized) struct EUAIActCLITests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-ai-act-\(UUID().uuidString)").path

    func run(_ arguments: [String], as token: String, hours: Double = 0) throws -> CLITests.Run {
        try CLITests.lineup(
            arguments + ["--store", folder + "/store", "--token", token],
            environment: hours == 0 ? [:] : ["LINEUP_TEST_CLOCK_HOURS": String(hours)])
    }

    func ok(_ arguments: [String], as token: String) throws -> CLITests.Run {
        let done = try run(arguments, as: token)
        #expect(done.status == 0, "lineup \(arguments.prefix(3).joined(separator: " ")): \(done.stderr)")
        return done
    }

    func token(_ done: CLITests.Run) -> String { done.json["token"] as? String ?? "" }

    @Test func theActsDutiesThroughTheCommandLine() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        let admin = token(
            try CLITests.lineup(
                "bootstrap", "--store", store, "--organisation", "Operations", "--type", "government", "--jurisdiction", "GB",
                "--admin", "root", "--json"))
        _ = try ok(["org", "add", "Gendarmerie", "--type", "law-enforcement", "--jurisdiction", "FR"], as: admin)
        let supervisor = token(try ok(["account", "add", "sup-fr", "--org", "Gendarmerie", "--role", "supervisor", "--json"], as: admin))
        let investigator = token(try ok(["account", "add", "enq", "--org", "Gendarmerie", "--role", "investigator", "--json"], as: supervisor))
        let verifier = token(try ok(["account", "add", "ver", "--org", "Gendarmerie", "--role", "investigator", "--json"], as: supervisor))
        _ = try ok(["account", "approve", "enq"], as: supervisor)
        _ = try ok(["account", "approve", "ver"], as: supervisor)
        let granted = try run(["account", "grant", "ver", "--role", "verifier"], as: supervisor)
        #expect(granted.status != 0 && granted.stderr.contains("needs the role admin"))
        _ = try ok(["account", "grant", "ver", "--role", "verifier"], as: admin)
        let auditor = token(try ok(["account", "add", "aud", "--org", "Operations", "--role", "auditor", "--json"], as: admin))

        // Art. 5(1)(e): a scraped source cannot be entered.
        let source = [
            "source", "add", "portraits", "--root", CLITests.samples, "--basis", "public-task", "--condition",
            "substantial-public-interest", "--jurisdiction", "FR", "--retention-days", "30",
        ]
        let scraped = try run(source + ["--collected", "web-scraping"], as: admin)
        #expect(scraped.status != 0 && scraped.stderr.contains("prohibited (EU AI Act Art. 5(1)(e))"), "\(scraped.stderr)")
        _ = try ok(source + ["--collected", "own-records"], as: admin)
        _ = try ok(["ingest", "portraits"], as: admin)

        // Case FR-1: opened, its authorisation requested, searched.
        _ = try ok(["case", "open", "FR-1"], as: investigator)
        _ = try ok(
            [
                "case", "authorisation", "request", "FR-1", "--authority-kind", "judicial", "--authority", "Tribunal judiciaire de Paris",
                "--reference", "TJ-75-2026-1", "--scope", "the robbery of 3 March",
            ], as: investigator)
        func search(_ number: String, _ photo: String = "obama2.jpg", hours: Double = 0) throws -> CLITests.Run {
            try run(
                [
                    "search", "--case", number, "--purpose", "identify a robbery suspect", "--basis", "CPP art. 230-6", "--top", "4",
                    "--json", CLITests.samples + "/" + photo,
                ], as: investigator, hours: hours)
        }
        let found = try search("FR-1")
        #expect(found.status == 0, "\(found.stderr)")
        let entry = try #require(found.json["audit_entry"] as? Int)
        let candidates = try #require((found.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]])
        let match = try #require(candidates.first { ($0["origin_uri"] as? String)?.contains("obama") == true })
        let face = try #require(match["face_id"] as? Int)

        // Two people: the investigator proposes, the verifier confirms.
        let proposed = try ok(
            ["case", "propose", "--search", String(entry), "--face", String(face), "--reason", "same ears and hairline", "--json"],
            as: investigator)
        let review = try #require(proposed.json["review"] as? Int)
        #expect(proposed.json["state"] as? String == "possible-match")
        let ownVerification = try run(["case", "verify", String(review), "--confirm", "--reason", "mine"], as: investigator)
        #expect(ownVerification.status != 0 && ownVerification.stderr.contains("verifier"))
        let queue = try ok(["case", "queue", "--json"], as: verifier)
        let queued = try #require(queue.json["reviews"] as? [[String: Any]])
        #expect(queued.map { $0["review"] as? Int } == [review] && queued.first?["proposal_reason"] == nil)
        let crops = folder + "/crops"
        let verified = try ok(
            ["case", "verify", String(review), "--confirm", "--reason", "same person", "--crops", crops, "--json"], as: verifier)
        #expect(verified.json["state"] as? String == "verified-lead")
        #expect(verified.json["proposal_reason"] as? String == "same ears and hairline")
        #expect(FileManager.default.fileExists(atPath: crops + "/review-\(review)-probe.jpg"))
        #expect(FileManager.default.fileExists(atPath: crops + "/review-\(review)-candidate.jpg"))
        let leads = try ok(["case", "leads", "FR-1"], as: investigator)
        let exported = try #require(leads.json["verified_leads"] as? [[String: Any]])
        #expect(exported.count == 1 && (exported.first?["review"] as? [String: Any])?["face_id"] as? Int == face)

        // Case FR-2: no request; 49 hours after its first search it is refused.
        #expect(try search("FR-2").status == 0)
        #expect(try search("FR-2", hours: 47).status == 0)
        let late = try search("FR-2", hours: 49)
        #expect(late.status != 0 && late.stderr.contains("eu-ai-act-authorisation") && late.stderr.contains("48 hours"), "\(late.stderr)")

        // Case FR-3: requested, searched, rejected: its data go with a receipt; FR-1 keeps its own.
        _ = try ok(
            [
                "case", "authorisation", "request", "FR-3", "--authority-kind", "administrative", "--authority", "CNIL",
                "--reference", "A-3", "--scope", "one suspect",
            ], as: investigator)
        #expect(try search("FR-3", "obama.jpg").status == 0)
        let today = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withFullDate])
        let rejected = try ok(
            ["case", "authorisation", "decide", "FR-3", "--rejected", "--decided-on", today, "--json"], as: supervisor)
        let receipt = try #require(rejected.json["receipt"] as? [String: Any])
        #expect(receipt["scope"] as? String == "case" && receipt["images"] as? Int == 1)
        #expect(try search("FR-3").status != 0)
        let rejectedLog = try ok(["case", "log", "FR-3", "--org", "Gendarmerie"], as: auditor)
        #expect((rejectedLog.json["searches"] as? [[String: Any]])?.allSatisfy { $0["erased"] as? Bool == true } == true)

        // The log of FR-1's use: its period, what was searched, the input that matched,
        // both people, and entries that are the chain's own.
        let log = try ok(["case", "log", "FR-1", "--org", "Gendarmerie"], as: auditor)
        #expect(log.json["use_started_at"] is String && log.json["use_open"] as? Bool == true)
        let searches = try #require(log.json["searches"] as? [[String: Any]])
        let logged = try #require(searches.first)
        let reference = try #require(logged["reference_database"] as? [String: Any])
        #expect((reference["sources"] as? [[String: Any]])?.first?["jurisdiction"] as? String == "FR")
        #expect(reference["faces"] as? Int == 4 && reference["model"] is String && reference["band_thresholds"] is [String: Any])
        #expect(logged["sealed_template"] is String && (logged["probe_photo_sha256"] as? String)?.count == 64)
        #expect((logged["matches"] as? [[String: Any]])?.contains { $0["face"] as? Int == face } == true)
        #expect(log.json["verifiers"] as? [String] == ["ver"] && log.json["proposers"] as? [String] == ["enq"])
        #expect((log.json["model_card"] as? [String: Any])?["verification"] is [String: Any])
        let export = try ok(["audit", "export"], as: auditor)
        var chain: [Int: String] = [:]
        for line in export.stdout.split(separator: "\n") {
            guard let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let id = entry["id"] as? Int,
                let hash = (entry["hash"] as? String).flatMap({ Data(base64Encoded: $0) })
            else { continue }
            chain[id] = hash.map { String(format: "%02x", $0) }.joined()
        }
        let cited = try #require(log.json["audit_entries"] as? [[String: Any]])
        #expect(cited.count >= 5 && cited.allSatisfy { chain[$0["id"] as? Int ?? -1] == $0["hash"] as? String })
        #expect(try ok(["audit", "verify"], as: auditor).stdout.contains("intact"))

        // The annual report counts it all, naming no one.
        let year = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: Date()).year!
        let report = try ok(["report", "annual", "--year", String(year)], as: auditor)
        let organisations = try #require(report.json["organisations"] as? [[String: Any]])
        let french = try #require(organisations.first { $0["organisation"] as? String == "Gendarmerie" })
        #expect(french["uses"] as? Int == 3 && french["searches"] as? Int == 4 && french["verified_leads"] as? Int == 1)
        #expect(french["authorisations_requested"] as? Int == 2 && french["authorisations_rejected"] as? Int == 1)
        #expect(french["authorisations_granted"] as? Int == 0 && french["erasures"] as? Int == 1)
        #expect(!report.stdout.contains("enq") && !report.stdout.contains("FR-1"))
        let card = try ok(["report", "model-card"], as: auditor)
        #expect((card.json["networks"] as? [[String: Any]])?.allSatisfy { ["MIT", "Apache-2.0"].contains($0["licence"] as? String) } == true)
    }
}
