import FaceVision
import Foundation
import Store
import Synchronization
import TestSupport
import Testing

@testable import Gallery

/// Web archive sources ingested from WARC files other writers made (warcio, wget) of
/// pages showing shared LFW photos: every picture found again by search carries the
/// pages that showed it, with the titles the test wrote, and every bad record is an
/// error of the run at the offset its writer put it.
@Suite(
    .enabled(if: TestEnvironment.runs(whenAvailable: GalleryFixtures.hasLFW && WARCFixture.available), WARCFixture.missing))
struct WebArchiveIngestTests {
    /// Photos of three people with at least two photos each, chosen by name order.
    static let people: [[String]] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: GalleryFixtures.lfw).sorted()) ?? []
        return names.lazy.compactMap { name -> [String]? in
            let folder = GalleryFixtures.lfw + "/" + name
            let photos = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".jpg") }.sorted()
            return photos.count >= 2 ? photos.map { folder + "/" + $0 } : nil
        }.prefix(3).map { $0 }
    }()

    static func webArchiveSource(_ gallery: Gallery, root: String) throws -> Source {
        try gallery.store.addSource(
            Source(
                name: "newsroom", kind: .webArchive, root: root, legalBasis: .legitimateInterest,
                specialCategoryCondition: .madePublic, jurisdiction: "FR", retentionDays: 365, createdBy: "test"))
    }

    /// Searches with a photo the archive holds; its own picture comes first.
    static func candidate(for photo: String, in gallery: Gallery) throws -> Gallery.Candidate {
        let result = try gallery.search(image: try Image(contentsOf: photo), pipeline: GalleryFixtures.pipeline, top: 1, calibration: nil)
        let first = try #require(result.candidates.first)
        #expect(first.score > 0.99, "the archived photo itself")
        return first
    }

    @Test func picturesCarryEveryPageThatShowedThemAndBadRecordsAreErrorsWithOffsets() throws {
        let (x, y, z) = (Self.people[0], Self.people[1], Self.people[2])
        let records: [[String: String]] = [
            [
                "kind": "page", "uri": "https://news.example/2024/alpha.html",
                "html": """
                <html><head><title>Alpha   story</title><base href="/media/"></head><body>
                <img src="x1.jpg"><picture><source srcset="../gallery/y1.jpg 2x"><img src="missing.jpg"></picture></body></html>
                """,
            ],
            [
                "kind": "page", "uri": "https://news.example/2024/beta.html",
                "html": """
                <html><head><title>Beta story</title><meta property="og:image" content="https://cdn.example/x/x2.jpg"></head>
                <body><img src="https://news.example/media/x1.jpg#top"></body></html>
                """,
            ],
            ["kind": "image", "uri": "https://news.example/media/x1.jpg", "file": x[0]],
            ["kind": "image", "uri": "https://news.example/gallery/y1.jpg", "file": y[0]],
            ["kind": "truncated", "uri": "https://news.example/media/z1.jpg", "file": z[0]],
            ["kind": "image", "uri": "https://cdn.example/x/x2.jpg", "file": x[1]],
            ["kind": "image", "uri": "https://news.example/media/x2.jpg", "file": x[1]],
            ["kind": "damaged", "uri": "https://news.example/media/z2.jpg", "file": z[1]],
            [
                "kind": "image", "uri": "https://news.example/media/notes.png", "file": WARCFixture.root + "/scripts/warc_fixture.py",
                "content_type": "image/png",
            ],
            ["kind": "page", "uri": "https://mirror.example/index.html", "html": "<title>Mirror</title><img src='/x1.jpg'>"],
            ["kind": "revisit", "uri": "https://mirror.example/x1.jpg", "of": "https://news.example/media/x1.jpg"],
        ]
        let (archive, offsets) = try WARCFixture.write(records: records, gzip: true, version: "1.1")
        let root = URL(fileURLWithPath: archive).deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let gallery = try GalleryFixtures.gallery(root)
        let source = try Self.webArchiveSource(gallery, root: root)

        let summary = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(summary.unit == "pictures")
        #expect(summary.filesSeen == 4 && summary.filesIngested == 3, "x1, y1, x2 (one payload, two addresses), and the non-image")
        let errors = summary.errors.map(\.message)
        for (index, words) in [(4, "WARC-Truncated"), (7, "damaged gzip member"), (8, "not a supported image")] {
            #expect(
                errors.contains { $0.contains("record at offset \(offsets[index])") && $0.contains(words) }, "record \(index): \(errors) \(offsets)")
        }
        #expect(summary.errors.count == 3 && summary.errors.allSatisfy { $0.path == "archive.warc.gz" }, "\(summary.errors) \(offsets)")

        let x1 = try Self.candidate(for: x[0], in: gallery)
        #expect(x1.originURI == "https://news.example/media/x1.jpg")
        #expect(x1.archiveRecord == Gallery.ArchiveRecord(path: "archive.warc.gz", offset: Int64(offsets[2])))
        let x1Pages = x1.published.map { [$0.pageURL ?? "", $0.pageTitle ?? "", $0.imageURL ?? ""] }
        #expect(
            x1Pages == [
                ["https://mirror.example/index.html", "Mirror", "https://mirror.example/x1.jpg"],
                ["https://news.example/2024/alpha.html", "Alpha story", "https://news.example/media/x1.jpg"],
                ["https://news.example/2024/beta.html", "Beta story", "https://news.example/media/x1.jpg"],
            ], "two pages, and a mirror's page through the revisit")
        #expect(x1.published.allSatisfy { $0.capturedAt != nil && $0.recordedFrom == .webArchive })
        #expect(try gallery.reviewCrop(of: x1) != nil, "the crop is read back from the record")

        let y1 = try Self.candidate(for: y[0], in: gallery)
        #expect(y1.published.map(\.pageURL) == ["https://news.example/2024/alpha.html"], "a relative srcset under <base>")

        let x2 = try Self.candidate(for: x[1], in: gallery)
        #expect(Set(x2.published.map(\.imageURL)) == ["https://cdn.example/x/x2.jpg", "https://news.example/media/x2.jpg"])
        #expect(x2.published.first { $0.imageURL == "https://cdn.example/x/x2.jpg" }?.pageTitle == "Beta story", "og:image")
        #expect(x2.published.first { $0.imageURL == "https://news.example/media/x2.jpg" }?.pageURL == nil, "shown on no page")

        let counts = try gallery.store.counts()
        let again = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(again.filesSkipped == 3 && again.filesIngested == 0 && again.provenanceUpdated == 0)
        #expect(try gallery.store.counts() == counts, "nothing twice")
        #expect(try Self.candidate(for: x[0], in: gallery).published.count == 3)

        // Erasing a picture takes its places of publication with it; the archive read
        // again neither brings the face back nor gives its places to anything.
        let before = try gallery.store.database.read { try $0.count(Publication.self) }
        _ = try gallery.store.database.write { try GalleryStore.deleteFaces([x1.faceID], erasedAt: Date(), in: $0) }
        #expect(try gallery.store.database.read { try $0.count(Publication.self) } == before - 3)
        #expect(try gallery.store.danglingReferences().values.allSatisfy { $0 == 0 })
        let afterErasure = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(afterErasure.filesSkipped == 3 && afterErasure.faces == 0 && afterErasure.provenanceUpdated == 0)
        #expect(try gallery.store.database.read { try $0.count(Publication.self) } == before - 3)
    }

    @Test func aLaterCrawlAddsItsPageToThePictureAnEarlierRunStored() throws {
        let x = Self.people[0]
        let first: [[String: String]] = [["kind": "image", "uri": "https://news.example/x1.jpg", "file": x[0]]]
        let (archive, _) = try WARCFixture.write(records: first, gzip: false, version: "1.0")
        let root = URL(fileURLWithPath: archive).deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let gallery = try GalleryFixtures.gallery(root)
        let source = try Self.webArchiveSource(gallery, root: root)
        #expect(try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline]).filesIngested == 1)
        #expect(try Self.candidate(for: x[0], in: gallery).published.map(\.pageURL) == [nil])

        // A later crawl: the image again (same payload) and a page showing it.
        let later: [[String: String]] = [
            ["kind": "image", "uri": "https://news.example/x1.jpg", "file": x[0]],
            ["kind": "page", "uri": "https://news.example/later.html", "html": "<title>Later</title><img src='x1.jpg'>"],
        ]
        let (second, _) = try WARCFixture.write(records: later, gzip: true, version: "1.1")
        try FileManager.default.moveItem(atPath: second, toPath: root + "/later.warc.gz")
        let told = Mutex<[Gallery.IngestProgress]>([])
        let again = try gallery.ingest(source: source, paths: ["later.warc.gz"], pipelines: [GalleryFixtures.pipeline]) { progress in
            told.withLock { $0.append(progress) }
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: root + "/later.warc.gz")[.size] as? Int)
        let reading = told.withLock { $0 }.filter { $0.archiveBytesTotal > 0 }
        #expect(reading.last?.archiveBytesRead == Int64(size) && reading.last?.archiveBytesTotal == Int64(size), "the first pass tells its bytes")
        let last = told.withLock { $0 }.last
        #expect(last?.filesDone == 1 && last?.filesTotal == 1 && last?.archiveBytesTotal == 0, "then its pictures")
        #expect(again.filesSkipped == 1 && again.provenanceUpdated == 1 && again.faces == 0 && again.errors.isEmpty)
        let pages = try Self.candidate(for: x[0], in: gallery).published.map(\.pageURL)
        #expect(pages == ["https://news.example/later.html", nil])

        // A mirror's crawl that only revisits the image (its payload not written again):
        // the original is the picture the first run stored.
        let mirror: [[String: String]] = [
            [
                "kind": "revisit", "uri": "https://mirror.example/x1.jpg", "of": "https://news.example/x1.jpg",
                "digest": "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "date": "2024-05-01T09:30:00Z",
            ],
            ["kind": "page", "uri": "https://mirror.example/index.html", "html": "<title>Mirror</title><img src='x1.jpg'>"],
            [
                "kind": "revisit", "uri": "https://mirror.example/gone.jpg", "of": "https://news.example/gone.jpg", "digest": "sha1:BBBB",
                "date": "2024-05-01T09:30:00Z",
            ],
        ]
        let (third, mirrorOffsets) = try WARCFixture.write(records: mirror, gzip: true, version: "1.1")
        try FileManager.default.moveItem(atPath: third, toPath: root + "/mirror.warc.gz")
        let revisited = try gallery.ingest(source: source, paths: ["mirror.warc.gz"], pipelines: [GalleryFixtures.pipeline])
        #expect(revisited.filesSeen == 0 && revisited.provenanceUpdated == 1 && revisited.faces == 0)
        #expect(
            revisited.errors.map(\.message) == [
                "record at offset \(mirrorOffsets[2]): a revisit of https://news.example/gone.jpg whose original record is in none of "
                    + "the archives read and no picture of the source"
            ])
        let mirrored = try Self.candidate(for: x[0], in: gallery).published
        #expect(mirrored.map(\.pageURL) == ["https://mirror.example/index.html", "https://news.example/later.html", nil])
        #expect(mirrored.first?.imageURL == "https://mirror.example/x1.jpg" && mirrored.first?.pageTitle == "Mirror")
    }

    @Test func retemplatingReadsEachPictureAgainAtItsRecord() throws {
        let x = Self.people[0], y = Self.people[1]
        let records: [[String: String]] = [
            ["kind": "image", "uri": "https://news.example/x.jpg", "file": x[0]],
            ["kind": "resource", "uri": "https://news.example/y.jpg", "file": y[0], "content_type": "image/jpeg"],
        ]
        let (archive, _) = try WARCFixture.write(records: records, gzip: true, version: "1.1")
        let root = URL(fileURLWithPath: archive).deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let singlePass = AlignmentAndFusionTests.singlePass, ensemble = AlignmentAndFusionTests.ensemble
        let old = try Gallery(directory: root + "/store", modelID: singlePass.modelID, dimension: 128)
        let source = try Self.webArchiveSource(old, root: root)
        #expect(try old.ingest(source: source, paths: [], pipelines: [singlePass]).faces == 2)
        let retemplating = try Gallery(directory: root + "/store", modelID: ensemble.modelID, dimension: 128, retemplating: true)
        let summary = try retemplating.retemplate(pipelines: [ensemble])
        #expect(summary.faces == 2 && summary.finished && summary.errors.isEmpty, "\(summary.errors)")
        let gallery = try Gallery(directory: root + "/store", modelID: ensemble.modelID, dimension: 128)
        let found = try gallery.search(image: try Image(contentsOf: y[0]), pipeline: ensemble, top: 1, calibration: nil)
        #expect(found.candidates.first?.originURI == "https://news.example/y.jpg" && (found.candidates.first?.score ?? 0) > 0.99)
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: WgetSite.available), WgetSite.missing))
    func wgetsMirrorOfASiteIngestsWithItsPage() throws {
        let x = Self.people[0], y = Self.people[1]
        let site = try WgetSite(
            files: ["photos/x.jpg": x[0], "photos/y.jpg": y[0]],
            html: "<!doctype html><title>Staff portraits</title><img src='photos/x.jpg'><img srcset='/photos/y.jpg 1x'>")
        defer { site.stop() }
        let archive = try site.mirror()
        let gallery = try GalleryFixtures.gallery(site.folder.path)
        let source = try Self.webArchiveSource(gallery, root: site.folder.path)
        let summary = try gallery.ingest(source: source, paths: [archive], pipelines: [GalleryFixtures.pipeline])
        #expect(summary.filesIngested == 2 && summary.errors.isEmpty, "\(summary.errors)")
        for (photo, address) in [(x[0], "photos/x.jpg"), (y[0], "photos/y.jpg")] {
            let candidate = try Self.candidate(for: photo, in: gallery)
            #expect(candidate.originURI == site.url(address))
            #expect(candidate.published.map(\.pageURL) == [site.url("index.html")])
            #expect(candidate.published.first?.pageTitle == "Staff portraits")
        }
    }
}
