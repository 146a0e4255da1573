import Foundation
import Testing

@testable import Index

/// Index mechanics on seeded random unit vectors (the face pipeline has its own
/// tests on photographs; here only the geometry of vectors matters).
@Suite struct ExactIndexTests {
    /// Seeded random unit vectors.
    static func vectors(_ count: Int, dimension: Int = 128, seed: UInt64 = 7) -> [[Float]] {
        var generator = SyntheticTemplates(dimension: dimension, seed: seed)
        return (0..<count).map { _ in generator.centre() }
    }

    static func bruteForce(_ query: [Float], _ data: [(Int64, [Float])], k: Int) -> [Int64] {
        data.map { ($0.0, dot(query, $0.1)) }.sorted { $0.1 > $1.1 }.prefix(k).map(\.0)
    }

    @Test func findsWhatBruteForceFinds() {
        let data = Self.vectors(3_000).enumerated().map { (Int64($0.offset + 1), $0.element) }
        let index = ExactIndex(dimension: 128, threads: 2)
        for (id, v) in data { index.add(id: id, vector: v) }
        for query in Self.vectors(20, seed: 99) {
            #expect(index.search(query, k: 10).map(\.id) == Self.bruteForce(query, data, k: 10))
        }
    }

    @Test func parallelSearchOfALargeIndexAgrees() {
        let data = Self.vectors(120_000, dimension: 16).enumerated().map { (Int64($0.offset + 1), $0.element) }
        let single = ExactIndex(dimension: 16, threads: 1), parallel = ExactIndex(dimension: 16, threads: 2)
        for (id, v) in data {
            single.add(id: id, vector: v)
            parallel.add(id: id, vector: v)
        }
        for query in Self.vectors(5, dimension: 16, seed: 3) {
            #expect(single.search(query, k: 25) == parallel.search(query, k: 25))
        }
    }

    @Test func removedVectorsAreGoneAndTheirBytesZeroed() {
        let data = Self.vectors(10)
        let index = ExactIndex(dimension: 128)
        for (i, v) in data.enumerated() { index.add(id: Int64(i + 1), vector: v) }
        #expect(index.remove(id: 3))
        #expect(!index.remove(id: 3))
        #expect(index.count == 9)
        #expect(!index.search(data[2], k: 10).contains { $0.id == 3 })
        var seen: [Int64] = []
        index.forEachFace { id, _, vector in
            seen.append(id)
            #expect(dot(Array(vector), data[Int(id) - 1]) > 0.999, "the moved vector stays with its id")
        }
        #expect(Set(seen) == Set((1...10).filter { $0 != 3 }.map(Int64.init)))
        // The freed slot is reused and the index keeps answering correctly.
        index.add(id: 42, vector: data[2])
        #expect(index.search(data[2], k: 1).first?.id == 42)
    }

    @Test func filterRestrictsResults() {
        let data = Self.vectors(500)
        let index = ExactIndex(dimension: 128)
        for (i, v) in data.enumerated() { index.add(id: Int64(i + 1), vector: v) }
        let hits = index.search(data[0], k: 20, filter: SearchFilter(admits: { $0 % 2 == 0 }))
        #expect(hits.count == 20 && hits.allSatisfy { $0.id % 2 == 0 })
        #expect(!hits.contains { $0.id == 1 })
    }
}

@Suite struct IndexSnapshotTests {
    func savedIndex() throws -> (ExactIndex, String) {
        let index = ExactIndex(dimension: 128)
        for (i, v) in ExactIndexTests.vectors(200).enumerated() { index.add(id: Int64(i * 3 + 1), vector: v) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID().uuidString).bin").path
        try IndexSnapshot.save(index, modelID: "m", to: path)
        return (index, path)
    }

    @Test func roundTrips() throws {
        let (index, path) = try savedIndex()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = ExactIndex(dimension: 128)
        try IndexSnapshot.load(into: loaded, modelID: "m", from: path)
        #expect(loaded.count == 200 && loaded.maxID == index.maxID)
        let query = ExactIndexTests.vectors(1, seed: 5)[0]
        #expect(loaded.search(query, k: 10) == index.search(query, k: 10))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func refusesDamagedTruncatedAndForeignSnapshots() throws {
        let (_, path) = try savedIndex()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let target = ExactIndex(dimension: 128)
        #expect(throws: IndexSnapshot.LoadError.mismatch("model m, expected other")) {
            try IndexSnapshot.load(into: target, modelID: "other", from: path)
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[1000] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.corrupt("checksum mismatch")) {
            try IndexSnapshot.load(into: target, modelID: "m", from: path)
        }
        try bytes.prefix(30).write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.self) { try IndexSnapshot.load(into: target, modelID: "m", from: path) }
        #expect(target.count == 0, "a refused snapshot loads nothing")
        #expect(throws: IndexSnapshot.LoadError.missing) { try IndexSnapshot.load(into: target, modelID: "m", from: path + ".none") }
    }
}
