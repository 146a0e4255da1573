import Crypto
import Foundation

/// The exact index saved to disk, so a gallery of a million faces starts in
/// seconds instead of re-reading every template from the database.
///
/// Layout (little-endian): magic `LINEUPIX`, format version (UInt32), dimension
/// (UInt32), count (UInt64), model id length (UInt32) and UTF-8 bytes, the ids
/// (Int64 × count), their sources (Int64 × count), the vectors (Float32 × count × dimension), then the SHA-256
/// of everything before it. Saved to a temporary file and renamed, so a crash
/// leaves the old snapshot or the new one, never a mix. A snapshot that fails any
/// check is refused with a reason, and the caller rebuilds from the database.
public enum IndexSnapshot {
    static let magic = Array("LINEUPIX".utf8)
    static let version: UInt32 = 2

    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case missing
        case corrupt(String)
        case mismatch(String)

        public var description: String {
            switch self {
            case .missing: "no index snapshot"
            case .corrupt(let reason): "the index snapshot is damaged (\(reason))"
            case .mismatch(let reason): "the index snapshot is for another index (\(reason))"
            }
        }
    }

    public static func save(_ index: ExactIndex, modelID: String, to path: String, sealing: (any SnapshotSealing)? = nil) throws {
        var data = Data()
        data.append(contentsOf: magic)
        append(&data, version)
        append(&data, UInt32(index.dimension))
        var ids: [Int64] = [], sources: [Int64] = []
        var vectors: [Float] = []
        index.forEachFace { id, source, vector in
            ids.append(id)
            sources.append(source)
            vectors.append(contentsOf: vector)
        }
        append(&data, UInt64(ids.count))
        let name = Array(modelID.utf8)
        append(&data, UInt32(name.count))
        data.append(contentsOf: name)
        ids.withUnsafeBytes { data.append(contentsOf: $0) }
        sources.withUnsafeBytes { data.append(contentsOf: $0) }
        vectors.withUnsafeBytes { data.append(contentsOf: $0) }
        data.append(contentsOf: SHA256.hash(data: data))
        try writeAtomically(data, to: path, sealing: sealing)
    }

    /// Writes to a temporary file and renames it over `path`, sealing first when asked.
    static func writeAtomically(_ data: Data, to path: String, sealing: (any SnapshotSealing)?) throws {
        let bytes = try sealing?.seal(data) ?? data
        let temporary = path + ".partial"
        // Owner only, from the first byte: the file is sealed, but its size and
        // timing are the gallery's business alone.
        guard FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        if rename(temporary, path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The file's bytes, opened when the snapshot is sealed.
    static func read(path: String, sealing: (any SnapshotSealing)?) throws(LoadError) -> Data {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw .missing }
        guard let sealing else { return data }
        do {
            return try sealing.open(data)
        } catch {
            throw .corrupt("cannot be opened with the keyring: \(error)")
        }
    }

    /// Loads a snapshot into `index`, checking its integrity and that it was made
    /// for the same model and dimension.
    public static func load(
        into index: ExactIndex, modelID: String, from path: String,
        sealing: (any SnapshotSealing)? = nil
    ) throws(LoadError) {
        let data = try read(path: path, sealing: sealing)
        let headerSize = magic.count + 4 + 4 + 8 + 4
        guard data.count >= headerSize + 32 else { throw .corrupt("too short: \(data.count) bytes") }
        let body = data.prefix(data.count - 32)
        guard Array(SHA256.hash(data: body)) == Array(data.suffix(32)) else { throw .corrupt("checksum mismatch") }
        guard Array(data.prefix(magic.count)) == magic else { throw .corrupt("not an index snapshot") }
        var offset = magic.count
        let fileVersion: UInt32 = read(data, &offset)
        guard fileVersion == version else { throw .mismatch("format version \(fileVersion), expected \(version)") }
        let dimension = Int(read(data, &offset) as UInt32)
        let count = Int(read(data, &offset) as UInt64)
        let nameLength = Int(read(data, &offset) as UInt32)
        guard offset + nameLength <= body.count else { throw .corrupt("bad model id") }
        let name = String(decoding: data[offset..<offset + nameLength], as: UTF8.self)
        offset += nameLength
        guard name == modelID else { throw .mismatch("model \(name), expected \(modelID)") }
        guard dimension == index.dimension else { throw .mismatch("dimension \(dimension), expected \(index.dimension)") }
        guard offset + count * 16 + count * dimension * 4 == body.count else { throw .corrupt("sizes do not add up") }
        let ids = data[offset..<offset + count * 8].withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        offset += count * 8
        let sources = data[offset..<offset + count * 8].withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        offset += count * 8
        let vectors = data[offset..<offset + count * dimension * 4].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        index.load(ids: ids, sources: sources, vectors: vectors)
    }

    private static func append<T: FixedWidthInteger>(_ data: inout Data, _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func read<T: FixedWidthInteger>(_ data: Data, _ offset: inout Int) -> T {
        let size = MemoryLayout<T>.size
        let value = data[offset..<offset + size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        offset += size
        return T(littleEndian: value)
    }
}

/// Encryption of whole snapshot files, supplied by the owner of the keys: a
/// snapshot holds every template (or its codes), so at rest it is sealed like them.
public protocol SnapshotSealing: Sendable {
    func seal(_ data: Data) throws -> Data
    func open(_ data: Data) throws -> Data
}
