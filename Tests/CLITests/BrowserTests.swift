import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Headless Chromium through the web interface of a real `lineup serve`: sign in,
/// choose a photo, search, see the candidates, open one; then the public opt-out
/// form and its status. Screenshots of each step go to .lineup/screenshots/browser.
@Suite(.serialized) struct BrowserTests {
    static let python = CLITests.root.appendingPathComponent(".lineup/venv-test/bin/python").path
    static let chromium = "/usr/bin/chromium", driver = "/usr/bin/chromedriver"
    static let ready =
        FileManager.default.isExecutableFile(atPath: chromium) && FileManager.default.isExecutableFile(atPath: driver)
        && FileManager.default.isExecutableFile(atPath: python)

    @Test(
        .enabled(if: TestEnvironment.runs(whenAvailable: ready), "Chromium, chromedriver or Selenium is not installed: scripts/test.sh installs them")
    )
    func searchAndTheOptOutFormInARealBrowser() async throws {
        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store", photos = folder + "/photos"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
            try FileManager.default.copyItem(atPath: CLITests.samples + "/" + name, toPath: photos + "/" + name)
        }
        let tokens = try CLITests.accounts(store)
        let added = try CLITests.lineup(
            "source", "add", "portraits", "--store", store, "--root", photos, "--basis", "public-task",
            "--condition", "substantial-public-interest", "--jurisdiction", "GB",
            "--retention-days", "30", "--collected", "own-records", "--token", tokens.admin)
        #expect(added.status == 0, "\(added.stderr)")
        let ingested = try CLITests.lineup("ingest", "portraits", "--store", store, "--token", tokens.admin)
        #expect(ingested.status == 0, "\(ingested.stderr)")

        let port = Int.random(in: 20_000...60_000)
        let server = Process()
        server.executableURL = CLITests.root.appendingPathComponent(".build/debug/lineup")
        server.arguments = ["serve", "--store", store, "--port", String(port), "--workers", "1"]
        server.currentDirectoryURL = CLITests.root
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        var healthy = false
        for _ in 0..<120 where !healthy {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/api/v1/health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                healthy = true
            } else {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        try #require(healthy, "lineup serve did not answer on \(base)")

        let screenshots = CLITests.root.appendingPathComponent(".lineup/screenshots/browser").path
        try? FileManager.default.removeItem(atPath: screenshots)
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: Self.python)
        browser.arguments = [
            CLITests.root.appendingPathComponent("scripts/browser_flow.py").path, "--url", base,
            "--token", tokens.investigator, "--probe", CLITests.samples + "/obama2.jpg",
            "--opt-out-photo", CLITests.samples + "/obama3.jpg", "--screenshots", screenshots,
        ]
        let output = Pipe()
        browser.standardOutput = output
        browser.standardError = output
        try browser.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        browser.waitUntilExit()
        #expect(browser.terminationStatus == 0, "\(printed)")
        #expect(printed.contains("all 7 steps ok"), "\(printed)")
        for step in ["01-sign-in", "02-faces-found", "03-candidates", "04-candidate", "05-opt-out-form", "06-opt-out-sent", "07-request-status"] {
            #expect(FileManager.default.fileExists(atPath: screenshots + "/" + step + ".png"), "screenshot \(step)")
        }
    }
}
