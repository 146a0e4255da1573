import FaceVision
import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// A search shows the candidates at or above the credible band at its gallery size;
/// the rest are counted, shown only when asked for, and the audit log says which.
@Suite struct CredibleCandidatesTests {
    @Test func strangersAreCountedNotShownUnlessAskedFor() throws {
        let world = try GovernedWorld()
        let cast = try world.cast()
        let shown = try world.search(cast.investigator, "obama2.jpg", top: 4, belowThreshold: false)
        let threshold = shown.credibleThreshold
        #expect(threshold.band == .possible && threshold.galleryFaces == 4)
        #expect(!shown.result.candidates.isEmpty)
        #expect(shown.result.candidates.allSatisfy { $0.score >= threshold.score && ($0.band?.isAtLeast(.possible) ?? false) })
        #expect(shown.result.candidates.count + shown.belowThresholdNotShown == 4, "every face of the top is shown or counted")
        #expect(shown.belowThresholdNotShown >= 1, "Joe Biden is no credible candidate for Barack Obama")
        #expect(shown.bands.map(\.band) == ConfidenceBand.allCases, "the legend explains every band, below threshold too")

        let all = try world.search(cast.investigator, "obama2.jpg", top: 4, belowThreshold: true)
        #expect(all.result.candidates.count == 4 && all.belowThresholdNotShown == 0 && all.belowThresholdShown)

        let entries = try world.governance.exportAudit(as: cast.auditor).filter { $0.action == "search" }
        let details = entries.map { Governance.SearchDetails(of: $0) }
        #expect(details.map(\.belowThresholdShown) == [false, true])
        #expect(details[0].belowThresholdNotShown == shown.belowThresholdNotShown)
        #expect(details[0].credibleBand == .possible)
    }

    @Test func aPersonNotInTheGalleryHasNoCredibleCandidate() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let root = world.folder + "/obama-only"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for name in ["obama.jpg", "obama2.jpg"] {
            try FileManager.default.copyItem(atPath: GovernedWorld.samples + "/" + name, toPath: root + "/" + name)
        }
        _ = try world.governance.registerSource(as: cast.admin, world.source(name: "obama-only", root: root, jurisdiction: "GB"))
        _ = try world.governance.ingest(as: cast.admin, source: "obama-only", paths: [], pipelines: [GovernedWorld.pipeline])
        let search = try world.search(cast.investigator, "biden.jpg", top: 10, belowThreshold: false)
        #expect(search.result.candidates.isEmpty)
        #expect(search.belowThresholdNotShown == 2)
    }

    @Test func theAdminSetsTheCredibleBandAndNoOneElse() throws {
        let world = try GovernedWorld()
        let cast = try world.cast()
        #expect(throws: GovernanceError.self) { try world.governance.setCredibleBand(as: cast.supervisor, .strong) }
        #expect(throws: GovernanceError.self) { try world.governance.setCredibleBand(as: cast.admin, .belowThreshold) }
        #expect(try world.governance.credibleBand() == .possible, "a refused change changes nothing")
        try world.governance.setCredibleBand(as: cast.admin, .strong)
        let strict = try world.search(cast.investigator, "obama2.jpg", top: 4, belowThreshold: false)
        #expect(strict.credibleThreshold.band == .strong)
        #expect(strict.result.candidates.allSatisfy { $0.band == .strong })
        #expect(try world.governance.exportAudit(as: cast.auditor).contains { $0.action == "setting.credible-band" })
    }

    @Test func anInvestigatorSeesTheirOwnPastSearchesOnly() throws {
        let world = try GovernedWorld()
        let cast = try world.cast()
        let g = world.governance
        let colleagueToken = try g.addAccount(as: cast.supervisor, name: "colleague", organisation: "Met", roles: [.investigator]).1.token
        _ = try g.approve(as: cast.supervisor, account: "colleague")
        let colleague = try g.authenticate(token: colleagueToken)
        let mine = try world.search(cast.investigator, "obama2.jpg", top: 4, belowThreshold: false)
        _ = try world.search(colleague, "biden.jpg")

        let past = try g.pastSearches(as: cast.investigator)
        #expect(past.map(\.auditEntry) == [mine.auditEntry])
        #expect(past.first?.candidates == mine.result.candidates.count && past.first?.belowThresholdShown == false)
        let again = try g.pastResults(as: cast.investigator, search: mine.auditEntry)
        #expect(again.candidates.map(\.faceID) == mine.result.candidates.map(\.faceID), "the same candidates, in order")
        #expect(again.belowThresholdNotShown == mine.belowThresholdNotShown && again.credibleBand == .possible)
        #expect(throws: GovernanceError.self) { try g.pastResults(as: colleague, search: mine.auditEntry) }
        #expect(throws: GovernanceError.self) { try g.returnedFaces(as: colleague, search: mine.auditEntry) }
        #expect(throws: GovernanceError.self) { try g.pastSearches(as: cast.auditor) }
    }
}
