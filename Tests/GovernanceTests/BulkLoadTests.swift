import Crypto
import FaceVision
import Foundation
import Gallery
import Index
import Store
import Testing

@testable import Governance

/// Files whose faces were found and templated before they reached Lineup, stored
/// many to a transaction under ingest's rules.
@Suite struct BulkLoadTests {
    /// The sample portraits, detected and templated by the real pipeline, as a load
    /// from an earlier system would bring them.
    static func prepared(_ world: GovernedWorld, source: Source) throws -> [GalleryStore.FileToStore] {
        try ["obama.jpg", "obama2.jpg", "biden.jpg"].map { name in
            let bytes = try GovernedWorld.photo(name)
            let image = try Image(data: bytes, limits: GovernedWorld.pipeline.limits)
            let faces = try GovernedWorld.pipeline.detect(in: image).map { face in
                let template = try GovernedWorld.pipeline.embedder.embed(face, in: image)
                return GalleryFace(
                    imageID: 0, box: face.box, landmarks: face.landmarks, detectorScore: face.score, quality: face.quality,
                    modelID: template.modelID, template: GalleryFace.encode(template))
            }
            let picture = GalleryImage(
                sourceID: source.id!, fileID: 0, originURI: name, ingestedAt: Date(), width: image.width, height: image.height)
            return GalleryStore.FileToStore(
                file: SourceFile(
                    sourceID: source.id!, sha256: Data(SHA256.hash(data: bytes)), path: name, kind: .photo, faceCount: 0,
                    ingestedAt: Date(), runID: nil),
                pictures: [.init(image: picture, faces: faces)])
        }
    }

    @Test(arguments: MetadataEngine.available) func aLoadIsStoredLoggedAndSearchedLikeAnIngest(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let source = try g.registerSource(as: cast.admin, world.source(name: "archive", root: world.folder + "/photos", jurisdiction: "GB"))
        let files = try Self.prepared(world, source: source)
        #expect(throws: GovernanceError.self) { try g.ingestPrepared(as: cast.investigator, source: "archive", files: files) }

        let summary = try g.ingestPrepared(as: cast.admin, source: "archive", files: files)
        #expect(summary.filesStored == 3 && summary.faces == 3 && summary.filesSkipped == 0)
        let logged = try g.exportAudit(as: cast.auditor).filter { $0.action == AuditAction.ingestFile.rawValue }
        #expect(logged.count == 3, "one entry per file, in the transaction that stored it")
        let best = try #require(try world.search(cast.investigator, "obama.jpg").result.candidates.first)
        #expect(best.originURI == "obama.jpg" && best.source == "archive" && best.score > 0.99)

        let again = try g.ingestPrepared(as: cast.admin, source: "archive", files: files)
        #expect(again.filesStored == 0 && again.filesSkipped == 3, "a load run again stores nothing twice")
        let other = try g.registerSource(as: cast.admin, world.source(name: "other", root: world.folder + "/photos", jurisdiction: "GB"))
        #expect(throws: GovernanceError.self, "a load names its own source's files only") {
            try g.ingestPrepared(as: cast.admin, source: "other", files: files)
        }
        _ = other
    }

    @Test func optedOutFacesAreWithheldFromALoad() throws {
        let world = try GovernedWorld()
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let source = try g.registerSource(as: cast.admin, world.source(name: "archive", root: world.folder + "/photos", jurisdiction: "GB"))
        _ = try g.requestOptOut(photo: GovernedWorld.photo("obama3.jpg"), contact: "person@example.org", pipeline: GovernedWorld.pipeline)
        let summary = try g.ingestPrepared(as: cast.admin, source: "archive", files: try Self.prepared(world, source: source))
        #expect(summary.facesWithheld == 2 && summary.faces == 1, "both photos of the opted-out person are withheld")
    }
}
