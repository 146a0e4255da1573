import FaceVision
import Foundation
import Index
import Store
import Testing

@testable import Gallery

/// A gallery holds templates of one alignment; probes of several photos are fused.
@Suite struct AlignmentAndFusionTests {
    static let singlePass = try! FacePipeline(models: GalleryFixtures.models, alignment: .detector)
    static let ensemble = try! FacePipeline(models: GalleryFixtures.models, alignment: .ensemble)

    static func ensembleGallery(_ folder: String) throws -> Gallery {
        try Gallery(directory: folder + "/store", modelID: ensemble.modelID, dimension: 128)
    }

    @Test func aGalleryRefusesTemplatesOfAnotherAlignment() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try Self.ensembleGallery(folder)
        #expect(gallery.modelID == "sface-2021dec+flip+ensemble")
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [Self.ensemble])
        let probe = try Image(contentsOf: folder + "/photos/obama.jpg")

        // A single-pass probe is refused, not compared with the ensemble's templates.
        #expect(throws: StoreError.self) { try gallery.search(image: probe, pipeline: Self.singlePass) }
        // So is ingesting with it, before any file is read.
        #expect(throws: StoreError.self) { try gallery.ingest(source: source, paths: [], pipelines: [Self.singlePass]) }
        // And opening the gallery for the other alignment, naming what it holds.
        do {
            _ = try Gallery(directory: folder + "/store", modelID: Self.singlePass.modelID, dimension: 128)
            Issue.record("a gallery of ensemble templates opened for single-pass ones")
        } catch let error as StoreError {
            #expect(String(describing: error).contains("--alignment ensemble"))
        }
        #expect(try gallery.store.faceCount(modelID: Self.singlePass.modelID) == 0)
        #expect(try gallery.search(image: probe, pipeline: Self.ensemble).candidates.count == 4)
    }

    @Test func aGalleryMadeByAnEarlierVersionKeepsItsAlignment() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Faces stored with single-pass templates, and the record of the model removed
        // (as in a gallery made before it existed).
        let old = try Gallery(directory: folder + "/store", modelID: Self.singlePass.modelID, dimension: 128)
        let source = try GalleryFixtures.register(old, root: folder + "/photos")
        _ = try old.ingest(source: source, paths: [], pipelines: [Self.singlePass])
        try old.store.database.write { db in try db.execute("DELETE FROM setting WHERE key = 'templates.model'") }
        #expect(throws: StoreError.self) { try Self.ensembleGallery(folder) }
        let reopened = try Gallery(directory: folder + "/store", modelID: Self.singlePass.modelID, dimension: 128)
        #expect(try reopened.indexedFaces() == 4)
    }

    @Test func aProbeOfTwoPhotosIsTheMeanOfTheirTemplates() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos/nested")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        let probes = try ["obama.jpg", "obama2.jpg"].map {
            try gallery.probe(image: Image(contentsOf: folder + "/photos/" + $0), pipeline: GalleryFixtures.pipeline)
        }
        let fused = try Gallery.Probe.fused(probes)
        #expect(fused.photos == 2)
        let sum = zip(probes[0].template.vector, probes[1].template.vector).map(+)
        let expected = FaceTemplate(modelID: fused.template.modelID, vector: sum)
        #expect(dot(expected.vector, fused.template.vector) > 0.99999)
        // The third photo of the same man scores against the fused probe between, or
        // above, what each photo alone gives: never below both.
        let scores = try ([fused] + probes).map { try gallery.search(probe: $0, top: 1).candidates[0].score }
        #expect(scores[0] >= min(scores[1], scores[2]))
        let result = try gallery.search(probe: fused, top: 1)
        #expect(result.probePhotos == 2 && result.candidates.count == 1)
        #expect(throws: StoreError.self) { try Gallery.Probe.fused([]) }
    }
}
