import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// The accountable workflow end to end, on real photos.
@Suite struct ScenarioTests {
    @Test(arguments: MetadataEngine.available) func fromBootstrapToTamperedAuditLog(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance

        // Bootstrap admin → organisation → supervisor → investigator, pending.
        let root = try g.authenticate(
            token: g.bootstrap(
                organisation: "Lineup operations", type: .government,
                jurisdiction: "GB", admin: "root"
            ).token)
        #expect(throws: GovernanceError.self) {
            _ = try g.bootstrap(organisation: "Again", type: .government, jurisdiction: "GB", admin: "root2")
        }
        _ = try g.addOrganisation(as: root, name: "Met", type: .lawEnforcement, jurisdiction: "GB")
        _ = try g.addOrganisation(as: root, name: "Gendarmerie", type: .lawEnforcement, jurisdiction: "FR")
        let supervisor = try g.authenticate(token: g.addAccount(as: root, name: "sup", organisation: "Met", roles: [.supervisor]).1.token)
        let foreignSupervisor = try g.authenticate(
            token: g.addAccount(
                as: root, name: "sup-fr", organisation: "Gendarmerie",
                roles: [.supervisor]
            ).1.token)
        let (pending, token) = try g.addAccount(as: supervisor, name: "inv", organisation: "Met", roles: [.investigator])
        #expect(pending.status == .pending)
        #expect(throws: GovernanceError.forbidden("account inv awaits a supervisor's approval")) { _ = try g.authenticate(token: token.token) }
        // No cross-organisation approval, and approval by a non-supervisor is refused.
        #expect(throws: GovernanceError.self) { _ = try g.approve(as: foreignSupervisor, account: "inv") }
        #expect(throws: GovernanceError.self) { _ = try g.approve(as: root, account: "inv") }
        _ = try g.approve(as: supervisor, account: "inv")
        let investigator = try g.authenticate(token: token.token)

        // Source and ingest (admin), then a justified search finds Obama's other photos.
        _ = try g.registerSource(as: root, world.source(name: "portraits", root: world.folder + "/photos", jurisdiction: "GB"))
        let ingested = try g.ingest(as: root, source: "portraits", paths: [], pipelines: [GovernedWorld.pipeline])
        #expect(ingested.faces == 4)
        #expect(throws: GovernanceError.unjustified("every search must state a case number")) {
            _ = try g.search(
                as: investigator, justification: Justification(caseNumber: "", purpose: "p1", legalBasis: "b1"),
                photo: GovernedWorld.photo("obama.jpg"), pipeline: GovernedWorld.pipeline)
        }
        #expect(throws: GovernanceError.self) { _ = try world.search(supervisor, "obama.jpg") }  // not an investigator
        let before = try world.search(investigator, "obama2.jpg")
        #expect(before.result.candidates.prefix(3).allSatisfy { $0.originURI.contains("obama") })

        // Opt-out with one photo: the person disappears from results and from re-ingest.
        let optOut = try g.requestOptOut(
            photo: GovernedWorld.photo("obama3.jpg"), contact: "b.obama@example.org",
            pipeline: GovernedWorld.pipeline)
        #expect(optOut.matchingFaces == 3)
        let after = try world.search(investigator, "obama2.jpg")
        #expect(after.result.candidates.allSatisfy { !$0.originURI.contains("obama") })
        #expect(after.result.candidates.map(\.originURI) == ["biden.jpg"])
        try FileManager.default.createDirectory(atPath: world.folder + "/photos/later", withIntermediateDirectories: true)
        var again = try Data(contentsOf: URL(fileURLWithPath: GovernedWorld.samples + "/obama.jpg"))
        again.append(0)  // other bytes, same picture: a new file to ingest
        try again.write(to: URL(fileURLWithPath: world.folder + "/photos/later/obama-again.jpg"))
        let reingest = try g.ingest(
            as: root, source: "portraits", paths: [world.folder + "/photos/later"],
            pipelines: [GovernedWorld.pipeline])
        #expect(reingest.filesIngested == 1 && reingest.faces == 0 && reingest.facesWithheld == 1)
        let officer = try g.authenticate(
            token: g.addAccount(
                as: root, name: "dpo", organisation: "Lineup operations",
                roles: [.privacyOfficer]
            ).1.token)
        try g.reviewOptOut(as: officer, reference: optOut.reference, confirm: true)
        #expect(try g.requestStatus(reference: optOut.reference) == .confirmed)

        // Access request: the officer confirms each candidate before anything is released.
        let access = try g.requestAccess(
            photo: GovernedWorld.photo("biden.jpg"), contact: "j.biden@example.org",
            pipeline: GovernedWorld.pipeline)
        #expect(access.matchingFaces >= 1)
        #expect(throws: GovernanceError.self) { _ = try g.releaseAccessReport(as: officer, reference: access.reference) }
        #expect(throws: GovernanceError.self) { _ = try g.reviewAccess(as: investigator, reference: access.reference) }
        let review = try g.reviewAccess(as: officer, reference: access.reference)
        #expect(review.photo != nil)
        for candidate in review.candidates {
            try g.decideAccess(
                as: officer, reference: access.reference, faceID: candidate.faceID,
                confirm: candidate.provenance?.originURI == "biden.jpg")
        }
        let report = try g.releaseAccessReport(as: officer, reference: access.reference)
        #expect(report.faces.map(\.provenance.originURI) == ["biden.jpg"])
        #expect(report.faces[0].confirmedBy == "dpo")
        #expect(report.faces[0].searches.map(\.organisation) == ["Met", "Met"], "both searches returned the Biden photo")
        #expect(report.faces[0].provenance.legalBasis == .publicTask && report.faces[0].provenance.jurisdiction == "GB")

        // Erasure with a receipt: the face is gone from every search.
        let receipt = try g.eraseAccessRequestFaces(as: officer, reference: access.reference)
        #expect(receipt.faces == 1 && receipt.images == 1 && receipt.erasedBy == "dpo")
        #expect(receipt.sha256 == Governance.receiptHash(receipt))
        #expect(try world.search(investigator, "biden.jpg").result.candidates.allSatisfy { $0.originURI != "biden.jpg" })

        // The audit log holds; a tampered entry is named.
        let auditor = try g.authenticate(
            token: g.addAccount(
                as: root, name: "aud", organisation: "Lineup operations",
                roles: [.auditor]
            ).1.token)
        let verified = try g.verifyAudit(as: auditor)
        #expect(verified.isIntact && verified.entries > 20)
        let searches = try g.exportAudit(as: auditor).filter { $0.action == "search" }
        #expect(searches.count == 3 && searches.allSatisfy { $0.caseNumber == "2026/0415" })
        try world.allowAuditTampering()
        try g.database.write { db in
            try db.execute("UPDATE auditEntry SET purpose = 'routine check' WHERE id = ?", [.integer(searches[1].id!)])
        }
        let tampered = try AuditLog.verify(g.database)
        #expect(tampered.firstBadEntry == searches[1].id)
        #expect(tampered.problem?.contains("edited") == true)
    }

    /// A rejected (abusive) opt-out withholds nothing any more, at once.
    @Test(arguments: MetadataEngine.available) func aRejectedOptOutStopsWithholding(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        func obamaCandidates() throws -> Int {
            try world.search(cast.investigator, "obama2.jpg").result.candidates.filter { $0.originURI.contains("obama") }.count
        }
        #expect(try obamaCandidates() == 3)
        let optOut = try g.requestOptOut(
            photo: GovernedWorld.photo("obama.jpg"), contact: "someone@example.org",
            pipeline: GovernedWorld.pipeline)
        #expect(try obamaCandidates() == 0)
        try g.reviewOptOut(as: cast.officer, reference: optOut.reference, confirm: false)
        #expect(try obamaCandidates() == 3)
        #expect(try g.requestStatus(reference: optOut.reference) == .rejected)
    }
}
