import FaceVision
import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// The defects found by probing Lineup as an attacker and a careless operator would:
/// each test fails without its fix.
@Suite struct HardeningTests {
    // MARK: 1. Control characters never reach the log; verify names every bad entry

    @Test(arguments: MetadataEngine.available) func aNULInAnAuditedFieldIsRefusedAndTheChainHolds(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let before = try g.database.read { db in try db.count(AuditEntry.self) }
        let nul = Justification(caseNumber: "2026/1\u{0}evil", purpose: "identify a suspect", legalBasis: "PACE 1984 s.64A")
        #expect(throws: GovernanceError.badInput("case_number holds a control character (U+0000)")) {
            _ = try g.search(
                as: cast.investigator, justification: nul, photo: GovernedWorld.photo("obama2.jpg"),
                pipeline: GovernedWorld.pipeline)
        }
        // The refusal is logged without the text the log cannot keep.
        let entries = try g.database.read { db in try db.fetchAll(AuditEntry.self, "ORDER BY id") }
        #expect(entries.count == before + 1)
        #expect(entries.last?.action == "search.refused" && entries.last?.caseNumber == nil)
        for name in ["Met\u{0}evil", "Met\nPolice", "Met\u{7F}"] {
            #expect(throws: GovernanceError.self) {
                _ = try g.addOrganisation(as: cast.admin, name: name, type: .lawEnforcement, jurisdiction: "GB")
            }
        }
        #expect(throws: GovernanceError.self) {
            _ = try g.registerSource(as: cast.admin, world.source(name: "a\u{0}b", root: world.folder + "/photos", jurisdiction: "GB"))
        }
        #expect(try g.verifyAudit(as: cast.auditor).isIntact)
        // No stored value was cut short at a NUL.
        #expect(try g.database.read { db in try db.count(Organisation.self, "WHERE name LIKE 'Met%'") } == 1)
    }

    @Test(arguments: MetadataEngine.available) func verifyNamesEveryBrokenEntryNotOnlyTheFirst(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        for _ in 0..<3 { _ = try world.search(cast.investigator, "obama2.jpg") }
        try world.allowAuditTampering()
        let entries = try g.database.read { db in try db.fetchAll(AuditEntry.self, "ORDER BY id") }
        let (first, second) = (entries[2], entries[entries.count - 2])
        try g.database.write { db in
            for var entry in [first, second] {
                entry.target = "tampered"
                try db.update(entry)
            }
        }
        let result = try AuditLog.verify(g.database)
        #expect(result.firstBadEntry == first.id)
        #expect(result.badEntries.map(\.id) == [first.id!, second.id!], "the later edit is not hidden by the first")
        #expect(result.badEntryCount == 2)
        #expect(result.badEntries.allSatisfy { $0.problem.contains("edited") })
    }

    // MARK: 5. Supervisors suspend investigators only

    @Test func aSupervisorSuspendsInvestigatorsOfTheirOrganisationOnly() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        _ = try g.addAccount(as: cast.admin, name: "met-admin", organisation: "Met", roles: [.admin])
        _ = try g.addAccount(as: cast.admin, name: "met-auditor", organisation: "Met", roles: [.auditor])
        _ = try g.addAccount(as: cast.admin, name: "met-sup2", organisation: "Met", roles: [.supervisor])
        for name in ["met-admin", "met-auditor", "met-sup2"] {
            #expect(throws: GovernanceError.self, "\(name)") { try g.suspend(as: cast.supervisor, account: name, reason: "test") }
        }
        try g.suspend(as: cast.supervisor, account: "inv", reason: "left the unit")
        let listed = try g.accounts(as: cast.supervisor).map(\.0)
        #expect(listed.first { $0.name == "inv" }?.status == .suspended)
        #expect(listed.first { $0.name == "met-admin" }?.status == .active)
        // An admin of the organisation does suspend its admins and auditors.
        try g.suspend(as: cast.admin, account: "met-auditor", reason: "left")
    }

    // MARK: 6 and 11. Limits on every field; one way to write a name

    @Test func textFieldsHaveLimits() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let megabyte = String(repeating: "a", count: 1 << 20)
        let refusals: [(String, () throws -> Void)] = [
            ("account name", { _ = try g.addAccount(as: cast.admin, name: megabyte, organisation: "Met", roles: [.auditor]) }),
            ("organisation", { _ = try g.addOrganisation(as: cast.admin, name: megabyte, type: .ngo, jurisdiction: "GB") }),
            ("reason", { try g.suspend(as: cast.admin, account: "sup", reason: megabyte) }),
            ("token label", { _ = try g.issueToken(as: cast.admin, label: megabyte, days: 1) }),
            (
                "case number",
                {
                    _ = try g.search(
                        as: cast.investigator,
                        justification: Justification(
                            caseNumber: megabyte, purpose: "a purpose",
                            legalBasis: "a basis"),
                        photo: GovernedWorld.photo("obama2.jpg"), pipeline: GovernedWorld.pipeline)
                }
            ),
            ("erasure reason", { _ = try g.erase(as: cast.officer, .source("none"), reason: megabyte) }),
            ("source name", { _ = try g.registerSource(as: cast.admin, world.source(name: megabyte, root: world.folder, jurisdiction: "GB")) }),
        ]
        for (field, act) in refusals {
            #expect(throws: GovernanceError.self, "\(field)") { try act() }
        }
        let longest = try g.database.read { db in
            try db.scalar("SELECT max(length(target) + length(COALESCE(caseNumber, '')) + length(details)) FROM auditEntry").int64()
        }
        #expect(longest < 10_000, "nothing a megabyte long reached the log")
        // At the limit is fine.
        _ = try g.issueToken(as: cast.admin, label: String(repeating: "b", count: TextRule.tokenLabel.maxLength), days: 1)
    }

    @Test func lookAlikeAndInvisibleNamesAreRefusedAndNamesAreNFC() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        for name in ["r\u{43E}ot", "root ", " root", "ro\u{200B}ot", "ro\u{202E}ot", "ro\not", "ro\u{FEFF}ot", "ro\u{00A0}ot"] {
            #expect(throws: GovernanceError.self, "\(name.unicodeScalars.map { String($0.value, radix: 16) })") {
                _ = try g.addAccount(as: cast.admin, name: name, organisation: "Met", roles: [.auditor])
            }
        }
        // Wholly Cyrillic and accented names are names.
        _ = try g.addAccount(as: cast.admin, name: "Анна", organisation: "Met", roles: [.auditor])
        // The same name composed or decomposed is one name.
        _ = try g.addAccount(as: cast.admin, name: "Ren\u{E9}", organisation: "Met", roles: [.auditor])
        #expect(throws: GovernanceError.invalid("an account named 'Ren\u{E9}' already exists")) {
            _ = try g.addAccount(as: cast.admin, name: "Rene\u{301}", organisation: "Met", roles: [.auditor])
        }
    }

    // MARK: 7. Every committed face is logged, even if the process dies

    @Test(arguments: MetadataEngine.available) func everyFileIsLoggedWithItsFacesAndDeadRunsAreClosed(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let logged = try g.database.read { db in try db.fetchAll(AuditEntry.self, "WHERE action = 'ingest.file'") }
        let faces = try g.database.read { db in Set(try db.ids("SELECT id FROM face")) }
        let loggedFaces = Set(
            try logged.flatMap { entry -> [Int64] in
                let details = try JSONSerialization.jsonObject(with: Data(entry.details.utf8)) as? [String: Any]
                return (details?["faces"] as? [NSNumber] ?? []).map(\.int64Value)
            })
        #expect(logged.count == 4 && loggedFaces == faces, "each file's faces are in its own entry")

        // A run whose process died: started, one file committed, then silence.
        let source = try g.gallery.store.source(named: "portraits")
        let run = try g.gallery.store.startRun(sourceID: source.id!)
        _ = try g.gallery.store.record(
            file: SourceFile(
                sourceID: source.id!, sha256: Data(repeating: 7, count: 32), path: "x.jpg",
                kind: .photo, faceCount: 0, ingestedAt: Date(), runID: run.id!),
            pictures: [])
        #expect(try g.closeAbandonedRuns().isEmpty, "a run that just started is alive")
        world.advance(days: 1)
        let closed = try g.closeAbandonedRuns()
        #expect(closed.map(\.id) == [run.id])
        #expect(closed.first?.interrupted == true && closed.first?.filesIngested == 1 && closed.first?.finishedAt != nil)
        #expect(try g.database.read { db in try db.count(AuditEntry.self, "WHERE action = 'ingest.interrupted'") } == 1)
        #expect(try g.closeAbandonedRuns().isEmpty, "closed once")
        #expect(try g.verifyAudit(as: cast.auditor).isIntact)
    }

    // MARK: 8. No walk leaves the source root

    @Test func aLinkInsideTheRootToAFileOutsideIsNeverRead() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let root = world.folder + "/linked"
        try FileManager.default.createDirectory(atPath: root + "/inside", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: GovernedWorld.samples + "/biden.jpg", toPath: root + "/biden.jpg")
        // One link to a photo outside the root, one to a folder outside it.
        try FileManager.default.createSymbolicLink(atPath: root + "/outside.jpg", withDestinationPath: world.folder + "/photos/obama.jpg")
        try FileManager.default.createSymbolicLink(atPath: root + "/inside/away", withDestinationPath: world.folder + "/photos/nested")
        _ = try g.registerSource(as: cast.admin, world.source(name: "linked", root: root, jurisdiction: "GB"))
        let summary = try g.ingest(as: cast.admin, source: "linked", paths: [], pipelines: [GovernedWorld.pipeline])
        #expect(summary.filesIngested == 1, "only the photo inside the root")
        #expect(summary.errors.contains { $0.path == "outside.jpg" && $0.message.contains("outside the source root") })
        let origins = try g.database.read { db in try db.fetchAll(GalleryImage.self).map(\.originURI) }
        #expect(origins == ["biden.jpg"])
        // Relative paths are the source root's, not the working folder's.
        #expect(throws: (any Error).self) {
            _ = try g.ingest(
                as: cast.admin, source: "linked", paths: ["../photos/obama.jpg"],
                pipelines: [GovernedWorld.pipeline])
        }
        let again = try g.ingest(as: cast.admin, source: "linked", paths: ["biden.jpg"], pipelines: [GovernedWorld.pipeline])
        #expect(again.filesSeen == 1 && again.filesSkipped == 1)
    }

    // MARK: 14. A session cannot outlive itself

    @Test func aSessionCannotMintALongerTokenOrStartASession() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let token = try g.issueToken(as: cast.auditor, label: "mine", days: 30).token
        let (session, _) = try g.signIn(token: token)
        let viaSession = try g.authenticate(token: session.token)
        #expect(viaSession.credential?.isSession == true)
        #expect(throws: GovernanceError.self) { _ = try g.issueToken(as: viaSession, label: "longer", days: 366) }
        #expect(throws: GovernanceError.self) { _ = try g.issueToken(as: viaSession, label: "a day", days: 1) }
        #expect(throws: GovernanceError.self) { _ = try g.signIn(token: session.token) }
        // The API token still does both.
        _ = try g.issueToken(as: g.authenticate(token: token), label: "fine", days: 366)
        _ = try g.signIn(token: token)
    }

    // MARK: 17, 18, 20

    @Test(arguments: MetadataEngine.available) func erasingAFaceThatIsNotHeldIsNotFound(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let receipts = try g.receipts().count
        #expect(throws: GovernanceError.self) { _ = try g.erase(as: cast.officer, .faces([999_999], scope: "face", label: "999999"), reason: "test") }
        let held = try g.database.read { db in try db.ids("SELECT id FROM face ORDER BY id LIMIT 1") }
        #expect(throws: GovernanceError.self, "one unknown id refuses the whole order") {
            _ = try g.erase(as: cast.officer, .faces(held + [999_999], scope: "face", label: "mixed"), reason: "test")
        }
        #expect(try g.receipts().count == receipts, "no receipt for nothing")
        #expect(try g.database.read { db in try db.count(GalleryFace.self, "WHERE id = ?", [.integer(held[0])]) } == 1)
    }

    @Test(arguments: MetadataEngine.available) func optedOutFacesWithheldCountsTheFacesTheIndexLeftOut(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let before = try world.search(cast.investigator, "obama2.jpg", top: 4)
        let obamas = before.result.candidates.filter { $0.score > 0.5 }.count
        #expect(obamas >= 2)
        _ = try g.requestOptOut(photo: GovernedWorld.photo("obama.jpg"), contact: "person@example.org", pipeline: GovernedWorld.pipeline)
        let after = try world.search(cast.investigator, "obama2.jpg", top: 4)
        #expect(after.optedOutFacesWithheld >= obamas - 1, "withheld \(after.optedOutFacesWithheld), Obama's faces \(obamas)")
        #expect(after.optedOutFacesWithheld > 0)
        let entry = try g.database.read { db in try db.fetchOne(AuditEntry.self, id: after.auditEntry) }
        #expect(entry?.details.contains("\"opted_out_withheld\":\(after.optedOutFacesWithheld)") == true)
    }

    @Test func expiredAccountsAreListedAsExpiredAndAPastExpiryIsRefused() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        #expect(throws: GovernanceError.self) {
            _ = try g.addAccount(as: cast.admin, name: "late", organisation: "Met", roles: [.auditor], expiresAt: Date().addingTimeInterval(-60))
        }
        _ = try g.addAccount(as: cast.admin, name: "temp", organisation: "Met", roles: [.auditor], expiresAt: Date().addingTimeInterval(86_400))
        #expect(try g.accounts(as: cast.admin).first { $0.0.name == "temp" }?.0.status == .active)
        world.advance(days: 2)
        #expect(try g.accounts(as: cast.admin).first { $0.0.name == "temp" }?.0.status == .expired)
    }
}
