import Console
import Foundation
import Index

/// The data set of `lineup-bench index`: a gallery, queries (with which of them are
/// mated, when known) and exact top-10 ground truth, and its exchange files for
/// the peer engines (`.fvecs` / `.ivecs`, the format of the ANN benchmarks).
struct BenchIndexData {
    var gallery: [[Float]]
    var queries: [[Float]]
    /// Per query: true mated, false non-mated, nil unknown (real templates).
    var mated: [Bool?]
    var truth: [[Int64]] = []

    var dimension: Int { gallery.first?.count ?? 0 }

    /// N/5 identities × 5 samples; queries alternate mated (a new sample of a
    /// gallery identity) and non-mated (a new identity).
    static func synthetic(n: Int, dimension: Int, queries: Int) -> BenchIndexData {
        var generator = SyntheticTemplates(dimension: dimension, seed: 2026)
        let (templates, centres) = generator.gallery(identities: max(1, n / 5), perIdentity: 5)
        let probes = (0..<queries).map { i in
            i % 2 == 0
                ? generator.sample(around: centres[(i * 7919) % centres.count])
                : generator.sample(around: generator.centre())
        }
        return BenchIndexData(gallery: templates, queries: probes, mated: probes.indices.map { $0 % 2 == 0 })
    }

    /// Real templates from a `.npy` (float32, 2-D) or `.fvecs` file: the last
    /// `queries` rows are the queries, the rest the gallery.
    static func load(_ path: String, queries: Int) throws -> BenchIndexData {
        let rows = path.hasSuffix(".npy") ? try readNPY(path) : try readFvecs(path)
        guard rows.count > queries + 10 else { throw BenchDataError("\(path) holds \(rows.count) vectors: too few for \(queries) queries") }
        let normalised = rows.map { row -> [Float] in
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? row.map { $0 / norm } : row
        }
        return BenchIndexData(
            gallery: Array(normalised.dropLast(queries)), queries: Array(normalised.suffix(queries)),
            mated: Array(repeating: nil, count: queries))
    }

    /// Exact top-10 ids of every query (the gallery's row numbers), with every core.
    mutating func computeTruth() {
        let exact = ExactIndex(dimension: dimension)
        for (i, vector) in gallery.enumerated() { exact.add(id: Int64(i), vector: vector) }
        truth = queries.map { exact.search($0, k: 10).map(\.id) }
    }

    /// Recall@10 of `found` (per query, ids best first) against the truth: over all
    /// queries, the mated ones and the non-mated ones (nil where there are none).
    func recall(found: [[Int64]]) -> (all: Double, mated: Double?, nonmated: Double?) {
        func recall(_ rows: [Int]) -> Double? {
            guard !rows.isEmpty else { return nil }
            let hits = rows.reduce(0) { sum, q in sum + found[q].prefix(10).count { truth[q].contains($0) } }
            return Double(hits) / Double(rows.count * 10)
        }
        let all = Array(queries.indices)
        return (recall(all) ?? 0, recall(all.filter { mated[$0] == true }), recall(all.filter { mated[$0] == false }))
    }

    /// Writes base.fvecs, queries.fvecs, truth.ivecs and mated.txt into `folder`.
    func write(to folder: URL) throws {
        try Self.vecs(gallery.map { $0.map(\.bitPattern) }).write(to: folder.appendingPathComponent("base.fvecs"))
        try Self.vecs(queries.map { $0.map(\.bitPattern) }).write(to: folder.appendingPathComponent("queries.fvecs"))
        try Self.vecs(truth.map { $0.map { UInt32($0) } }).write(to: folder.appendingPathComponent("truth.ivecs"))
        try mated.map { $0 == true ? "1" : "0" }.joined(separator: "\n").write(
            to: folder.appendingPathComponent("mated.txt"),
            atomically: true, encoding: .utf8)
    }

    /// `[dimension as int32][values as 4-byte words]` per row, little-endian.
    private static func vecs(_ rows: [[UInt32]]) -> Data {
        var words: [UInt32] = []
        words.reserveCapacity(rows.reduce(0) { $0 + $1.count + 1 })
        for row in rows {
            words.append(UInt32(row.count).littleEndian)
            words.append(contentsOf: row.map(\.littleEndian))
        }
        return words.withUnsafeBytes { Data($0) }
    }

    private static func readFvecs(_ path: String) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.withUnsafeBytes { raw -> [[Float]] in
            var rows: [[Float]] = [], offset = 0
            while offset < raw.count {
                guard offset + 4 <= raw.count else { throw BenchDataError("\(path) ends inside a row header") }
                let dimension = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                guard dimension > 0, dimension <= 65_536, offset + 4 + dimension * 4 <= raw.count else {
                    throw BenchDataError("\(path) is not an .fvecs file (row \(rows.count): dimension \(dimension))")
                }
                guard rows.isEmpty || rows[0].count == dimension else {
                    throw BenchDataError("\(path): row \(rows.count) has \(dimension) values, row 0 \(rows[0].count)")
                }
                rows.append(
                    (0..<dimension).map {
                        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + $0 * 4, as: UInt32.self)))
                    })
                offset += 4 + dimension * 4
            }
            return rows
        }
    }

    /// A version 1–3 `.npy` file holding a C-ordered 2-D little-endian float32 array.
    private static func readNPY(_ path: String) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let bytes = [UInt8](data)
        guard bytes.count > 10, bytes.prefix(6) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw BenchDataError("\(path) is not a .npy file")
        }
        let major = bytes[6]
        let headerLength =
            major == 1
            ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let headerStart = major == 1 ? 10 : 12
        guard headerStart + headerLength <= bytes.count,
            let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .isoLatin1)
        else {
            throw BenchDataError("\(path): damaged .npy header")
        }
        guard header.contains("'<f4'"), header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else {
            throw BenchDataError("\(path): need a C-ordered little-endian float32 array, found \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int(String($0).trimmingCharacters(in: CharacterSet.whitespaces))
        }
        guard shape.count == 2, shape[1] > 0 else { throw BenchDataError("\(path): need a 2-D array, shape \(shape)") }
        let start = headerStart + headerLength
        guard bytes.count - start == shape[0] * shape[1] * 4 else { throw BenchDataError("\(path): data does not match shape \(shape)") }
        let (count, width) = (shape[0], shape[1])
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [[Float]] in
            var rows: [[Float]] = []
            rows.reserveCapacity(count)
            for row in 0..<count {
                var values = [Float](repeating: 0, count: width)
                for column in 0..<width {
                    let word = raw.loadUnaligned(fromByteOffset: start + (row * width + column) * 4, as: UInt32.self)
                    values[column] = Float(bitPattern: UInt32(littleEndian: word))
                }
                rows.append(values)
            }
            return rows
        }
    }
}

struct BenchDataError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Resident memory of this process, from /proc (Linux); nil elsewhere.
func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

#if os(Linux)
    @_silgen_name("malloc_trim") private func mallocTrim(_ pad: Int) -> Int32
#endif

/// Hands memory freed earlier back to the system, so that a resident-size delta
/// measured next is the new structure's, not a reuse of old pages.
func returnFreedMemory() {
    #if os(Linux)
        _ = mallocTrim(0)
    #endif
}
