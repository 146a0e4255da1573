import Foundation
import Testing

/// A scratch gallery made with the `lineup` command as a user would (the accounts
/// of `CLITests.accounts`, and the sample portraits ingested as the source
/// `portraits`), and a real `lineup serve` on it on a random loopback port. The
/// server stops and the folder goes when the value does.
final class ServedGallery {
    let folder: String
    let store: String
    let tokens: CLITests.Tokens
    let port: Int
    private let server: Process

    /// `sources` are further folders (made empty) registered before the server starts.
    init(portraits: Bool = true, sources: [String] = [], serveArguments: [String] = []) throws {
        folder = try CLITests.scratch()
        store = folder + "/store"
        tokens = try CLITests.accounts(store)
        for name in (portraits ? ["portraits"] : []) + sources {
            let root = folder + "/" + name
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            if name == "portraits" {
                for photo in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
                    try FileManager.default.copyItem(atPath: CLITests.samples + "/" + photo, toPath: root + "/" + photo)
                }
            }
            let added = try CLITests.lineup(
                "source", "add", name, "--store", store, "--root", root, "--basis", "public-task",
                "--condition", "substantial-public-interest", "--jurisdiction", "GB",
                "--retention-days", "30", "--collected", "own-records", "--token", tokens.admin)
            #expect(added.status == 0, "\(added.stderr)")
        }
        if portraits { #expect(try CLITests.lineup("ingest", "portraits", "--store", store, "--token", tokens.admin).status == 0) }
        port = Int.random(in: 20_000...60_000)
        server = Process()
        server.executableURL = CLITests.root.appendingPathComponent(".build/debug/lineup")
        server.arguments = ["serve", "--store", store, "--port", String(port), "--workers", "1"] + serveArguments
        server.currentDirectoryURL = CLITests.root
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
    }

    deinit {
        server.terminate()
        server.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs `body` on a thread of its own, off Swift's cooperative pool, once the
    /// server answers: requests timed there depend on nothing but the server.
    func onThread<T: Sendable>(_ body: @escaping @Sendable (PlainHTTP) throws -> T) async throws -> T {
        let client = PlainHTTP(port: port)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try client.waitForHealth()
                        return try body(client)
                    })
            }
        }
    }
}
