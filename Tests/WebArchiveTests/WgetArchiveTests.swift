import Foundation
import TestSupport
import Testing

@testable import WebArchive

/// A small site served on loopback and mirrored by `wget --warc-file` (Debian's wget,
/// a second writer Lineup did not make): every page and photo comes back with its URL
/// and bytes, among wget's own warcinfo, request, metadata and log records.
@Suite(.enabled(if: TestEnvironment.runs(whenAvailable: WgetSite.available), WgetSite.missing))
struct WgetArchiveTests {
    @Test func wgetsMirrorOfASiteReadsBack() throws {
        let site = try WgetSite(files: WgetSite.portraits, html: WgetSite.portraitsPage)
        defer { site.stop() }
        let archive = try site.mirror()
        var responses: [String: [UInt8]] = [:]
        var types: Set<String> = []
        for result in try WARCReader(path: archive) {
            let record = try result.get()
            types.insert(record.type)
            if record.type == "response", let uri = record.targetURI, let http = record.http, http.status == 200 {
                responses[uri] = http.body
            }
        }
        #expect(types.isSuperset(of: ["warcinfo", "request", "response"]))
        let page = try #require(responses[site.url("index.html")])
        let shown = HTMLImages(html: page, pageURL: site.url("index.html"))
        #expect(shown.title == "Portraits")
        #expect(Set(shown.imageURLs) == Set([site.url("photos/obama.jpg"), site.url("photos/biden.jpg")]))
        for name in ["obama.jpg", "biden.jpg"] {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: WARCFixture.root + "/.lineup/samples/" + name)))
            #expect(responses[site.url("photos/" + name)] == original, "\(name) as archived")
        }
    }
}
