import FaceVision
import Foundation
import Index
import Store
import Testing

@testable import Gallery

/// Real photos only: the sample portraits (three of Barack Obama, one of Joe Biden)
/// copied into a fresh source folder per test, and the shared LFW photos when present.
enum GalleryFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent(".lineup/samples").path
    static let models = ModelDirectory(path: root.appendingPathComponent(".lineup/models").path)
    static let lfw =
        (ProcessInfo.processInfo.environment["LINEUP_SHARED_FACES"]
            ?? root.deletingLastPathComponent().appendingPathComponent("shared/faces").path) + "/lfw-dev/images"
    static let hasLFW = FileManager.default.fileExists(atPath: lfw)
    static let pipeline = try! FacePipeline(models: models)

    /// A scratch folder with `photos/` holding copies of the sample portraits.
    static func workspace() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-gallery-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/photos/nested", withIntermediateDirectories: true)
        for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
            try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: folder + "/photos/" + name)
        }
        try FileManager.default.copyItem(atPath: samples + "/obama3.jpg", toPath: folder + "/photos/nested/obama3.jpg")
        return folder
    }

    static func gallery(_ folder: String, largeGalleryThreshold: Int? = nil, largeGalleryIndex: Gallery.IndexKind = .scan) throws -> Gallery {
        try Gallery(
            directory: folder + "/store", modelID: pipeline.modelID, dimension: 128, largeGalleryThreshold: largeGalleryThreshold,
            largeGalleryIndex: largeGalleryIndex)
    }

    @discardableResult
    static func register(_ gallery: Gallery, root: String, name: String = "portraits") throws -> Source {
        try gallery.store.addSource(
            Source(
                name: name, kind: .folder, root: root, legalBasis: .publicTask,
                specialCategoryCondition: .substantialPublicInterest, jurisdiction: "GB",
                retentionDays: 30, createdBy: "test"))
    }
}

@Suite struct GalleryTests {
    @Test func ingestedPhotosAreFoundByThePersonsOtherPhotos() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        let summary = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(summary.filesSeen == 4 && summary.filesIngested == 4 && summary.faces == 4 && summary.errors.isEmpty)

        for (name, person) in [("obama.jpg", "obama"), ("obama2.jpg", "obama"), ("nested/obama3.jpg", "obama"), ("biden.jpg", "biden")] {
            let probe = try Image(contentsOf: folder + "/photos/" + name)
            let result = try gallery.search(
                image: probe, pipeline: GalleryFixtures.pipeline, top: 4,
                calibration: ScoreCalibration.bundled(for: gallery.modelID))
            #expect(result.candidates.first?.originURI == name, "the photo itself comes first")
            let others = result.candidates.filter { $0.originURI != name }
            if person == "obama" {
                #expect(others.first.map { $0.originURI.contains("obama") } == true, "\(name): another Obama photo next")
                #expect(others.first?.band == .strong)
            }
            let candidate = try #require(result.candidates.first)
            #expect(candidate.source == "portraits" && candidate.jurisdiction == "GB" && candidate.legalBasis == .publicTask)
            #expect(candidate.capturedAt != nil, "the sample photos carry EXIF capture dates")
            #expect(try gallery.reviewCrop(of: candidate) != nil)
        }
    }

    @Test func reingestIsIdempotent() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        let counts = try gallery.store.counts()
        let again = try gallery.ingest(source: source, paths: [folder + "/photos/nested"], pipelines: [GalleryFixtures.pipeline])
        #expect(again.filesSeen == 1 && again.filesSkipped == 1 && again.faces == 0)
        #expect(try gallery.store.counts() == counts)
        #expect(try gallery.index.countInProcess == counts.faces)
    }

    @Test func badFilesAreRecordedAndTheRunGoesOn() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("not a photo".utf8).write(to: URL(fileURLWithPath: folder + "/photos/notes.jpg"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: folder + "/photos/obama.jpg"))
        try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: folder + "/photos/cut.jpg"))
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        let summary = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(summary.filesIngested == 4 && summary.faces == 4)
        #expect(summary.errors.map(\.path) == ["cut.jpg", "notes.jpg"])
        #expect(summary.errors[0].message == "the JPEG data is truncated")
        #expect(try gallery.store.errors(runID: summary.runID).count == 2)
    }

    @Test func refusalsChangeNothing() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        #expect(throws: StoreError.unknownSource("nobody")) { try gallery.store.source(named: "nobody") }
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        #expect(throws: StoreError.outsideSourceRoot(path: folder, root: folder + "/photos")) {
            try gallery.ingest(source: source, paths: [folder], pipelines: [GalleryFixtures.pipeline])
        }
        #expect(throws: StoreError.duplicateSource("portraits")) { try GalleryFixtures.register(gallery, root: folder) }
        #expect(throws: StoreError.self) {
            try gallery.store.addSource(
                Source(
                    name: "x", kind: .folder, root: folder, legalBasis: .consent,
                    specialCategoryCondition: .explicitConsent, jurisdiction: "France",
                    retentionDays: 1, createdBy: "test"))
        }
        #expect(try gallery.store.counts() == (0, 0, 0))
        #expect(try gallery.store.sources().count == 1)
    }

    /// The index is rebuilt from the database when its snapshot is missing, stale or damaged.
    @Test func indexRecoversFromTheDatabase() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        let query = try GalleryFixtures.pipeline.embed(
            in: Image(contentsOf: GalleryFixtures.samples + "/obama.jpg"),
            faces: GalleryFixtures.pipeline.detect(in: Image(contentsOf: GalleryFixtures.samples + "/obama.jpg"))
        ).template
        let expected = try gallery.index.search(query.vector, k: 4)

        let reopened = try GalleryFixtures.gallery(folder)
        #expect(try reopened.indexOrigin == "snapshot")
        #expect(try reopened.index.search(query.vector, k: 4) == expected)

        var bytes = try Data(contentsOf: URL(fileURLWithPath: gallery.snapshotPath))
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: gallery.snapshotPath))
        let repaired = try GalleryFixtures.gallery(folder)
        #expect(try repaired.indexOrigin.contains("damaged"))
        #expect(try repaired.index.search(query.vector, k: 4) == expected)

        try FileManager.default.removeItem(atPath: gallery.snapshotPath)
        #expect(try GalleryFixtures.gallery(folder).index.countInProcess == 4)
    }

    /// From the threshold on, the gallery opens a graph index, saves it, reloads it
    /// and rebuilds it from the database when its file is damaged.
    @Test func largeGalleriesOpenAGraphIndex() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(try gallery.indexKind == .exact)
        let photo = try Image(contentsOf: GalleryFixtures.samples + "/obama.jpg")
        let query = try GalleryFixtures.pipeline.embed(in: photo, faces: GalleryFixtures.pipeline.detect(in: photo)).template
        let expected = try gallery.index.search(query.vector, k: 4)
        // Same faces in the same order; scores agree to rounding (the kernels sum in another order).
        func agrees(_ hits: [SearchHit]) -> Bool {
            hits.map(\.id) == expected.map(\.id) && zip(hits, expected).allSatisfy { abs($0.score - $1.score) < 1e-4 }
        }

        for kind in [Gallery.IndexKind.scan, .graph] {
            let large = try GalleryFixtures.gallery(folder, largeGalleryThreshold: 3, largeGalleryIndex: kind)
            #expect(try large.indexKind == kind)
            #expect(try large.indexOrigin == "database")
            #expect(try agrees(try large.index.search(query.vector, k: 4)), "\(kind)")
            try large.saveIndex()
            let reopened = try GalleryFixtures.gallery(folder, largeGalleryThreshold: 3, largeGalleryIndex: kind)
            #expect(try reopened.indexOrigin == "\(kind.rawValue) snapshot")
            #expect(try agrees(try reopened.index.search(query.vector, k: 4)), "\(kind)")

            var bytes = try Data(contentsOf: URL(fileURLWithPath: large.snapshotPath))
            bytes[bytes.count / 3] ^= 0x55
            try bytes.write(to: URL(fileURLWithPath: large.snapshotPath))
            let repaired = try GalleryFixtures.gallery(folder, largeGalleryThreshold: 3, largeGalleryIndex: kind)
            #expect(try repaired.indexOrigin.contains("damaged"), "\(kind)")
            #expect(try agrees(try repaired.index.search(query.vector, k: 4)), "\(kind)")
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: folder + "/store").filter { $0.hasSuffix(".bin") }
            #expect(snapshots == [String(try repaired.snapshotPath.split(separator: "/").last!)], "one snapshot, of the kind in use")
        }
    }

    /// A clip made here from the real portraits: four seconds of Obama, then four of
    /// Biden, in three containers. Ingest finds one track per person with the right span.
    @Test(arguments: [("avi", "MJPG"), ("mp4", "mp4v"), ("mkv", "X264")])
    func videoGivesOneTrackPerPerson(container: String, codec: String) throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let obama = try Image(contentsOf: GalleryFixtures.samples + "/obama.jpg").resized(width: 480, height: 600)
        let biden = try Image(contentsOf: GalleryFixtures.samples + "/biden.jpg").resized(width: 480, height: 600)
        let writer = try VideoWriter(path: folder + "/photos/clip." + container, framesPerSecond: 5, width: 480, height: 600, codec: codec)
        for frame in 0..<40 { try writer.write(frame < 20 ? obama : biden) }
        _ = consume writer
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        let summary = try gallery.ingest(
            source: source, paths: [folder + "/photos/clip." + container], pipelines: [GalleryFixtures.pipeline],
            options: .init(videoInterval: 0.4))
        #expect(summary.errors.isEmpty && summary.faces == 2, "\(summary.errors)")
        let ids = try gallery.index.search(
            try GalleryFixtures.pipeline.embed(in: obama, faces: GalleryFixtures.pipeline.detect(in: obama)).template.vector, k: 2
        ).map(\.id)
        let provenance = try gallery.store.provenance(faceIDs: ids)
        let first = try #require(provenance[ids[0]]), second = try #require(provenance[ids[1]])
        #expect(first.face.trackFirstSeconds == 0 && abs(first.face.trackLastSeconds! - 3.6) < 0.01, "Obama: 0 to 3.6 s")
        #expect(abs(second.face.trackFirstSeconds! - 4.0) < 0.01 && abs(second.face.trackLastSeconds! - 7.6) < 0.01, "Biden: 4 to 7.6 s")
        #expect(first.image.originURI == "clip." + container && first.image.frameSeconds! <= 3.6)
        #expect(try gallery.reviewCrop(of: gallery.search(image: obama, pipeline: GalleryFixtures.pipeline, top: 1).candidates[0]) != nil)
    }
}

@Suite struct FaceSelectionTests {
    /// Two real portraits side by side on one canvas: Obama large, Biden small.
    static func composite() throws -> Image {
        let left = try Image(contentsOf: GalleryFixtures.samples + "/obama.jpg").resized(width: 500, height: 625)
        let right = try Image(contentsOf: GalleryFixtures.samples + "/biden.jpg").resized(width: 260, height: 590)
        let (l, r) = (left.bgrPixels, right.bgrPixels)
        var canvas = [UInt8](repeating: 0, count: 760 * 625 * 3)
        for row in 0..<625 {
            canvas.replaceSubrange((row * 760 * 3)..<(row * 760 * 3 + 1500), with: l[(row * 1500)..<(row * 1500 + 1500)])
            if row < 590 {
                canvas.replaceSubrange((row * 760 * 3 + 1500)..<(row * 760 * 3 + 2280), with: r[(row * 780)..<(row * 780 + 780)])
            }
        }
        return try Image(bgr: canvas, width: 760, height: 625)
    }

    @Test func subjectSelectionStoresOnlyTheMostProminentFace() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/pair", withIntermediateDirectories: true)
        try Data(try Self.composite().jpegData(quality: 95)).write(to: URL(fileURLWithPath: folder + "/pair/two.jpg"))
        let pipeline = GalleryFixtures.pipeline
        let obama = try pipeline.embed(
            in: Image(contentsOf: GalleryFixtures.samples + "/obama.jpg"),
            faces: pipeline.detect(in: Image(contentsOf: GalleryFixtures.samples + "/obama.jpg"))
        ).template

        let everyone = try Gallery(directory: folder + "/all", modelID: pipeline.modelID, dimension: 128)
        let allSource = try GalleryFixtures.register(everyone, root: folder + "/pair")
        #expect(try everyone.ingest(source: allSource, paths: [], pipelines: [pipeline]).faces == 2)

        let subjects = try Gallery(directory: folder + "/subject", modelID: pipeline.modelID, dimension: 128)
        let subjectSource = try GalleryFixtures.register(subjects, root: folder + "/pair")
        #expect(try subjects.ingest(source: subjectSource, paths: [], pipelines: [pipeline], options: .init(faces: .subject)).faces == 1)
        let hit = try #require(try subjects.index.search(obama.vector, k: 1).first)
        #expect(hit.score > 0.6, "the stored subject is Obama")
    }
}

/// The gallery's folder and files are its owner's alone.
@Suite struct GalleryFileModeTests {
    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func theStoreFolderIs0700AndItsFiles0600() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        _ = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        let store = folder + "/store"
        #expect(try Self.mode(store) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: store)
        for name in ["gallery.sqlite", "gallery.sqlite-wal", "gallery.sqlite-shm", "keyring.json"] {
            #expect(files.contains(name), "\(name) exists")
        }
        for name in files { #expect(try Self.mode(store + "/" + name) == 0o600, "\(name)") }

        // A store made world-readable by an earlier version is tightened when opened.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: store)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: store + "/gallery.sqlite")
        _ = try GalleryFixtures.gallery(folder)
        #expect(try Self.mode(store) == 0o700 && Self.mode(store + "/gallery.sqlite") == 0o600)
    }
}
