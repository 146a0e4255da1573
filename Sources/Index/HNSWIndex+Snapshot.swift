import Foundation

/// The graph saved to disk, so a large gallery starts without rebuilding it.
///
/// Stream layout (little-endian): magic `LINEUPHN`, format version (UInt32), then
/// the header (dimension, M, efConstruction, efSearch as UInt32; seed, slots used,
/// entry point, top level as Int64; model id length and UTF-8 bytes), then per slot
/// the ids, sources, levels, half-precision vectors, int8 codes and level-0 link
/// rows, then the upper link rows of every slot above level 0 in slot order.
/// Unsealed, the file is that stream and its SHA-256; sealed, the stream in sealed
/// chunks (`SnapshotStream`). Written chunk by chunk to a temporary file and
/// renamed, so a crash leaves the old file or the new one. Any failed check is refused with a
/// reason (the same errors as the exact index's snapshot), and the caller rebuilds
/// from the database.
extension HNSWIndex {
    static let snapshotMagic = Array("LINEUPHN".utf8)
    static let snapshotVersion: UInt32 = 3

    /// Saves the graph atomically, streaming its buffers to the file as they are;
    /// inserts and removals wait until they are written.
    public func save(modelID: String, to path: String, sealing: (any SnapshotSealing)? = nil) throws {
        try save(modelID: modelID, to: path, sealing: sealing, chunkSize: SnapshotStream.defaultChunkSize)
    }

    func save(modelID: String, to path: String, sealing: (any SnapshotSealing)?, chunkSize: Int) throws {
        let writer = try SnapshotWriter(path: path, sealing: sealing, chunkSize: chunkSize)
        try structure.write {
            let (used, entry, top, random) = state.withLock { ($0.used, $0.entryPoint, $0.maxLevel, $0.random) }
            try writer.append(Self.snapshotMagic)
            for value in [
                Self.snapshotVersion, UInt32(dimension), UInt32(parameters.m), UInt32(parameters.efConstruction),
                UInt32(parameters.efSearch),
            ] {
                try writer.append(value)
            }
            for value in [Int64(bitPattern: random), Int64(used), Int64(entry), Int64(top)] { try writer.append(value) }
            let name = Array(modelID.utf8)
            try writer.append(UInt32(name.count))
            try writer.append(name)
            try writer.append(UnsafeBufferPointer(start: storage.ids, count: used))
            try writer.append(UnsafeBufferPointer(start: storage.sources, count: used))
            try writer.append(UnsafeBufferPointer(start: storage.levels, count: used))
            try writer.append(UnsafeBufferPointer(start: storage.vectors, count: used * dimension))
            try writer.append(UnsafeBufferPointer(start: storage.codes, count: used * storage.codeStride))
            try writer.append(UnsafeBufferPointer(start: storage.rows0, count: used * storage.rowStride0))
            for slot in 0..<used where storage.levels[slot] > 0 {
                try writer.append(UnsafeBufferPointer(start: storage.upperRows[slot]!, count: Int(storage.levels[slot]) * storage.rowStrideUpper))
            }
        }
        try writer.finish()
    }

    /// Loads a saved graph, checking its integrity and that it was made for the same
    /// model; its parameters come from the file. The file is read chunk by chunk
    /// straight into the graph's buffers.
    public static func load(
        modelID: String, from path: String,
        sealing: (any SnapshotSealing)? = nil
    ) throws(IndexSnapshot.LoadError) -> HNSWIndex {
        let minimumLength = snapshotMagic.count + 20 + 32 + 4
        return try SnapshotReader.reading(path: path, sealing: sealing, minimumLength: minimumLength) {
            reader throws(IndexSnapshot.LoadError) in
            try load(modelID: modelID, from: reader)
        }
    }

    private static func load(modelID: String, from reader: SnapshotReader) throws(IndexSnapshot.LoadError) -> HNSWIndex {
        guard Array(try reader.bytes(snapshotMagic.count)) == snapshotMagic else { throw .corrupt("not a graph index snapshot") }
        let version: UInt32 = try reader.read()
        guard version == snapshotVersion else { throw .mismatch("format version \(version), expected \(snapshotVersion)") }
        let dimension = Int(try reader.read() as UInt32), m = Int(try reader.read() as UInt32)
        let efConstruction = Int(try reader.read() as UInt32), efSearch = Int(try reader.read() as UInt32)
        let random = UInt64(bitPattern: try reader.read() as Int64)
        let used = Int(try reader.read() as Int64), entry = Int(try reader.read() as Int64), top = Int(try reader.read() as Int64)
        let nameLength = Int(try reader.read() as UInt32)
        guard nameLength <= IndexSnapshot.maxModelIDLength else { throw .corrupt("bad model id") }
        let name = String(decoding: try reader.bytes(nameLength), as: UTF8.self)
        guard name == modelID else { throw .mismatch("model \(name), expected \(modelID)") }
        guard dimension > 0, dimension <= 1 << 16, m >= 2, m <= 1 << 12, efConstruction >= 1, used >= 0, used < Int(Int32.max),
            entry >= -1, entry < used, top < 64
        else {
            throw .corrupt("impossible header values")
        }
        let index = HNSWIndex(
            dimension: dimension,
            parameters: Parameters(
                m: m, efConstruction: efConstruction,
                efSearch: efSearch, seed: 0))
        let storage = index.storage
        // Unsealed, the header is not checked until the end: it may not ask for more
        // memory than the file could fill.
        let bytesPerSlot = 8 + 8 + 4 + dimension * 2 + storage.codeStride + storage.rowStride0 * 4
        if let remaining = reader.remainingBytes, used > remaining / bytesPerSlot { throw .corrupt("sizes do not add up") }
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
        // The digest (unsealed) or the last chunk (sealed) before the links are walked.
        try reader.finish()
        guard storage.linksAreValid(used: used, maxLinks0: index.maxLinks0, maxLinksUpper: m) else {
            throw .corrupt("a link points outside the graph")
        }
        index.state.withLock { state in
            state = State(slots: slots, free: free, used: used, entryPoint: Int32(entry), maxLevel: top, random: random)
        }
        return index
    }
}
