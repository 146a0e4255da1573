import Foundation
import Testing

/// Web archives written by writers Lineup did not make: warcio (scripts/warc_fixture.py)
/// and wget mirroring a site served on loopback.
public enum WARCFixture {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    public static let python = root + "/.lineup/venv-test/bin/python"
    public static let available = FileManager.default.isExecutableFile(atPath: python)
    public static let missing: Comment = "warcio's environment (.lineup/venv-test) is missing; scripts/test.sh makes it"

    /// Writes the records; returns the archive's path and where warcio wrote each record.
    public static func write(records: [[String: String]], gzip: Bool, version: String) throws -> (path: String, offsets: [Int]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-warc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent(gzip ? "archive.warc.gz" : "archive.warc").path
        let spec: [String: Any] = ["output": output, "gzip": gzip, "version": version, "records": records]
        let specPath = folder.appendingPathComponent("spec.json")
        try JSONSerialization.data(withJSONObject: spec).write(to: specPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root + "/scripts/warc_fixture.py", specPath.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let answer = try JSONSerialization.jsonObject(with: printed) as? [String: [Int]], let offsets = answer["offsets"]
        else { throw CocoaError(.fileWriteUnknown) }
        return (output, offsets)
    }
}

/// A folder served by Python's http.server on a free loopback port.
public final class WgetSite {
    public static let wget = "/usr/bin/wget"
    public static let available = WARCFixture.available && FileManager.default.isExecutableFile(atPath: wget)
    public static let missing: Comment = "wget or the test Python environment is missing; scripts/test.sh installs both"

    public let folder: URL
    public let port: Int
    private let server: Process

    /// The two sample portraits and a page that shows them.
    public static let portraits = [
        "photos/obama.jpg": WARCFixture.root + "/.lineup/samples/obama.jpg", "photos/biden.jpg": WARCFixture.root + "/.lineup/samples/biden.jpg",
    ]
    public static let portraitsPage = """
        <!doctype html><html><head><title>Portraits</title></head>
        <body><img src="photos/obama.jpg"><picture><img srcset="/photos/biden.jpg 1x"></picture></body></html>
        """

    /// Serves `index.html` (the `html` given) and `files` (path in the site: file to copy).
    public init(files: [String: String], html: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-site-\(UUID().uuidString)")
        let site = folder.appendingPathComponent("site")
        for (path, original) in files {
            let target = site.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: original, toPath: target.path)
        }
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try html.write(to: site.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
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

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)/" + path }

    /// Mirrors the site with its page requisites; returns the .warc.gz path.
    public func mirror() throws -> String {
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
    public func stop() {
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }
}
