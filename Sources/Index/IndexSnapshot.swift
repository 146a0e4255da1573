import Foundation

/// The exact index saved to disk, so a gallery of a million faces starts in
/// seconds instead of re-reading every template from the database.
///
/// Stream layout (little-endian): magic `LINEUPIX`, format version (UInt32),
/// dimension (UInt32), count (UInt64), model id length (UInt32) and UTF-8 bytes, the
/// ids (Int64 × count), their sources (Int64 × count), the vectors (Float32 × count ×
/// dimension). Unsealed, the file is that stream and its SHA-256; sealed, the stream
/// in sealed chunks (`SnapshotStream`). Written chunk by chunk to a temporary file
/// and renamed, so a crash leaves the old snapshot or the new one, never a mix. A
/// snapshot that fails any check is refused with a reason, and the caller rebuilds
/// from the database.
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
        try save(index, modelID: modelID, to: path, sealing: sealing, chunkSize: SnapshotStream.defaultChunkSize)
    }

    /// Streams the index's buffers to the file as they are; additions and removals
    /// wait until they are written.
    static func save(_ index: ExactIndex, modelID: String, to path: String, sealing: (any SnapshotSealing)?, chunkSize: Int) throws {
        let writer = try SnapshotWriter(path: path, sealing: sealing, chunkSize: chunkSize)
        try writer.append(magic)
        try writer.append(version)
        try writer.append(UInt32(index.dimension))
        try index.withContents { ids, sources, vectors in
            try writer.append(UInt64(ids.count))
            let name = Array(modelID.utf8)
            try writer.append(UInt32(name.count))
            try writer.append(name)
            try writer.append(ids)
            try writer.append(sources)
            try writer.append(vectors)
        }
        try writer.finish()
    }

    /// Loads a snapshot into `index`, checking its integrity and that it was made
    /// for the same model and dimension. The file is read chunk by chunk into the
    /// index's own arrays; nothing is loaded unless all of it passes.
    public static func load(
        into index: ExactIndex, modelID: String, from path: String,
        sealing: (any SnapshotSealing)? = nil
    ) throws(LoadError) {
        let headerSize = magic.count + 4 + 4 + 8 + 4
        let (ids, sources, vectors) = try SnapshotReader.reading(path: path, sealing: sealing, minimumLength: headerSize) {
            reader throws(LoadError) in
            guard Array(try reader.bytes(magic.count)) == magic else { throw .corrupt("not an index snapshot") }
            let fileVersion: UInt32 = try reader.read()
            guard fileVersion == version else { throw .mismatch("format version \(fileVersion), expected \(version)") }
            let dimension = Int(try reader.read() as UInt32)
            let storedCount: UInt64 = try reader.read()
            let nameLength = Int(try reader.read() as UInt32)
            guard nameLength <= maxModelIDLength else { throw .corrupt("bad model id") }
            let name = String(decoding: try reader.bytes(nameLength), as: UTF8.self)
            guard name == modelID else { throw .mismatch("model \(name), expected \(modelID)") }
            guard dimension == index.dimension else { throw .mismatch("dimension \(dimension), expected \(index.dimension)") }
            guard storedCount < 1 << 36 else { throw .corrupt("sizes do not add up") }
            let count = Int(storedCount)
            if let remaining = reader.remainingBytes, remaining != count * 16 + count * dimension * 4 {
                throw .corrupt("sizes do not add up")
            }
            return (
                try reader.array(of: Int64.self, count: count), try reader.array(of: Int64.self, count: count),
                try reader.array(of: Float.self, count: count * dimension)
            )
        }
        index.load(ids: ids, sources: sources, vectors: vectors)
    }

    /// The byte stream a snapshot file holds, checked whole (its digest, or every
    /// chunk's seal): for inspecting a small snapshot, such as what it still holds
    /// after an erasure. Loading reads files chunk by chunk instead.
    public static func contents(ofFile file: Data, sealing: (any SnapshotSealing)?) throws(LoadError) -> Data {
        let reader = try SnapshotReader(file: file, sealing: sealing)
        let stream = try reader.rest()
        try reader.finish()
        return stream
    }

    /// Longer model ids are damage, not names.
    static let maxModelIDLength = 1024
}

/// Encryption of snapshot files, supplied by the owner of the keys: a snapshot
/// holds every template (or its codes), so at rest it is sealed like them.
///
/// A file is sealed in chunks (see `SnapshotStream`), each with associated data
/// that binds it to its file and place; the sealing needs only to seal and open
/// one chunk at a time, and to name its key in the file's header.
public protocol SnapshotSealing: Sendable {
    /// The sealer of one new file: it keeps one key from the first chunk to the last,
    /// even when the keys rotate meanwhile.
    func sealerForNewFile() throws -> any SnapshotChunkSealer
    /// The opener of a file whose header (its sealer's `header`) is `header`: with
    /// the key the header names, which need not be the current one.
    func opener(forHeader header: Data) throws -> any SnapshotChunkOpener
}

/// Seals the chunks of one file.
public protocol SnapshotChunkSealer {
    /// Written in the clear in the file's header (at most 1 KiB): names the key, so
    /// the file can be opened after a rotation.
    var header: Data { get }
    /// One chunk sealed with its own nonce, authenticating `associatedData` too
    /// (which is not stored in the box). The chunk's bytes are the writer's buffer,
    /// valid during the call only.
    func seal(_ chunk: Data, authenticating associatedData: Data) throws -> Data
}

/// Opens the chunks of one file.
public protocol SnapshotChunkOpener {
    /// The chunk in `box`; throws unless the box is intact and was sealed with
    /// exactly `associatedData`.
    func open(_ box: Data, authenticating associatedData: Data) throws -> Data
}
