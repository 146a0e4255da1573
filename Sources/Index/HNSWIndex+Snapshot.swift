import Crypto
import Foundation

/// The graph saved to disk, so a large gallery starts without rebuilding it.
///
/// Layout (little-endian): magic `LINEUPHN`, format version (UInt32), then the
/// header (dimension, M, efConstruction, efSearch as UInt32; seed,
/// slots used, entry point, top level as Int64; model id length and UTF-8 bytes),
/// then per slot the ids, sources, levels, half-precision vectors, int8 codes and level-0 link rows,
/// then the upper link rows of every slot above level 0 in slot order, then the
/// SHA-256 of everything before it. Written to a temporary file and renamed, so a
/// crash leaves the old file or the new one. Any failed check is refused with a
/// reason (the same errors as the exact index's snapshot), and the caller rebuilds
/// from the database.
extension HNSWIndex {
    static let snapshotMagic = Array("LINEUPHN".utf8)
    static let snapshotVersion: UInt32 = 3

    /// Saves the graph atomically; inserts and removals wait until it is written.
    public func save(modelID: String, to path: String, sealing: (any SnapshotSealing)? = nil) throws {
        var data = Data()
        structure.write {
            let (used, entry, top, random) = state.withLock { ($0.used, $0.entryPoint, $0.maxLevel, $0.random) }
            data.append(contentsOf: Self.snapshotMagic)
            for value in [
                Self.snapshotVersion, UInt32(dimension), UInt32(parameters.m), UInt32(parameters.efConstruction),
                UInt32(parameters.efSearch),
            ] {
                append(&data, value)
            }
            for value in [Int64(bitPattern: random), Int64(used), Int64(entry), Int64(top)] { append(&data, value) }
            let name = Array(modelID.utf8)
            append(&data, UInt32(name.count))
            data.append(contentsOf: name)
            data.append(UnsafeBufferPointer(start: storage.ids, count: used))
            data.append(UnsafeBufferPointer(start: storage.sources, count: used))
            data.append(UnsafeBufferPointer(start: storage.levels, count: used))
            data.append(UnsafeBufferPointer(start: storage.vectors, count: used * dimension))
            data.append(UnsafeBufferPointer(start: storage.codes, count: used * storage.codeStride))
            data.append(UnsafeBufferPointer(start: storage.rows0, count: used * storage.rowStride0))
            for slot in 0..<used where storage.levels[slot] > 0 {
                data.append(UnsafeBufferPointer(start: storage.upperRows[slot]!, count: Int(storage.levels[slot]) * storage.rowStrideUpper))
            }
        }
        data.append(contentsOf: SHA256.hash(data: data))
        try IndexSnapshot.writeAtomically(data, to: path, sealing: sealing)
    }

    /// Loads a saved graph, checking its integrity and that it was made for the same
    /// model; its parameters come from the file.
    public static func load(
        modelID: String, from path: String,
        sealing: (any SnapshotSealing)? = nil
    ) throws(IndexSnapshot.LoadError) -> HNSWIndex {
        let data = try IndexSnapshot.read(path: path, sealing: sealing)
        var reader = SnapshotReader(data: data)
        guard data.count >= snapshotMagic.count + 20 + 32 + 4 + 32 else { throw .corrupt("too short: \(data.count) bytes") }
        let body = data.prefix(data.count - 32)
        guard Array(SHA256.hash(data: body)) == Array(data.suffix(32)) else { throw .corrupt("checksum mismatch") }
        guard Array(data.prefix(snapshotMagic.count)) == snapshotMagic else { throw .corrupt("not a graph index snapshot") }
        reader.offset = snapshotMagic.count
        let version: UInt32 = try reader.read()
        guard version == snapshotVersion else { throw .mismatch("format version \(version), expected \(snapshotVersion)") }
        let dimension = Int(try reader.read() as UInt32), m = Int(try reader.read() as UInt32)
        let efConstruction = Int(try reader.read() as UInt32), efSearch = Int(try reader.read() as UInt32)
        let random = UInt64(bitPattern: try reader.read() as Int64)
        let used = Int(try reader.read() as Int64), entry = Int32(try reader.read() as Int64), top = Int(try reader.read() as Int64)
        let name = String(decoding: try reader.bytes(Int(try reader.read() as UInt32)), as: UTF8.self)
        guard name == modelID else { throw .mismatch("model \(name), expected \(modelID)") }
        guard dimension > 0, m >= 2, used >= 0, used < Int(Int32.max), entry < used, top < 64 else {
            throw .corrupt("impossible header values")
        }
        let index = HNSWIndex(
            dimension: dimension,
            parameters: Parameters(
                m: m, efConstruction: efConstruction,
                efSearch: efSearch, seed: 0))
        let storage = index.storage
        storage.grow(to: max(used, 1))
        try reader.copy(into: storage.ids, count: used)
        try reader.copy(into: storage.sources, count: used)
        try reader.copy(into: storage.levels, count: used)
        try reader.copy(into: storage.vectors, count: used * dimension)
        try reader.copy(into: storage.codes, count: used * storage.codeStride)
        try reader.copy(into: storage.rows0, count: used * storage.rowStride0)
        var slots: [Int64: Int32] = [:], free: [Int32] = []
        slots.reserveCapacity(used)
        for slot in 0..<used {
            let level = Int(storage.levels[slot])
            guard level >= -1, level <= top else { throw .corrupt("slot \(slot) has level \(level)") }
            guard level >= 0 else {
                free.append(Int32(slot))
                continue
            }
            slots[storage.ids[slot]] = Int32(slot)
            if level > 0 {
                let upper = UnsafeMutablePointer<Int32>.allocate(capacity: level * storage.rowStrideUpper)
                storage.adoptUpperRows(upper, slot: slot)
                try reader.copy(into: upper, count: level * storage.rowStrideUpper)
            }
        }
        guard reader.offset == body.count else { throw .corrupt("sizes do not add up") }
        guard storage.linksAreValid(used: used, maxLinks0: index.maxLinks0, maxLinksUpper: m) else {
            throw .corrupt("a link points outside the graph")
        }
        index.state.withLock { state in
            state = State(slots: slots, free: free, used: used, entryPoint: entry, maxLevel: top, random: random)
        }
        return index
    }

    private func append<T: FixedWidthInteger>(_ data: inout Data, _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}

/// Bounds-checked reads from a snapshot: a truncated or doctored file gives an
/// error, never a read past its end.
private struct SnapshotReader {
    let data: Data
    var offset = 0

    mutating func bytes(_ count: Int) throws(IndexSnapshot.LoadError) -> Data {
        guard count >= 0, offset + count <= data.count - 32 else { throw .corrupt("truncated") }
        defer { offset += count }
        return data.subdata(in: offset..<offset + count)
    }

    mutating func read<T: FixedWidthInteger>() throws(IndexSnapshot.LoadError) -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return T(littleEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: T.self) })
    }

    mutating func copy<T>(into destination: UnsafeMutablePointer<T>, count: Int) throws(IndexSnapshot.LoadError) {
        let size = count * MemoryLayout<T>.stride
        guard count >= 0, offset + size <= data.count - 32 else { throw .corrupt("truncated") }
        data.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress! + offset, byteCount: size)
        }
        offset += size
    }
}
