import CScan
import Foundation
import Testing

@testable import Index

/// The scan index: its kernel, its recall against exact search, its codebook as the
/// gallery grows, erasure, and its snapshot.
@Suite struct ScanIndexTests {
    /// 10,000 face-like 128-value templates (2,000 identities of 5) and 200 queries: new
    /// samples of gallery identities, and new identities (whose best hits are the
    /// random lookalikes a graph finds hardest).
    static let data: (gallery: [[Float]], queries: [[Float]]) = {
        var generator = SyntheticTemplates(dimension: 128, seed: 11)
        let (gallery, centres) = generator.gallery(identities: 2000, perIdentity: 5)
        var queries = (0..<100).map { generator.sample(around: centres[$0 * 19]) }
        queries += (0..<100).map { _ in generator.sample(around: generator.centre()) }
        return (gallery, queries)
    }()

    static func filled(rescored: Int? = nil) -> ScanIndex {
        let index = ScanIndex(dimension: 128)
        index.rescoredOverride = rescored
        index.add(ids: data.gallery.indices.map { Int64($0 + 1) }, sources: data.gallery.indices.map { Int64($0 % 4) }, vectors: data.gallery)
        return index
    }

    /// Both kernels give every face the sum of its table entries.
    @Test func theKernelsSumTheTableEntriesOfEachCode() {
        for subquantizers in [64, 63, 1] {
            var random = SystemRandomNumberGenerator()
            let blocks = 5
            let codes = (0..<(blocks * subquantizers * 16)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let table = (0..<(subquantizers * 16)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var expected = [UInt16](repeating: 0, count: blocks * 32)
            for block in 0..<blocks {
                for face in 0..<32 {
                    for m in 0..<subquantizers {
                        let byte = codes[(block * subquantizers + m) * 16 + face % 16]
                        let code = face < 16 ? byte & 15 : byte >> 4
                        expected[block * 32 + face] += UInt16(table[m * 16 + Int(code)])
                    }
                }
            }
            var dispatched = [UInt16](repeating: 0, count: blocks * 32), portable = dispatched
            lineup_pq4_scan(codes, blocks, subquantizers, table, &dispatched)
            lineup_pq4_scan_portable(codes, blocks, subquantizers, table, &portable)
            #expect(dispatched == expected, "\(String(cString: lineup_pq4_kernel())), \(subquantizers) subquantisers")
            #expect(portable == expected, "portable, \(subquantizers) subquantisers")
            // The masks of faces above a floor: every face for a negative floor, else those above it.
            let floor = Int32(expected.sorted()[expected.count / 2])
            for threshold in [Int32(-1), floor, 0, 65_535] {
                var sums = [UInt16](repeating: 0, count: blocks * 32), masks = [UInt32](repeating: 0, count: blocks)
                lineup_pq4_scan_above(codes, blocks, subquantizers, table, threshold, &sums, &masks)
                #expect(sums == expected)
                for block in 0..<blocks {
                    let wanted = (0..<32).reduce(UInt32(0)) { mask, face in
                        threshold < 0 || Int32(expected[block * 32 + face]) > threshold ? mask | 1 << face : mask
                    }
                    #expect(masks[block] == wanted, "floor \(threshold), block \(block)")
                }
            }
        }
    }

    /// Against exact search on the same templates: recall@10 of at least 0.99 with the
    /// default re-scoring, for mated and non-mated queries alike; and re-scoring only
    /// ten candidates (the codes' own ranking) is clearly worse, so the figure measures
    /// the codes and the re-scoring, not a scan that is secretly exact.
    @Test func recallAgainstExactSearch() throws {
        let exact = ExactIndex(dimension: 128)
        for (i, vector) in Self.data.gallery.enumerated() { exact.add(id: Int64(i + 1), vector: vector) }
        func recall(_ index: ScanIndex, _ queries: ArraySlice<[Float]>) throws -> Double {
            let found = try queries.map { query in
                Set(try index.search(query, k: 10).map(\.id)).intersection(exact.search(query, k: 10).map(\.id)).count
            }
            return Double(found.reduce(0, +)) / Double(queries.count * 10)
        }
        let scan = Self.filled(), narrow = Self.filled(rescored: 10)
        #expect(try recall(scan, Self.data.queries.prefix(100)) >= 0.99, "mated")
        #expect(try recall(scan, Self.data.queries.suffix(100)) >= 0.99, "non-mated")
        #expect(try recall(narrow, Self.data.queries.suffix(100)) < 0.9, "ten candidates re-scored")
        let hits = try scan.search(Self.data.queries[0], k: 10)
        #expect(hits.map(\.score) == hits.map(\.score).sorted(by: >))
        #expect(hits.allSatisfy { abs($0.score - dot(Self.data.gallery[Int($0.id) - 1], Self.data.queries[0])) < 5e-4 })
    }

    /// Below the training size the templates are scanned directly (exact to half
    /// precision); the codebook is learnt on reaching it and again as the gallery grows.
    @Test func theCodebookIsLearntAsTheGalleryGrows() throws {
        let index = ScanIndex(dimension: 128, trainingFaces: 1000)
        let gallery = Self.data.gallery
        index.add(ids: (1...999).map { Int64($0) }, sources: Array(repeating: 0, count: 999), vectors: Array(gallery[0..<999]))
        #expect(index.storedBytes.codes.isEmpty)
        let early = try index.search(gallery[5], k: 1)
        #expect(early.first?.id == 6)
        index.add(id: 1000, vector: gallery[999])
        #expect(index.storedBytes.codes.count == 32 * 64 * 16, "1,000 faces: 32 blocks of 32 faces' codes")
        index.add(ids: (1001...4500).map { Int64($0) }, sources: Array(repeating: 0, count: 3500), vectors: Array(gallery[1000..<4500]))
        #expect(index.storedBytes.codes.count == 141 * 64 * 16, "learnt again (4,500 faces, four times 1,000), codes for all")
        for probe in [7, 1500, 4400] { #expect(try index.search(gallery[probe], k: 1).first?.id == Int64(probe + 1)) }
    }

    /// Removing faces overwrites their templates and codes: the index no longer holds
    /// their values anywhere, never returns them, and still finds the others.
    @Test func removedFacesLeaveNothingBehind() throws {
        let index = Self.filled()
        let gone = Array(stride(from: Int64(3), through: 10_000, by: 7))
        #expect(index.remove(ids: gone + [99_999]) == gone.count)
        #expect(index.count == 10_000 - gone.count)
        let stored = index.storedBytes
        #expect(stored.vectors.count == index.count * 128, "the arrays shrank to the faces held")
        let held = Set(stride(from: 0, to: stored.vectors.count, by: 128).map { Array(stored.vectors[$0..<($0 + 8)]) })
        for id in gone.prefix(200) {
            let prefix = Self.data.gallery[Int(id) - 1].prefix(8).map { Float16($0) }
            #expect(!held.contains(prefix), "face \(id) is still held")
        }
        for id in gone.prefix(50) {
            let hits = try index.search(Self.data.gallery[Int(id) - 1], k: 10)
            #expect(!hits.contains { Set(gone).contains($0.id) })
        }
        #expect(try index.search(Self.data.gallery[0], k: 1).first?.id == 1)
        #expect(try index.search(Self.data.gallery[9_999], k: 1).first?.id == 10_000)
        index.add(id: 3, vector: Self.data.gallery[2])
        #expect(try index.search(Self.data.gallery[2], k: 1).first?.id == 3, "an erased id can be stored again")
    }

    /// Sources arrive in runs (a source's files are ingested together), so a search
    /// skips the blocks of an excluded source whole; it answers exactly as the filter
    /// asked face by face does, also where runs share a block, after removals have
    /// moved faces between blocks, and after a snapshot.
    @Test func skippingExcludedBlocksAnswersAsTheFilterDoes() throws {
        let index = ScanIndex(dimension: 128)
        index.rescoredOverride = 64
        let gallery = Self.data.gallery
        let sourceOf: @Sendable (Int64) -> Int64 = { id in (id - 1) / 50 % 7 }
        index.add(ids: gallery.indices.map { Int64($0 + 1) }, sources: gallery.indices.map { sourceOf(Int64($0 + 1)) }, vectors: gallery)
        func check(_ index: ScanIndex, _ note: String) throws {
            let excluded: Set<Int64> = [0, 2, 3, 5]
            for query in Self.data.queries.prefix(40) {
                let skipping = try index.search(query, k: 10, filter: SearchFilter(excludedSources: excluded))
                let asking = try index.search(query, k: 10, filter: SearchFilter(admits: { !excluded.contains(sourceOf($0)) }))
                #expect(skipping == asking, "\(note)")
                #expect(skipping.count == 10 && skipping.allSatisfy { !excluded.contains(sourceOf($0.id)) }, "\(note)")
            }
        }
        try check(index, "as filled")
        index.remove(ids: Array(stride(from: Int64(1), through: 10_000, by: 3)))
        try check(index, "after removals")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try index.save(modelID: "m", to: folder + "/scan.bin", sealing: nil)
        let loaded = try ScanIndex.load(modelID: "m", from: folder + "/scan.bin")
        loaded.rescoredOverride = 64
        try check(loaded, "loaded")
    }

    /// A sealed snapshot answers like the original; a damaged one is refused.
    @Test func aSnapshotAnswersLikeTheOriginal() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let index = Self.filled()
        index.remove(ids: [1, 2, 3])
        try index.save(modelID: "m", to: folder + "/scan.bin", sealing: nil)
        let loaded = try ScanIndex.load(modelID: "m", from: folder + "/scan.bin")
        #expect(loaded.count == index.count && loaded.maxID == index.maxID)
        for query in Self.data.queries.prefix(20) { #expect(try loaded.search(query, k: 10) == index.search(query, k: 10)) }
        #expect(throws: IndexSnapshot.LoadError.mismatch("model m, expected other")) {
            try ScanIndex.load(modelID: "other", from: folder + "/scan.bin")
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/scan.bin"))
        bytes[bytes.count / 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: folder + "/damaged.bin"))
        #expect(throws: IndexSnapshot.LoadError.self) { try ScanIndex.load(modelID: "m", from: folder + "/damaged.bin") }
    }
}
