import FaceVision
import Foundation
import Index
import Store
import Testing

@testable import Gallery

/// A gallery's templates made again with another alignment, from the original files.
@Suite struct RetemplateTests {
    static let singlePass = AlignmentAndFusionTests.singlePass
    static let ensemble = AlignmentAndFusionTests.ensemble

    /// Face id → (box, template) of every face a gallery holds.
    static func faces(of gallery: Gallery) throws -> [Int64: (box: Box, vector: [Float])] {
        let ids = try gallery.store.faceIDs(modelID: gallery.modelID, in: 0..<Int64.max)
        let provenance = try gallery.store.provenance(faceIDs: Array(ids))
        let templates = try gallery.store.templates(faceIDs: Array(ids))
        return Dictionary(uniqueKeysWithValues: ids.map { ($0, (provenance[$0]!.face.box, templates[$0]!)) })
    }

    @Test func aGalleryIsRetemplatedFromItsOriginalsResumingAfterAFileWasMissing() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Two photos and a clip of real portraits, ingested with single-pass alignment.
        let obama = try Image(contentsOf: GalleryFixtures.samples + "/obama.jpg").resized(width: 480, height: 600)
        let biden = try Image(contentsOf: GalleryFixtures.samples + "/biden.jpg").resized(width: 480, height: 600)
        let writer = try VideoWriter(path: folder + "/photos/nested/clip.avi", framesPerSecond: 5, width: 480, height: 600)
        for frame in 0..<20 { try writer.write(frame < 10 ? biden : obama) }
        _ = consume writer
        try FileManager.default.removeItem(atPath: folder + "/photos/nested/obama3.jpg")
        let old = try Gallery(directory: folder + "/store", modelID: Self.singlePass.modelID, dimension: 128)
        let source = try GalleryFixtures.register(old, root: folder + "/photos")
        let ingested = try old.ingest(source: source, paths: [], pipelines: [Self.singlePass], options: .init(videoInterval: 0.4))
        #expect(ingested.faces == 5 && ingested.errors.isEmpty, "\(ingested.errors)")
        let before = try Self.faces(of: old)

        // The first run cannot read one photo: its face keeps its template, the gallery
        // keeps its model and is opened for neither alignment until the run finishes.
        try FileManager.default.moveItem(atPath: folder + "/photos/biden.jpg", toPath: folder + "/biden.jpg")
        let retemplating = try Gallery(
            directory: folder + "/store", modelID: Self.ensemble.modelID, dimension: 128, retemplating: true)
        let first = try retemplating.retemplate(pipelines: [Self.ensemble])
        #expect(first.from == Self.singlePass.modelID && first.to == Self.ensemble.modelID)
        #expect(first.faces == 4 && first.facesLeft == 1 && !first.finished)
        #expect(first.errors.map(\.path) == ["portraits: biden.jpg"] && first.errors[0].message.contains("gone"))
        for model in [Self.singlePass.modelID, Self.ensemble.modelID] {
            do {
                _ = try Gallery(directory: folder + "/store", modelID: model, dimension: 128)
                Issue.record("a gallery half re-templated opened for \(model)")
            } catch let error as StoreError {
                #expect(String(describing: error).contains("being re-templated"))
            }
        }
        // A changed original is refused, not re-templated from other pixels.
        try FileManager.default.copyItem(atPath: folder + "/photos/obama.jpg", toPath: folder + "/photos/biden.jpg")
        let changed = try retemplating.retemplate(pipelines: [Self.ensemble])
        #expect(changed.facesLeft == 1 && changed.errors.first?.message.contains("changed") == true)
        try FileManager.default.removeItem(atPath: folder + "/photos/biden.jpg")

        // With the photo back the next run does only what was left, and finishes.
        try FileManager.default.moveItem(atPath: folder + "/biden.jpg", toPath: folder + "/photos/biden.jpg")
        let second = try retemplating.retemplate(pipelines: [Self.ensemble])
        #expect(second.faces == 1 && second.facesLeft == 0 && second.finished && second.errors.isEmpty)
        #expect(try retemplating.retemplate(pipelines: [Self.ensemble]).faces == 0, "a finished gallery has nothing left")

        // The same faces (ids, boxes), now with exactly the templates an ensemble
        // ingest of the same files makes; searched with the ensemble only.
        let gallery = try Gallery(directory: folder + "/store", modelID: Self.ensemble.modelID, dimension: 128)
        let after = try Self.faces(of: gallery)
        #expect(Set(after.keys) == Set(before.keys))
        let fresh = try Gallery(directory: folder + "/fresh", modelID: Self.ensemble.modelID, dimension: 128)
        _ = try fresh.ingest(
            source: GalleryFixtures.register(fresh, root: folder + "/photos"), paths: [], pipelines: [Self.ensemble],
            options: .init(videoInterval: 0.4))
        let reference = try Self.faces(of: fresh)
        for (id, face) in after {
            #expect(face.box == before[id]!.box)
            #expect(dot(face.vector, before[id]!.vector) < 0.9999, "face \(id) has a new template")
            let twin = try #require(reference.values.first { $0.box.intersectionOverUnion(face.box) > 0.99 })
            #expect(dot(face.vector, twin.vector) > 0.9999, "face \(id) is templated as an ensemble ingest would")
        }
        let probe = try Image(contentsOf: GalleryFixtures.samples + "/obama3.jpg")
        let hits = try gallery.search(image: probe, pipeline: Self.ensemble, top: 5).candidates
        #expect(hits.count == 5 && hits.prefix(3).allSatisfy { after[$0.faceID] != nil })
        #expect(throws: StoreError.self) { try gallery.search(image: probe, pipeline: Self.singlePass) }
        #expect(throws: StoreError.self) {
            try Gallery(directory: folder + "/store", modelID: Self.singlePass.modelID, dimension: 128)
        }
    }
}
