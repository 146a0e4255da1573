import COpenVINO
import CVision
import Foundation
import Synchronization

/// The engine that runs Lineup's ONNX networks. Both run the same model files in
/// 32-bit floats and give the same templates to within rounding (the test suite checks
/// it), so the engine is not part of a template's model id.
public enum InferenceEngine: String, Sendable, Codable, CaseIterable {
    /// OpenVINO's CPU plugin: kernels chosen for the processor at run time (AVX2,
    /// AVX-512, VNNI), the fastest measured (see the README's "Speed").
    case openVINO = "openvino"
    /// OpenCV's own dnn module: no other dependency, 2–3× slower.
    case openCV = "opencv"

    /// OpenVINO, unless `LINEUP_ENGINE` names the other (the command line refuses a
    /// value that names neither).
    public static var `default`: InferenceEngine {
        ProcessInfo.processInfo.environment["LINEUP_ENGINE"].flatMap(InferenceEngine.init(rawValue:)) ?? .openVINO
    }

    /// What runs the networks, for reports: name, version and precision.
    public var summary: String {
        switch self {
        case .openVINO: "OpenVINO \(OpenVINO.version) CPU plugin, f32"
        case .openCV: "OpenCV \(OpenCV.version) dnn"
        }
    }

    /// Loads the ONNX model at `path` into this engine.
    func load(path: String) throws(VisionError) -> NeuralNetwork {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .modelNotFound(path: path, hint: ModelDirectory.setupHint)
        }
        switch self {
        case .openVINO: return try .openVINO(path: path)
        case .openCV: return try .openCV(path: path)
        }
    }
}

/// An ONNX model loaded into an engine (`NeuralNetwork+OpenVINO`, `NeuralNetwork+OpenCV`).
///
/// A loaded network keeps per-run state, so calls are serialised by a mutex; for
/// parallel work make one network per worker.
final class NeuralNetwork: Sendable {
    /// The engine's forward call: the network, the input and its shape, the output
    /// names (and their count), where their data and sizes go; nil or the engine's error.
    typealias Forward =
        @Sendable (
            OpaquePointer, UnsafePointer<Float>?, [Int], UnsafePointer<UnsafePointer<CChar>?>, Int32,
            UnsafeMutablePointer<UnsafePointer<Float>?>, UnsafeMutablePointer<Int>
        ) -> String?

    let path: String
    private let net: Mutex<Handle>
    private let run: Forward

    /// Owns the engine's handle; only touched under the network's mutex.
    private struct Handle: ~Copyable, @unchecked Sendable {
        let pointer: OpaquePointer
        let release: @Sendable (OpaquePointer) -> Void
        deinit { release(pointer) }
    }

    init(path: String, handle: OpaquePointer, release: @escaping @Sendable (OpaquePointer) -> Void, forward: @escaping Forward) {
        self.path = path
        net = Mutex(Handle(pointer: handle, release: release))
        run = forward
    }

    /// Runs the network on an NCHW input and returns copies of the named outputs.
    func forward(input: [Float], shape: [Int], outputs names: [String]) throws(VisionError) -> [[Float]] {
        let cNames = names.map { strdup($0) }
        defer { for name in cNames { free(name) } }
        let result: Result<[[Float]], VisionError> = net.withLock { handle in
            var pointers = [UnsafePointer<Float>?](repeating: nil, count: names.count)
            var counts = [Int](repeating: 0, count: names.count)
            let failure = input.withUnsafeBufferPointer { data in
                cNames.map { UnsafePointer($0) }.withUnsafeBufferPointer { namePointers in
                    run(handle.pointer, data.baseAddress, shape, namePointers.baseAddress!, Int32(names.count), &pointers, &counts)
                }
            }
            if let failure {
                return .failure(.inferenceFailed(model: URL(fileURLWithPath: path).lastPathComponent, reason: failure))
            }
            // Copied under the lock: the engine reuses the outputs' memory on its next run.
            return .success(zip(pointers, counts).map { Array(UnsafeBufferPointer(start: $0, count: $1)) })
        }
        return try result.get()
    }
}

/// OpenVINO's version.
public enum OpenVINO {
    public static var version: String { String(cString: lov_version()) }
}

/// Process-wide OpenCV settings.
public enum OpenCV {
    public static var version: String { String(cString: lcv_opencv_version()) }

    /// Threads OpenCV may use inside one operation. Lineup parallelises across images
    /// instead, so workers set this to 1. (OpenVINO networks always run on one.)
    public static var threads: Int {
        get { Int(lcv_get_num_threads()) }
        set { lcv_set_num_threads(Int32(newValue)) }
    }
}
