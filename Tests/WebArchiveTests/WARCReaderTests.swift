import Foundation
import TestSupport
import Testing

@testable import WebArchive

/// Web archives written by warcio (scripts/warc_fixture.py), not by Lineup, of the
/// sample photos: every good record read back whole, every bad one reported at the
/// offset warcio wrote it at, and reading going on after each.
@Suite(.enabled(if: TestEnvironment.runs(whenAvailable: WARCFixture.available), WARCFixture.missing))
struct WARCReaderTests {
    static let photos = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"].map { WARCFixture.root + "/.lineup/samples/" + $0 }

    static let records: [[String: String]] = [
        [
            "kind": "page", "uri": "https://news.example/2024/a.html",
            "html":
                "<html><head><title>A   page &amp; more</title><base href='/img/'></head><body><img src='x.jpg' srcset='y.jpg 2x, /z.jpg 3x'></body></html>",
        ],
        ["kind": "image", "uri": "https://news.example/img/x.jpg", "file": photos[0]],
        ["kind": "revisit", "uri": "https://news.example/copy.jpg", "of": "https://news.example/img/x.jpg"],
        ["kind": "truncated", "uri": "https://news.example/t.jpg", "file": photos[1]],
        ["kind": "baddigest", "uri": "https://news.example/b.jpg", "file": photos[2]],
        ["kind": "damaged", "uri": "https://news.example/d.jpg", "file": photos[3]],
        ["kind": "resource", "uri": "file:///archive/r.jpg", "file": photos[0], "content_type": "image/jpeg"],
        ["kind": "cutoff", "uri": "https://news.example/c.jpg", "file": photos[1]],
    ]

    @Test func aGzippedArchiveReadsBackWithEveryProblemAtItsOffset() throws {
        let (path, offsets) = try WARCFixture.write(records: Self.records, gzip: true, version: "1.1")
        let results = Array(try WARCReader(path: path))
        #expect(results.count == Self.records.count)
        guard results.count == Self.records.count else { return }

        let page = try results[0].get()
        #expect(page.type == "response" && page.offset == offsets[0] && page.version == "WARC/1.1")
        let response = try #require(page.http)
        #expect(response.status == 200 && response.mediaType == "text/html")
        let images = HTMLImages(html: response.body, pageURL: try #require(page.targetURI))
        #expect(images.title == "A page & more")
        #expect(images.imageURLs == ["https://news.example/img/x.jpg", "https://news.example/img/y.jpg", "https://news.example/z.jpg"])

        let image = try results[1].get()
        #expect(image.targetURI == "https://news.example/img/x.jpg" && image.offset == offsets[1])
        #expect(image.http?.body == [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.photos[0]))))
        #expect(image.http?.mediaType == "image/jpeg" && image.date != nil)

        let revisit = try results[2].get()
        #expect(revisit.type == "revisit" && revisit.refersToTargetURI == "https://news.example/img/x.jpg")
        #expect(revisit.payloadDigest == image.payloadDigest && revisit.refersToDate == image.date)

        func problem(_ index: Int, _ words: String) {
            guard case .failure(let problem) = results[index] else {
                Issue.record("record \(index) should be a problem")
                return
            }
            #expect(problem.offset == offsets[index], "record \(index): \(problem)")
            #expect(problem.reason.contains(words), "record \(index): \(problem)")
        }
        problem(3, "WARC-Truncated")
        problem(4, "WARC-Payload-Digest")
        problem(5, "gzip member")
        let resource = try results[6].get()
        #expect(resource.type == "resource" && resource.offset == offsets[6])
        #expect(resource.block == [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.photos[0]))))
        problem(7, "cut off")
    }

    @Test func aPlainWARC10ArchiveReadsTheSame() throws {
        let plain = Self.records.filter { $0["kind"] != "damaged" }
        let (path, offsets) = try WARCFixture.write(records: plain, gzip: false, version: "1.0")
        let results = Array(try WARCReader(path: path))
        #expect(results.count == plain.count)
        let kinds = results.map { result -> String in
            switch result {
            case .success(let record): "\(record.type)@\(record.offset)"
            case .failure(let problem): "problem@\(problem.offset)"
            }
        }
        #expect(
            kinds == [
                "response@\(offsets[0])", "response@\(offsets[1])", "revisit@\(offsets[2])", "problem@\(offsets[3])",
                "problem@\(offsets[4])", "resource@\(offsets[5])", "problem@\(offsets[6])",
            ])
        #expect((try? results[1].get())?.version == "WARC/1.0")
        #expect((try? results[1].get())?.targetURI == "https://news.example/img/x.jpg")
    }

    /// Thousands of small records, several MiB of them: every one at warcio's offset,
    /// across the reader's buffer compactions, gzip'd and plain.
    @Test(arguments: [true, false]) func manySmallRecordsAllReadBack(gzip: Bool) throws {
        let pages = (0..<3000).map { index in
            ["kind": "page", "uri": "https://site.example/\(index).html", "html": "<title>\(index)</title>" + String(repeating: "x", count: 1200)]
        }
        let (path, offsets) = try WARCFixture.write(records: pages, gzip: gzip, version: "1.1")
        let records = try Array(WARCReader(path: path)).map { try $0.get() }
        #expect(records.map(\.offset) == offsets)
        #expect(records.map(\.targetURI) == pages.map(\.["uri"]))
        #expect(records.last.flatMap { $0.http.map { HTMLImages(html: $0.body, pageURL: "https://site.example/").title } } == "2999")
    }

    @Test func aFileThatIsNoArchiveIsAProblemNotACrash() throws {
        let results = Array(try WARCReader(path: Self.photos[0]))
        #expect(!results.isEmpty)
        #expect(results.allSatisfy { if case .failure = $0 { true } else { false } })
        #expect(throws: WebArchiveError.unreadable(path: "/nonexistent.warc")) { _ = try WARCReader(path: "/nonexistent.warc") }
    }
}

/// Runs scripts/warc_fixture.py with the test environment's Python (scripts/test.sh installs warcio there).
