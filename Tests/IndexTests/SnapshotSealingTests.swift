import Crypto
import Foundation
import Testing

@testable import Index

/// AES-256-GCM with keys held here: real encryption, as the gallery's keyring does it.
struct AESSealing: SnapshotSealing {
    /// Raw key bytes by key id.
    var keys: [String: Data]
    var current: String

    static func newKey() -> Data { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }

    static func withNewKey(_ id: String = "k1") -> AESSealing { AESSealing(keys: [id: newKey()], current: id) }

    struct UnknownKey: Error, CustomStringConvertible {
        let id: String
        var description: String { "no key '\(id)'" }
    }

    struct Sealer: SnapshotChunkSealer {
        let header: Data
        let key: SymmetricKey

        func seal(_ chunk: Data, authenticating associatedData: Data) throws -> Data {
            try AES.GCM.seal(chunk, using: key, authenticating: associatedData).combined!
        }
    }

    struct Opener: SnapshotChunkOpener {
        let key: SymmetricKey

        func open(_ box: Data, authenticating associatedData: Data) throws -> Data {
            try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: key, authenticating: associatedData)
        }
    }

    func sealerForNewFile() throws -> any SnapshotChunkSealer { Sealer(header: Data(current.utf8), key: SymmetricKey(data: keys[current]!)) }

    func opener(forHeader header: Data) throws -> any SnapshotChunkOpener {
        let id = String(decoding: header, as: UTF8.self)
        guard let key = keys[id] else { throw UnknownKey(id: id) }
        return Opener(key: SymmetricKey(data: key))
    }
}

/// Sealed snapshots of both engines, in chunks of 4 KiB so a small index spans
/// dozens of them: what opens, and every way of tampering with the chunks that
/// must not.
@Suite struct SnapshotSealingTests {
    enum Engine: String, CaseIterable, CustomTestStringConvertible {
        case exact, graph
        var testDescription: String { rawValue }
    }

    static let chunkSize = 4096
    static let faces = FaceLikeData.make(identities: 75, perIdentity: 4, dimension: 64, seed: 21)
    static let queries = FaceLikeData.make(identities: 20, perIdentity: 1, dimension: 64, seed: 22)
    static let exact: ExactIndex = {
        let index = ExactIndex(dimension: 64)
        for (i, vector) in faces.enumerated() { index.add(id: Int64(i + 1), source: Int64(i % 3), vector: vector) }
        return index
    }()
    static let graph: HNSWIndex = HNSWTests.build(faces.enumerated().map { (Int64($0.offset + 1), $0.element) }).0

    /// A fresh folder, removed when the test's scope ends.
    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-sealed-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
    }

    static func save(_ engine: Engine, to path: String, sealing: (any SnapshotSealing)?) throws {
        switch engine {
        case .exact: try IndexSnapshot.save(exact, modelID: "m", to: path, sealing: sealing, chunkSize: chunkSize)
        case .graph: try graph.save(modelID: "m", to: path, sealing: sealing, chunkSize: chunkSize)
        }
    }

    /// The loaded index's answers to every query.
    static func load(_ engine: Engine, from path: String, sealing: (any SnapshotSealing)?) throws(IndexSnapshot.LoadError) -> [[SearchHit]] {
        switch engine {
        case .exact:
            let index = ExactIndex(dimension: 64)
            try IndexSnapshot.load(into: index, modelID: "m", from: path, sealing: sealing)
            return queries.map { index.search($0, k: 10) }
        case .graph:
            let index = try HNSWIndex.load(modelID: "m", from: path, sealing: sealing)
            return queries.map { index.search($0, k: 10) }
        }
    }

    static func answers(_ engine: Engine) -> [[SearchHit]] {
        queries.map { engine == .exact ? exact.search($0, k: 10) : graph.search($0, k: 10) }
    }

    /// Why loading was refused; nil when it was not.
    static func refusal(_ engine: Engine, _ path: String, sealing: (any SnapshotSealing)?) -> IndexSnapshot.LoadError? {
        do {
            _ = try load(engine, from: path, sealing: sealing)
            return nil
        } catch {
            return error
        }
    }

    static func isUnopenable(_ error: IndexSnapshot.LoadError?) -> Bool {
        guard case .corrupt(let reason) = error else { return false }
        return reason.hasPrefix("cannot be opened with the keyring")
    }

    /// A sealed file taken apart: its clear header, and each chunk with its length prefix.
    struct Parsed {
        var header: Data
        var chunks: [Data]
        var joined: Data { chunks.reduce(header, +) }

        init(_ file: Data) {
            let bytes = [UInt8](file)
            func uint32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
            #expect(Array(bytes.prefix(8)) == Array("LINEUPSC".utf8))
            let headerEnd = 16 + uint32(12) + 16 + 4
            #expect(uint32(headerEnd - 4) == SnapshotSealingTests.chunkSize)
            header = Data(bytes[..<headerEnd])
            chunks = []
            var offset = headerEnd
            while offset < bytes.count {
                let end = offset + 4 + uint32(offset)
                chunks.append(Data(bytes[offset..<end]))
                offset = end
            }
            #expect(offset == bytes.count)
        }
    }

    static func sealedFile(_ engine: Engine, _ folder: Folder, name: String = "sealed.bin", sealing: AESSealing) throws -> (String, Parsed) {
        let path = folder.file(name)
        try save(engine, to: path, sealing: sealing)
        return (path, Parsed(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    static func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

    @Test(arguments: Engine.allCases) func sealedRoundTripAnswersLikeTheOriginal(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, parsed) = try Self.sealedFile(engine, folder, sealing: sealing)
        #expect(parsed.chunks.count >= 10, "the index spans many chunks")
        #expect(parsed.chunks.dropLast().allSatisfy { $0.count == 4 + Self.chunkSize + 28 }, "full chunks but the last")
        #expect(try Self.load(engine, from: path, sealing: sealing) == Self.answers(engine))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        // Sealed or not, the stream inside is the same bytes.
        let plain = folder.file("plain.bin")
        try Self.save(engine, to: plain, sealing: nil)
        let stream = try IndexSnapshot.contents(ofFile: try Data(contentsOf: URL(fileURLWithPath: path)), sealing: sealing)
        #expect(stream == (try Data(contentsOf: URL(fileURLWithPath: plain))).dropLast(32))
    }

    @Test(arguments: Engine.allCases) func swappedChunksAreRefused(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, saved) = try Self.sealedFile(engine, folder, sealing: sealing)
        var parsed = saved
        parsed.chunks.swapAt(1, 2)
        try Self.write(parsed.joined, path)
        #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: sealing)))
    }

    @Test(arguments: Engine.allCases) func droppedChunkIsRefused(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, saved) = try Self.sealedFile(engine, folder, sealing: sealing)
        var parsed = saved
        parsed.chunks.remove(at: 3)
        try Self.write(parsed.joined, path)
        #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: sealing)))
    }

    @Test(arguments: Engine.allCases) func truncatedFilesAreRefused(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, parsed) = try Self.sealedFile(engine, folder, sealing: sealing)
        let good = parsed.joined
        // Cut at a chunk boundary: the last chunk dropped, the one before it was not sealed as the last.
        try Self.write(good.prefix(good.count - parsed.chunks.last!.count), path)
        #expect(Self.refusal(engine, path, sealing: sealing) == .corrupt("truncated"))
        // Cut inside the last chunk, and inside a middle one.
        try Self.write(good.prefix(good.count - 10), path)
        #expect(Self.refusal(engine, path, sealing: sealing) == .corrupt("truncated"))
        try Self.write(good.prefix(parsed.header.count + parsed.chunks[0].count + 2000), path)
        #expect(Self.refusal(engine, path, sealing: sealing) == .corrupt("truncated"))
        // Inside the clear header.
        try Self.write(good.prefix(20), path)
        #expect(Self.refusal(engine, path, sealing: sealing) == .corrupt("truncated"))
        // Nothing may follow the last chunk, not even a copy of it.
        try Self.write(good + parsed.chunks.last!, path)
        #expect(Self.refusal(engine, path, sealing: sealing) != nil)
        try Self.write(good + Data([0]), path)
        #expect(Self.refusal(engine, path, sealing: sealing) != nil)
        try Self.write(good, path)
        #expect(try Self.load(engine, from: path, sealing: sealing) == Self.answers(engine))
    }

    @Test(arguments: Engine.allCases) func chunkFromAnotherFileIsRefused(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, saved) = try Self.sealedFile(engine, folder, sealing: sealing)
        var parsed = saved
        // The same index saved again with the same key: the same plaintext, another file id.
        let (_, other) = try Self.sealedFile(engine, folder, name: "other.bin", sealing: sealing)
        #expect(other.header != parsed.header && other.chunks[2] != parsed.chunks[2])
        parsed.chunks[2] = other.chunks[2]
        try Self.write(parsed.joined, path)
        #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: sealing)))
        // Nor does the other file's header make this file's chunks its own.
        parsed.header = other.header
        try Self.write(parsed.joined, path)
        #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: sealing)))
    }

    @Test(arguments: Engine.allCases) func flippedBytesAreRefused(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, parsed) = try Self.sealedFile(engine, folder, sealing: sealing)
        let good = parsed.joined
        // In a chunk's box, in the last chunk's tag, and in the file id of the clear header.
        for offset in [parsed.header.count + parsed.chunks[0].count + 100, good.count - 1, parsed.header.count - 10] {
            var damaged = good
            damaged[offset] ^= 0x01
            try Self.write(damaged, path)
            #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: sealing)), "byte \(offset)")
        }
    }

    @Test(arguments: Engine.allCases) func sealedFileHoldsNoTemplateBytes(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, _) = try Self.sealedFile(engine, folder, sealing: sealing)
        let plainPath = folder.file("plain.bin")
        try Self.save(engine, to: plainPath, sealing: nil)
        let sealed = try Data(contentsOf: URL(fileURLWithPath: path)), plain = try Data(contentsOf: URL(fileURLWithPath: plainPath))
        // The vectors as the file holds them: floats (exact) or half-precision (graph).
        let stored = Self.graph.storedBytes.vectors
        let samples: [Data] = [0, 17, 150, 299].map { row in
            switch engine {
            case .exact: Self.faces[row].prefix(16).withUnsafeBytes { Data($0) }
            case .graph: stored[(row * 64)..<(row * 64 + 32)].withUnsafeBytes { Data($0) }
            }
        }
        for sample in samples {
            #expect(plain.range(of: sample) != nil, "the unsealed file holds the vector, so the search can find it")
            #expect(sealed.range(of: sample) == nil, "the sealed file holds a vector in the clear")
        }
    }

    @Test(arguments: Engine.allCases) func filesOpenWithTheKeyTheirHeaderNames(engine: Engine) throws {
        let folder = try Folder(), old = AESSealing.withNewKey("old")
        let (path, _) = try Self.sealedFile(engine, folder, sealing: old)
        var rotated = old
        rotated.keys["new"] = AESSealing.newKey()
        rotated.current = "new"
        #expect(try Self.load(engine, from: path, sealing: rotated) == Self.answers(engine))
        let retired = AESSealing(keys: ["new": rotated.keys["new"]!], current: "new")
        #expect(Self.refusal(engine, path, sealing: retired) == .corrupt("cannot be opened with the keyring: no key 'old'"))
        // Same id, another key: every chunk fails its tag.
        #expect(Self.isUnopenable(Self.refusal(engine, path, sealing: AESSealing.withNewKey("old"))))
    }

    @Test(arguments: Engine.allCases) func sealedAndUnsealedFilesAreNotTakenForEachOther(engine: Engine) throws {
        let folder = try Folder(), sealing = AESSealing.withNewKey()
        let (path, _) = try Self.sealedFile(engine, folder, sealing: sealing)
        #expect(Self.refusal(engine, path, sealing: nil) == .corrupt("checksum mismatch"))
        let plain = folder.file("plain.bin")
        try Self.save(engine, to: plain, sealing: nil)
        #expect(Self.refusal(engine, plain, sealing: sealing) == .corrupt("not a sealed snapshot"))
        #expect(Self.refusal(engine, folder.file("none.bin"), sealing: sealing) == .missing)
    }

    /// Values straddling chunk boundaries, a copy larger than a chunk, and a stream
    /// read short or too far, sealed and not.
    @Test(arguments: [false, true]) func streamsCrossChunkBoundaries(sealed: Bool) throws {
        let folder = try Folder(), path = folder.file("stream.bin")
        let sealing: AESSealing? = sealed ? AESSealing.withNewKey() : nil
        let values = (0..<3000).map { UInt32($0) &* 2_654_435_761 }
        let writer = try SnapshotWriter(path: path, sealing: sealing, chunkSize: 1000)
        try writer.append(UInt8(7))
        try values.withUnsafeBufferPointer { try writer.append($0) }
        try writer.append(UInt64(0x0123_4567_89AB_CDEF))
        try writer.append(Array("end".utf8))
        try writer.append(Int16(-5))
        try writer.finish()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == (sealed ? 38 + 13 * (4 + 28) + 12_014 : 12_014 + 32))

        func open() throws -> SnapshotReader {
            try SnapshotReader(path: path, sealing: sealing, unsealedChunkSize: 1000)
        }
        let reader = try open()
        #expect(try reader.read() as UInt8 == 7)
        var read: [UInt32] = []
        for _ in 0..<300 { read.append(try reader.read()) }  // the 250th crosses the first boundary
        read += try reader.array(of: UInt32.self, count: 2700)
        #expect(read == values)
        #expect(try reader.read() as UInt64 == 0x0123_4567_89AB_CDEF)
        #expect(try reader.bytes(3) == Data("end".utf8))
        #expect(try reader.read() as Int16 == -5)
        try reader.finish()

        let short = try open()
        _ = try short.bytes(5000)
        #expect(throws: IndexSnapshot.LoadError.corrupt("sizes do not add up")) { try short.finish() }
        let long = try open()
        _ = try long.bytes(12_014)
        #expect(throws: IndexSnapshot.LoadError.corrupt("truncated")) { try long.read() as UInt8 }
    }

    /// The unsealed layout is what it was before the file was streamed: the stream
    /// written out field by field here, then its SHA-256, at chunk boundaries of any kind.
    @Test func unsealedExactLayoutIsUnchanged() throws {
        let folder = try Folder(), path = folder.file("plain.bin")
        try IndexSnapshot.save(Self.exact, modelID: "m", to: path, sealing: nil, chunkSize: 1000)
        var expected = Data("LINEUPIX".utf8)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { expected.append(contentsOf: $0) } }
        append(UInt32(2))
        append(UInt32(64))
        append(UInt64(Self.faces.count))
        append(UInt32(1))
        expected.append(contentsOf: Array("m".utf8))
        for i in Self.faces.indices { append(Int64(i + 1)) }
        for i in Self.faces.indices { append(Int64(i % 3)) }
        for vector in Self.faces { vector.withUnsafeBytes { expected.append(contentsOf: $0) } }
        expected.append(contentsOf: SHA256.hash(data: expected))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected)
        #expect(try Self.load(.exact, from: path, sealing: nil) == Self.answers(.exact))
    }
}
