import FaceVision
import Foundation
import Gallery
import Index
import Milvus
import Store
import TestSupport
import Testing

@testable import Governance

/// What only the cluster deployment needs: Milvus applies a deletion some time after
/// it is asked, so the metadata store, not Milvus, decides what a search may return.
@Suite struct ClusterTests {
    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.available.contains(.cluster)),
            "needs PostgreSQL and Milvus: scripts/cluster.sh start"))
    func aFaceGoneFromTheMetadataStoreIsNeverACandidateWhileMilvusStillHoldsIt() throws {
        let world = try GovernedWorld(engine: .cluster)
        let cast = try world.cast()
        let g = world.governance
        let before = try world.search(cast.investigator, "obama2.jpg").result.candidates
        let obama = try #require(before.first { $0.originURI == "obama.jpg" })
        // The face's records go, as an erasure's transaction takes them, and Milvus is not told.
        try g.database.write { db in try db.execute("DELETE FROM face WHERE id = ?", [.integer(obama.faceID)]) }
        let shared = try g.gallery.index
        #expect(try g.gallery.indexKind == .shared)
        let probe = try g.gallery.probe(
            image: Image(data: GovernedWorld.photo("obama.jpg"), limits: GovernedWorld.pipeline.limits),
            pipeline: GovernedWorld.pipeline)
        #expect(
            try shared.search(probe.template.vector, k: 4, filter: .all).contains { $0.id == obama.faceID },
            "Milvus still holds the face")
        let after = try world.search(cast.investigator, "obama2.jpg").result.candidates
        #expect(!after.contains { $0.faceID == obama.faceID })
        #expect(after.count == before.count - 1)
        #expect(after.map(\.rank) == Array(1...after.count))
    }

    /// Milvus's storage on this machine: `LINEUP_MILVUS_DATA`, or where
    /// `scripts/cluster.sh` keeps it.
    static let milvusData =
        ProcessInfo.processInfo.environment["LINEUP_MILVUS_DATA"]
        ?? GovernedWorld.root.appendingPathComponent(".lineup/cluster/milvus/data/data").path

    /// The segment files of one collection under Milvus's storage (its insert, delta
    /// and statistics logs, kept under the collection's id) and the index files
    /// holding `bytes`. Other collections hold the same photos' templates: the test
    /// galleries share them.
    static func milvusFiles(ofCollection collection: Int64, holding bytes: Data) -> [String] {
        var found: [String] = []
        let walker = FileManager.default.enumerator(atPath: milvusData)
        while let path = walker?.nextObject() as? String {
            let components = path.split(separator: "/")
            guard components.contains(where: { $0 == String(collection) }) || components.first == "index_files" else { continue }
            let full = milvusData + "/" + path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                let content = FileManager.default.contents(atPath: full), content.range(of: bytes) != nil
            else { continue }
            found.append(path)
        }
        return found
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.available.contains(.cluster)),
            "needs PostgreSQL and Milvus: scripts/cluster.sh start"))
    func anErasedTemplateLeavesMilvusFilesAfterTheCompactionLineupTriggers() throws {
        let world = try GovernedWorld(engine: .cluster)
        let cast = try world.cast()
        let g = world.governance
        let shared = try #require(try g.gallery.index as? MilvusIndex)
        let collection = try shared.collectionID()
        let biden = try EvidenceTests.templateBytes(g, originURI: "biden.jpg")
        try shared.flush()
        let before = Self.milvusFiles(ofCollection: collection, holding: biden.clear)
        #expect(!before.isEmpty, "the search of Milvus's files finds the template before the erasure")
        let receipt = try g.erase(as: cast.officer, .faces([biden.faceID], scope: "person", label: "biden"), reason: "data subject's request")
        let purged = try #require(receipt.indexPurgedAt, "the receipt records when the compaction finished")
        let recorded = try #require(try g.receipt(reference: receipt.reference)?.indexPurgedAt)
        #expect(abs(recorded.timeIntervalSince(purged)) < 0.001)
        // The garbage collector removes the compacted segment's old files within its
        // interval and tolerance (scripts/cluster.sh: 30 s and 60 s).
        let deadline = Date().addingTimeInterval(240)
        var left = Self.milvusFiles(ofCollection: collection, holding: biden.clear)
        while !left.isEmpty, Date() < deadline {
            Thread.sleep(forTimeInterval: 5)
            left = Self.milvusFiles(ofCollection: collection, holding: biden.clear)
        }
        #expect(left.isEmpty, "Milvus's files still holding the erased template: \(left)")
        // The other faces' templates are still there: the compaction kept them.
        let obama = try EvidenceTests.templateBytes(g, originURI: "obama.jpg")
        #expect(!Self.milvusFiles(ofCollection: collection, holding: obama.clear).isEmpty)
        #expect(try world.search(cast.investigator, "obama2.jpg").result.candidates.contains { $0.originURI == "obama.jpg" })
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.available.contains(.cluster)),
            "needs PostgreSQL and Milvus: scripts/cluster.sh start"))
    func policyExclusionsRunInsideMilvus() throws {
        let world = try GovernedWorld(engine: .cluster)
        _ = try world.cast()
        let g = world.governance
        let source = try g.gallery.store.source(named: "portraits")
        let probe = try g.gallery.probe(
            image: Image(data: GovernedWorld.photo("obama.jpg"), limits: GovernedWorld.pipeline.limits),
            pipeline: GovernedWorld.pipeline)
        let shared = try g.gallery.index
        #expect(try g.gallery.indexKind == .shared)
        #expect(try shared.search(probe.template.vector, k: 4, filter: .all).count == 4)
        #expect(try shared.search(probe.template.vector, k: 4, filter: SearchFilter(excludedSources: [source.id!])).isEmpty)
        let faces = try g.gallery.store.faceIDs(ofSources: [source.id!])
        let some = Set(faces.sorted().prefix(2))
        #expect(try Set(shared.search(probe.template.vector, k: 4, filter: SearchFilter(excludedFaces: some)).map(\.id)) == faces.subtracting(some))
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.available.contains(.cluster)),
            "needs PostgreSQL and Milvus: scripts/cluster.sh start"))
    func reconcilingBringsMilvusInLineWithTheMetadataStore() throws {
        let world = try GovernedWorld(engine: .cluster)
        let cast = try world.cast()
        let g = world.governance
        let shared = try g.gallery.index
        #expect(try g.gallery.indexKind == .shared)
        let faces = try g.gallery.store.faceIDs(ofSources: [try g.gallery.store.source(named: "portraits").id!]).sorted()
        #expect(faces.count == 4)
        // A face whose removal from Milvus failed, and one whose template never reached it.
        try g.database.write { db in try db.execute("DELETE FROM face WHERE id = ?", [.integer(faces[0])]) }
        try shared.remove(ids: [faces[1]])
        func indexed() throws -> Set<Int64> { try shared.faceIDs(in: 0..<shared.idRangeLimit) }
        let deadline = Date().addingTimeInterval(120)
        while try indexed().contains(faces[1]), Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }

        #expect(throws: GovernanceError.self) { _ = try g.reconcileIndex(as: cast.investigator) }
        let result = try g.reconcileIndex(as: cast.admin)
        #expect(result.added == 1 && result.removed == 1 && result.faces == 3, "\(result)")
        while try indexed() != Set(faces.dropFirst()), Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(try indexed() == Set(faces.dropFirst()))
        #expect(try g.exportAudit(as: cast.auditor).last { $0.action == "index.reconcile" }?.details.contains("\"removed\":1") == true)
        let again = try g.reconcileIndex(as: cast.admin)
        #expect(again.added == 0 && again.removed == 0 && again.faces == 3, "nothing left to do: \(again)")
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.available.contains(.cluster)),
            "needs PostgreSQL and Milvus: scripts/cluster.sh start"))
    func rebuildingTheSharedIndexRefillsItFromTheMetadataStore() throws {
        let world = try GovernedWorld(engine: .cluster)
        let cast = try world.cast()
        let g = world.governance
        let shared = try #require(try g.gallery.index as? MilvusIndex)
        let faces = try g.gallery.store.faceIDs(modelID: g.gallery.modelID, in: 0..<Int64.max)
        // Emptied behind the gallery's back (a collection dropped, or one of an old layout replaced).
        try shared.drop()
        #expect(throws: GovernanceError.self) { _ = try g.rebuildSharedIndex(as: cast.investigator) }
        #expect(try g.rebuildSharedIndex(as: cast.admin) == faces.count)
        #expect(try shared.faceIDs(in: 0..<shared.idRangeLimit) == faces)
        let found = try world.search(cast.investigator, "obama2.jpg").result.candidates
        #expect(found.contains { $0.originURI == "obama.jpg" })
        #expect(try g.exportAudit(as: cast.auditor).last { $0.action == "index.reconcile" }?.details.contains("\"rebuilt\"") == true)
    }
}
