import Foundation
import Testing

@testable import FaceVision

/// Real photographs for tests: the sample photos the setup script takes from the
/// `face_recognition` source package (always present after setup), and the shared
/// LFW and detection photos beside the checkout (present on development machines
/// and in CI; tests that need them are skipped, saying so, when they are absent).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let samples = root.appendingPathComponent(".lineup/samples").path
    static func sample(_ name: String) -> String { samples + "/" + name }

    static let shared: String =
        ProcessInfo.processInfo.environment["LINEUP_SHARED_FACES"]
        ?? root.deletingLastPathComponent().appendingPathComponent("shared/faces").path
    static let hasShared = FileManager.default.fileExists(atPath: shared + "/detection/testing.xml")
    static let sharedMissing: Comment = "shared face photos not found beside the checkout (set LINEUP_SHARED_FACES)"

    static let models = ModelDirectory(path: root.appendingPathComponent(".lineup/models").path)

    /// One pipeline per test process: loading the networks takes a moment.
    static let pipeline: FacePipeline = {
        guard FileManager.default.fileExists(atPath: models.embedderPath) else {
            fatalError("models missing: run scripts/setup.sh (the README's test command does)")
        }
        return try! FacePipeline(models: models)
    }()

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-tests-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The template of the most prominent face of a photo file.
    static func template(_ path: String, pipeline: FacePipeline = pipeline) throws -> FaceTemplate {
        let image = try pipeline.loadImage(path)
        return try pipeline.embed(in: image, faces: pipeline.detectProbe(in: image)).template
    }
}
