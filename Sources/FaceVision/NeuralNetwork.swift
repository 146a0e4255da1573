import CVision
import Foundation
import Synchronization

/// An ONNX model loaded into OpenCV's dnn engine.
///
/// A cv::dnn::Net keeps per-run state, so calls are serialised by a mutex; for
/// parallel work make one network per worker.
final class NeuralNetwork: Sendable {
    let path: String
    private let net: Mutex<NetHandle>

    init(path: String) throws(VisionError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw .modelNotFound(path: path, hint: ModelDirectory.setupHint)
        }
        var error = lcv_error()
        guard let handle = lcv_net_load_onnx(path, &error) else {
            throw .modelLoadFailed(path: path, reason: error.text)
        }
        net = Mutex(NetHandle(pointer: handle))
    }

    /// Runs the network on an NCHW input and returns copies of the named outputs.
    func forward(input: [Float], shape: [Int], outputs names: [String]) throws(VisionError) -> [[Float]] {
        let result: Result<[[Float]], VisionError> = net.withLock { handle in
            var error = lcv_error()
            var pointers = [UnsafePointer<Float>?](repeating: nil, count: names.count)
            var counts = [Int](repeating: 0, count: names.count)
            let dims = shape.map(Int32.init)
            let cNames = names.map { strdup($0) }
            defer { for name in cNames { free(name) } }
            let status = input.withUnsafeBufferPointer { data in
                cNames.map { UnsafePointer($0) }.withUnsafeBufferPointer { namePointers in
                    lcv_net_forward(
                        handle.pointer, data.baseAddress, dims, Int32(dims.count),
                        namePointers.baseAddress, Int32(names.count), &pointers, &counts, &error)
                }
            }
            guard status == 0 else {
                return .failure(.inferenceFailed(model: URL(fileURLWithPath: path).lastPathComponent, reason: error.text))
            }
            return .success(zip(pointers, counts).map { Array(UnsafeBufferPointer(start: $0, count: $1)) })
        }
        return try result.get()
    }
}

/// Owns the C handle; only touched under the network's mutex.
struct NetHandle: ~Copyable, @unchecked Sendable {
    let pointer: OpaquePointer
    deinit { lcv_net_free(pointer) }
}

/// Process-wide OpenCV settings.
public enum OpenCV {
    public static var version: String { String(cString: lcv_opencv_version()) }

    /// Threads OpenCV may use inside one operation. Lineup parallelises across images
    /// instead, so workers set this to 1.
    public static var threads: Int {
        get { Int(lcv_get_num_threads()) }
        set { lcv_set_num_threads(Int32(newValue)) }
    }
}
