import Foundation

/// The scan index saved to disk, so a large gallery opens without re-reading and
/// re-encoding every template.
///
/// Stream layout (little-endian): magic `LINEUPSQ`, format version (UInt32),
/// dimension (UInt32), count (UInt64), faces the codebook was learnt from (UInt64, 0
/// when there is none), model id length (UInt32) and UTF-8 bytes, the codebook
/// (Float32 × dimension × 16, only when learnt), the ids (Int64 × count), their
/// sources (Int64 × count), the half-precision templates (Float16 × count ×
/// dimension) and, when learnt, the codes (blocks of 32 faces × dimension / 2 × 16
/// bytes). Unsealed, the file is that stream and its SHA-256; sealed, the stream in
/// sealed chunks (`SnapshotStream`). Written to a temporary file and renamed; any
/// failed check is refused with a reason, and the caller rebuilds from the database.
extension ScanIndex {
    static let snapshotMagic = Array("LINEUPSQ".utf8)
    static let snapshotVersion: UInt32 = 1

    func save(modelID: String, to path: String, sealing: (any SnapshotSealing)?, chunkSize: Int) throws {
        let writer = try SnapshotWriter(path: path, sealing: sealing, chunkSize: chunkSize)
        try lock.read {
            try writer.append(Self.snapshotMagic)
            try writer.append(Self.snapshotVersion)
            try writer.append(UInt32(dimension))
            try writer.append(UInt64(ids.count))
            try writer.append(UInt64(quantizer == nil ? 0 : trainedOn))
            let name = Array(modelID.utf8)
            try writer.append(UInt32(name.count))
            try writer.append(name)
            try withBuffers { held in
                if let quantizer { try quantizer.codebook.withUnsafeBufferPointer { try writer.append($0) } }
                try writer.append(held.ids)
                try writer.append(held.sources)
                try writer.append(held.vectors)
                if quantizer != nil { try writer.append(held.codes) }
            }
        }
        try writer.finish()
    }

    /// Loads a saved scan index, checking its integrity and that it was made for the
    /// same model; the file is read chunk by chunk into the index's arrays.
    public static func load(
        modelID: String, from path: String, sealing: (any SnapshotSealing)? = nil
    ) throws(IndexSnapshot.LoadError) -> ScanIndex {
        let headerSize = snapshotMagic.count + 4 + 4 + 8 + 8 + 4
        return try SnapshotReader.reading(path: path, sealing: sealing, minimumLength: headerSize) {
            reader throws(IndexSnapshot.LoadError) in
            guard Array(try reader.bytes(snapshotMagic.count)) == snapshotMagic else { throw .corrupt("not a scan index snapshot") }
            let version: UInt32 = try reader.read()
            guard version == snapshotVersion else { throw .mismatch("format version \(version), expected \(snapshotVersion)") }
            let dimension = Int(try reader.read() as UInt32)
            let storedCount: UInt64 = try reader.read(), trainedOn: UInt64 = try reader.read()
            let nameLength = Int(try reader.read() as UInt32)
            guard nameLength <= IndexSnapshot.maxModelIDLength else { throw .corrupt("bad model id") }
            let name = String(decoding: try reader.bytes(nameLength), as: UTF8.self)
            guard name == modelID else { throw .mismatch("model \(name), expected \(modelID)") }
            guard dimension > 0, dimension % 2 == 0, dimension / 2 <= 257, storedCount < 1 << 36, trainedOn < 1 << 36 else {
                throw .corrupt("impossible header values")
            }
            let count = Int(storedCount), trained = trainedOn > 0
            let codeBytes = trained ? (count + 31) / 32 * (dimension / 2) * 16 : 0
            let expected = (trained ? dimension * 16 * 4 : 0) + count * 16 + count * dimension * 2 + codeBytes
            if let remaining = reader.remainingBytes, remaining != expected { throw .corrupt("sizes do not add up") }
            let index = ScanIndex(dimension: dimension)
            if trained {
                let codebook = try reader.array(of: Float.self, count: dimension * ProductQuantizer.centres)
                guard codebook.allSatisfy(\.isFinite) else { throw .corrupt("the codebook holds a value that is not a number") }
                index.quantizer = ProductQuantizer(dimension: dimension, codebook: codebook)
                index.trainedOn = Int(trainedOn)
            }
            // Room for an eighth more faces: the first faces added after opening (an
            // ingest under `lineup serve`) do not copy ten million templates at once.
            let room = count + count / 8
            index.ids = try reader.array(of: Int64.self, count: count, capacity: room)
            index.sources = try reader.array(of: Int64.self, count: count, capacity: room)
            index.vectors = try reader.array(of: Float16.self, count: count * dimension, capacity: room * dimension)
            if trained { index.codes = try reader.array(of: UInt8.self, count: codeBytes, capacity: (room + 31) / 32 * (dimension / 2) * 16) }
            try reader.finish()
            index.largestID = index.ids.max() ?? .min
            index.computeBlockSources()
            return index
        }
    }
}
