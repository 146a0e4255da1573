import Crypto
import FaceVision
import Foundation
import Synchronization

/// What extracting a template from one photo gave.
public enum ExtractionOutcome: Sendable, Equatable {
    case template(FaceTemplate)
    case noFace
    case failed(String)

    public var template: FaceTemplate? {
        if case .template(let template) = self { template } else { nil }
    }
}

/// Templates already computed, keyed by the SHA-256 of the photo's bytes, so
/// evaluations and calibrations re-run in seconds.
///
/// One file per pipeline configuration; records are appended as they are made and
/// a torn last record (after a crash) is ignored on load. A failure to decode is
/// not cached, so fixing a file takes effect at once.
public final class TemplateCache: Sendable {
    public let path: String
    private let modelID: String
    private let dimension: Int
    private let entries: Mutex<[Data: ExtractionOutcome]>
    private let pending: Mutex<Data>

    public init(directory: String, pipelineKey: String, modelID: String, dimension: Int) {
        let name = pipelineKey.replacingOccurrences(of: "/", with: "_")
        path = directory + "/templates-" + name + ".bin"
        self.modelID = modelID
        self.dimension = dimension
        entries = Mutex(Self.load(path: path, modelID: modelID, dimension: dimension))
        pending = Mutex(Data())
    }

    /// The default folder: `$XDG_CACHE_HOME/lineup` or `~/.cache/lineup`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/lineup" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/lineup"
    }

    public static func key(of bytes: [UInt8]) -> Data { Data(SHA256.hash(data: bytes)) }

    public var count: Int { entries.withLock { $0.count } }

    public func lookup(_ key: Data) -> ExtractionOutcome? { entries.withLock { $0[key] } }

    public func store(_ outcome: ExtractionOutcome, for key: Data) {
        var record = key
        switch outcome {
        case .template(let template):
            record.append(1)
            template.vector.withUnsafeBytes { record.append(contentsOf: $0) }
        case .noFace:
            record.append(0)
        case .failed:
            return
        }
        entries.withLock { $0[key] = outcome }
        pending.withLock { $0.append(record) }
    }

    /// Appends what was stored since the last flush to the cache file.
    public func flush() throws {
        let data = pending.withLock { pending -> Data in
            defer { pending = Data() }
            return pending
        }
        guard !data.isEmpty else { return }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }

    private static func load(path: String, modelID: String, dimension: Int) -> [Data: ExtractionOutcome] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        var entries: [Data: ExtractionOutcome] = [:]
        var offset = 0
        let bytes = [UInt8](data)
        while offset + 33 <= bytes.count {
            let key = Data(bytes[offset..<offset + 32])
            let kind = bytes[offset + 32]
            offset += 33
            if kind == 0 {
                entries[key] = .noFace
                continue
            }
            let length = dimension * MemoryLayout<Float>.size
            guard kind == 1, offset + length <= bytes.count else { break }
            let vector = bytes[offset..<offset + length].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            entries[key] = .template(FaceTemplate(modelID: modelID, normalizedVector: vector))
            offset += length
        }
        return entries
    }
}
