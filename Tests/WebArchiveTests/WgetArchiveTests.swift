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
        let site = try WgetSite()
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

/// A folder served by Python's http.server on a free loopback port.
final class WgetSite {
    static let wget = "/usr/bin/wget"
    static let available = WARCFixture.available && FileManager.default.isExecutableFile(atPath: wget)
    static let missing: Comment = "wget or the test Python environment is missing; scripts/test.sh installs both"

    let folder: URL
    let port: Int
    private let server: Process

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-site-\(UUID().uuidString)")
        let photos = folder.appendingPathComponent("site/photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for name in ["obama.jpg", "biden.jpg"] {
            try FileManager.default.copyItem(
                atPath: WARCFixture.root + "/.lineup/samples/" + name, toPath: photos.appendingPathComponent(name).path)
        }
        let html = """
            <!doctype html><html><head><title>Portraits</title></head>
            <body><img src="photos/obama.jpg"><picture><img srcset="/photos/biden.jpg 1x"></picture></body></html>
            """
        try html.write(to: folder.appendingPathComponent("site/index.html"), atomically: true, encoding: .utf8)
        port = Int.random(in: 20_000..<40_000)
        server = Process()
        server.executableURL = URL(fileURLWithPath: WARCFixture.python)
        server.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", folder.appendingPathComponent("site").path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // Wait until it answers.
        for _ in 0..<100 {
            if (try? Data(contentsOf: URL(string: url("index.html"))!)) != nil { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw CocoaError(.fileReadUnknown)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/" + path }

    /// Mirrors the site with its page requisites; returns the .warc.gz path.
    func mirror() throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.wget)
        process.currentDirectoryURL = folder
        process.arguments = ["--quiet", "--page-requisites", "--warc-file=mirror", "--no-warc-keep-log", "-P", "download", url("index.html")]
        try process.run()
        process.waitUntilExit()
        // wget exits non-zero when any requisite failed; the archive is what is checked.
        return folder.appendingPathComponent("mirror.warc.gz").path
    }

    /// Kills the server: SIGKILL, because a child can inherit a signal mask that
    /// blocks SIGTERM from the test runner's thread.
    func stop() {
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }
}
