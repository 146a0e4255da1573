import FaceVision
import Foundation
import Store
import Testing

@testable import Gallery

/// The archive's own export beside the photos: good rows kept, every bad row named by
/// its line, in CSV and JSON Lines alike.
struct ProvenanceManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".lineup/samples").path

    @Test func csvRowsAreKeptOrRefusedByLine() {
        let csv = #"""
            \#u{feff}file,page_url,image_url,title,captured_at,credit\#r
            obama.jpg,https://news.example/2008/11/05/speech.html,https://cdn.example/o.jpg,"Election night, Chicago",2008-11-05T04:00:00Z,"AP / ""staff"""\#r
            biden.jpg,,,,2009-01-20,\#r
            missing.jpg,https://news.example/x.html,,,,\#r
            obama2.jpg,news.example/no-scheme.html,,,,\#r
            obama3.jpg,,,,"Nov 5th",\#r
            ../outside.jpg,,,,,\#r
            obama.jpg,,,,,\#r
            only,two\#r
            """#
        let manifest = ProvenanceManifest(text: csv, jsonLines: false, root: Self.root)
        #expect(manifest.entries.keys.sorted() == ["biden.jpg", "obama.jpg"])
        let obama = manifest.entries["obama.jpg"]
        #expect(obama?.pageURL == "https://news.example/2008/11/05/speech.html")
        #expect(obama?.title == "Election night, Chicago" && obama?.credit == "AP / \"staff\"")
        #expect(obama?.capturedAt == ISO8601DateFormatter().date(from: "2008-11-05T04:00:00Z"))
        #expect(manifest.entries["biden.jpg"]?.capturedAt != nil && manifest.entries["biden.jpg"]?.pageURL == nil)
        #expect(manifest.problems.map(\.line) == [4, 5, 6, 7, 8, 9])
        let messages = manifest.problems.map(\.message)
        #expect(messages[0].contains("no file missing.jpg"))
        #expect(messages[1].contains("page_url") && messages[1].contains("not an absolute http"))
        #expect(messages[2].contains("captured_at 'Nov 5th'"))
        #expect(messages[3].contains("not inside the source's root"))
        #expect(messages[4].contains("named by an earlier row"))
        #expect(messages[5].contains("2 fields where the header has 6"))
    }

    @Test func jsonLinesAreCheckedTheSameWay() {
        let lines = #"""
            {"file": "obama.jpg", "page_url": "https://news.example/a.html", "title": "A"}

            {"file": "biden.jpg", "title": "tab\there"}
            {"file": "obama2.jpg", "photographer": "someone"}
            {"file": "obama3.jpg", "captured_at": 2008}
            not json
            """#
        let manifest = ProvenanceManifest(text: lines, jsonLines: true, root: Self.root)
        #expect(manifest.entries.keys.sorted() == ["obama.jpg"])
        #expect(manifest.problems.map(\.line) == [3, 4, 5, 6])
        #expect(manifest.problems[0].message.contains("control character"))
        #expect(manifest.problems[1].message.contains("unknown column 'photographer'"))
        #expect(manifest.problems[2].message.contains("captured_at is not a string"))
    }

    @Test func anUnclosedQuoteIsAProblemNotASilentMerge() {
        let manifest = ProvenanceManifest(text: "file,title\nobama.jpg,\"never closed\n", jsonLines: false, root: Self.root)
        #expect(manifest.problems.contains { $0.message.contains("not closed") })
    }
}

/// A manifest beside a folder source's photos, through ingest: good rows become the
/// photos' places of publication, bad rows errors of the run naming their lines, and a
/// corrected manifest updates the provenance of photos already stored, faces untouched.
struct ManifestIngestTests {
    static func candidate(_ name: String, folder: String, in gallery: Gallery) throws -> Gallery.Candidate {
        let result = try gallery.search(
            image: try Image(contentsOf: folder + "/photos/" + name), pipeline: GalleryFixtures.pipeline, top: 1, calibration: nil)
        let first = try #require(result.candidates.first)
        #expect(first.originURI == name)
        return first
    }

    @Test func manifestRowsBecomePlacesAndACorrectedManifestUpdatesThem() throws {
        let folder = try GalleryFixtures.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gallery = try GalleryFixtures.gallery(folder)
        let source = try GalleryFixtures.register(gallery, root: folder + "/photos")
        try """
        file,page_url,image_url,title,captured_at,credit
        obama.jpg,https://news.example/2008/speech.html,https://cdn.example/o.jpg,Election night,2008-11-05T04:00:00Z,AP
        biden.jpg,,https://cdn.example/b.jpg,,,
        missing.jpg,https://news.example/x.html,,,,
        nested/obama3.jpg,news.example/no-scheme.html,,,,
        obama2.jpg,,,,Nov 5th,

        """.write(toFile: folder + "/photos/lineup-manifest.csv", atomically: true, encoding: .utf8)

        let first = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline])
        #expect(first.filesIngested == 4 && first.faces == 4, "the photos are taken whatever their rows say")
        let problems = first.errors.filter { $0.path == "lineup-manifest.csv" }.map(\.message)
        #expect(problems.count == 3 && first.errors.count == 3, "\(first.errors)")
        #expect(problems.contains { $0.hasPrefix("manifest line 4:") && $0.contains("no file missing.jpg") })
        #expect(problems.contains { $0.hasPrefix("manifest line 5:") && $0.contains("page_url") })
        #expect(problems.contains { $0.hasPrefix("manifest line 6:") && $0.contains("captured_at") })

        let obama = try Self.candidate("obama.jpg", folder: folder, in: gallery).published
        #expect(obama.count == 1 && obama.first?.pageURL == "https://news.example/2008/speech.html")
        #expect(obama.first?.pageTitle == "Election night" && obama.first?.credit == "AP" && obama.first?.recordedFrom == .manifest)
        #expect(obama.first?.capturedAt == ISO8601DateFormatter().date(from: "2008-11-05T04:00:00Z"))
        #expect(try Self.candidate("biden.jpg", folder: folder, in: gallery).published.map(\.imageURL) == ["https://cdn.example/b.jpg"])
        #expect(try Self.candidate("nested/obama3.jpg", folder: folder, in: gallery).published.isEmpty, "its row was refused")

        // Corrected, as JSON Lines named on the command line: obama's page changes,
        // obama3's row is now good, biden's is gone.
        try """
        {"file": "obama.jpg", "page_url": "https://news.example/2008/11/05/speech.html", "title": "Election night, Chicago"}
        {"file": "nested/obama3.jpg", "page_url": "https://news.example/2009/inauguration.html"}
        {"file": "obama2.jpg"}
        """.write(toFile: folder + "/corrected.jsonl", atomically: true, encoding: .utf8)
        let counts = try gallery.store.counts()
        var options = Gallery.IngestOptions()
        options.manifest = folder + "/corrected.jsonl"
        let second = try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline], options: options)
        #expect(second.filesSkipped == 4 && second.filesIngested == 0 && second.errors.isEmpty, "\(second.errors)")
        #expect(second.provenanceUpdated == 3, "obama, obama3 and biden changed; obama2 had none and has none")
        #expect(try gallery.store.counts() == counts, "no face twice")
        let corrected = try Self.candidate("obama.jpg", folder: folder, in: gallery).published
        #expect(corrected.map(\.pageURL) == ["https://news.example/2008/11/05/speech.html"] && corrected.first?.credit == nil)
        #expect(
            try Self.candidate("nested/obama3.jpg", folder: folder, in: gallery).published.map(\.pageURL)
                == ["https://news.example/2009/inauguration.html"])
        #expect(try Self.candidate("biden.jpg", folder: folder, in: gallery).published.isEmpty)

        // A manifest named that is not there stops the run before it starts.
        options.manifest = folder + "/nowhere.csv"
        #expect(throws: StoreError.invalid("no manifest \(folder)/nowhere.csv")) {
            try gallery.ingest(source: source, paths: [], pipelines: [GalleryFixtures.pipeline], options: options)
        }
    }
}
