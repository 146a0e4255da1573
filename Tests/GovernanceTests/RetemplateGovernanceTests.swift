import FaceVision
import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// Re-templating a gallery is an operator admin's act, logged, in every deployment.
@Suite struct RetemplateGovernanceTests {
    static let ensemble = try! FacePipeline(
        models: ModelDirectory(path: GovernedWorld.root.appendingPathComponent(".lineup/models").path), alignment: .ensemble)

    @Test(arguments: MetadataEngine.available) func onlyAnOperatorAdminRetemplatesAndTheRunIsLogged(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        try world.reopen(modelID: Self.ensemble.modelID, retemplating: true)
        #expect(throws: GovernanceError.self) { try world.governance.retemplate(as: cast.supervisor, pipelines: [Self.ensemble]) }
        #expect(try world.governance.gallery.store.retemplateTarget() == nil, "a refused run changes nothing")
        let summary = try world.governance.retemplate(as: cast.admin, pipelines: [Self.ensemble])
        #expect(summary.finished && summary.faces == 4 && summary.errors.isEmpty)
        let entry = try #require(try world.governance.exportAudit(as: cast.auditor).last { $0.action == AuditAction.retemplate.rawValue })
        #expect(entry.details.contains("\"to\":\"\(Self.ensemble.modelID)\"") && entry.details.contains("\"finished\":true"))

        // The gallery is now searched with ensemble templates only, in every deployment.
        try world.reopen(modelID: Self.ensemble.modelID)
        let found = try world.governance.search(
            as: cast.investigator, justification: GovernedWorld.justification, photo: GovernedWorld.photo("obama2.jpg"),
            pipeline: Self.ensemble, .init(top: 4, belowThreshold: true))
        #expect(found.result.candidates.count == 4 && found.result.candidates[0].originURI == "obama2.jpg")
        #expect(throws: (any Error).self) { try world.reopen() }
    }
}
