import Foundation
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
