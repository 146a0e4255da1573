import Foundation
import Synchronization
import Testing

@testable import Index

/// Face-like vectors from the index module's seeded generator.
enum FaceLikeData {
    static func make(identities: Int, perIdentity: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var generator = SyntheticTemplates(dimension: dimension, seed: seed)
        return generator.gallery(identities: identities, perIdentity: perIdentity).templates
    }

    static func recall(
        _ index: HNSWIndex, _ oracle: ExactIndex, queries: [[Float]], k: Int,
        filter: SearchFilter = .all
    ) -> Double {
        var found = 0, total = 0
        for query in queries {
            let truth = Set(oracle.search(query, k: k, filter: filter).map(\.id))
            found += index.search(query, k: k, filter: filter).filter { truth.contains($0.id) }.count
            total += truth.count
        }
        return Double(found) / Double(max(1, total))
    }
}

@Suite struct HNSWTests {
    static let data = FaceLikeData.make(identities: 800, perIdentity: 4, dimension: 64, seed: 11)
    static let queries =
        FaceLikeData.make(identities: 60, perIdentity: 1, dimension: 64, seed: 12)
        + Array(data.prefix(3200).enumerated().filter { $0.offset % 80 == 0 }.map(\.element))
    static let parameters = HNSWIndex.Parameters(m: 12, efConstruction: 100, efSearch: 64, seed: 7)

    static func build(_ vectors: [(Int64, [Float])]) -> (HNSWIndex, ExactIndex) {
        let graph = HNSWIndex(dimension: 64, parameters: parameters), exact = ExactIndex(dimension: 64)
        for (id, vector) in vectors {
            graph.add(id: id, vector: vector)
            exact.add(id: id, vector: vector)
        }
        return (graph, exact)
    }

    static var all: [(Int64, [Float])] { data.enumerated().map { (Int64($0.offset + 1), $0.element) } }

    @Test func recallAgainstExactSearch() {
        let (graph, exact) = Self.build(Self.all)
        #expect(graph.count == 3200)
        let recall = FaceLikeData.recall(graph, exact, queries: Self.queries, k: 10)
        #expect(recall >= 0.95, "recall@10 \(recall)")
    }

    /// Returned scores are re-scored from half precision: within 2⁻¹¹ of the exact
    /// inner product of unit vectors, whatever the int8 walk estimated.
    @Test func scoresAreExactToHalfPrecision() {
        let (graph, exact) = Self.build(Self.all)
        var worst: Float = 0
        for query in Self.queries {
            let truth = Dictionary(uniqueKeysWithValues: exact.search(query, k: 50).map { ($0.id, $0.score) })
            for hit in graph.search(query, k: 10) {
                guard let score = truth[hit.id] else { continue }
                worst = max(worst, abs(hit.score - score))
            }
        }
        #expect(worst > 0 && worst < 4.9e-4, "largest score error \(worst)")
    }

    @Test func buildsAreReproducibleWithASeed() {
        let (a, _) = Self.build(Array(Self.all.prefix(600)))
        let (b, _) = Self.build(Array(Self.all.prefix(600)))
        for query in Self.queries.prefix(10) { #expect(a.search(query, k: 10) == b.search(query, k: 10)) }
    }

    /// Deleting 30 % (one by one, or in one batch as an erasure of a source does)
    /// keeps recall on the rest within a point of a fresh build, erases the vectors
    /// and never returns a deleted id.
    @Test(arguments: [false, true])
    func deletesEraseAndKeepRecall(batched: Bool) {
        let (graph, exact) = Self.build(Self.all)
        // A fixed, scattered 30 %: ids whose multiplicative hash falls in the first three tenths.
        let doomed = Set(Self.all.map(\.0).filter { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 % 10 < 3 })
        if batched {
            #expect(graph.remove(ids: Array(doomed) + [999_999]) == doomed.count)
        }
        for id in doomed {
            if !batched { #expect(graph.remove(id: id)) }
            exact.remove(id: id)
        }
        #expect(!graph.remove(id: doomed.first!))
        #expect(graph.count == 3200 - doomed.count)
        let afterDeletes = FaceLikeData.recall(graph, exact, queries: Self.queries, k: 10)
        let (fresh, freshExact) = Self.build(Self.all.filter { !doomed.contains($0.0) })
        let freshRecall = FaceLikeData.recall(fresh, freshExact, queries: Self.queries, k: 10)
        #expect(afterDeletes >= freshRecall - 0.01, "after deletes \(afterDeletes), fresh \(freshRecall)")
        for query in Self.queries { #expect(!graph.search(query, k: 20).contains { doomed.contains($0.id) }) }
        // The erased vectors are nowhere in the index's memory.
        let stored = graph.storedBytes.vectors
        for id in doomed.prefix(50) {
            let erased = Self.data[Int(id) - 1].map { Float16($0) }
            #expect(!stride(from: 0, to: stored.count, by: 64).contains { Array(stored[$0..<$0 + 64]) == erased })
        }
        // Nor are their int8 codes.
        let codes = graph.storedBytes.codes, stride = graph.storage.codeStride
        for id in doomed.prefix(50) {
            var code = [Int8](repeating: 0, count: stride)
            Self.data[Int(id) - 1].withUnsafeBufferPointer { graph.quantizer.encode($0.baseAddress!, into: &code) }
            #expect(!Swift.stride(from: 0, to: codes.count, by: stride).contains { Array(codes[$0..<$0 + stride]) == code })
        }
        // Freed slots are reused.
        graph.add(id: 10_000, vector: Self.data[0])
        #expect(graph.storedBytes.vectors.count == 3200 * 64)
        #expect(graph.search(Self.data[0], k: 1).first?.id == 10_000 || !doomed.contains(1))
    }

    /// A filter that keeps 10 % of the faces loses at most 2 points of recall.
    @Test func filteredSearchKeepsRecall() {
        let (graph, exact) = Self.build(Self.all)
        let filter = SearchFilter(admits: { $0 % 10 == 3 })
        let unfiltered = FaceLikeData.recall(graph, exact, queries: Self.queries, k: 10)
        let filtered = FaceLikeData.recall(graph, exact, queries: Self.queries, k: 10, filter: filter)
        #expect(filtered >= unfiltered - 0.02, "filtered \(filtered), unfiltered \(unfiltered)")
        for query in Self.queries { #expect(graph.search(query, k: 10, filter: filter).allSatisfy { $0.id % 10 == 3 }) }
    }

    /// A filter keeping 1 % is answered by scoring the accepted faces directly: exact
    /// up to half precision, so every face returned truly scores within twice the
    /// rounding bound of the true k-th best, and none of them is missed by more.
    @Test func verySelectiveFilterIsExact() {
        let (graph, exact) = Self.build(Self.all)
        let filter = SearchFilter(admits: { $0 % 100 == 7 })
        for query in Self.queries {
            let truth = exact.search(query, k: 32, filter: filter)
            let scores = Dictionary(uniqueKeysWithValues: truth.map { ($0.id, $0.score) })
            let found = graph.search(query, k: 10, filter: filter)
            #expect(found.count == 10)
            #expect(found.allSatisfy { scores[$0.id] ?? -1 >= truth[9].score - 9.8e-4 })
        }
    }

    /// Two threads building one graph: every vector lands once and recall holds.
    @Test func parallelBuildKeepsRecall() {
        let graph = HNSWIndex(dimension: 64, parameters: Self.parameters), exact = ExactIndex(dimension: 64)
        graph.add(ids: Self.all.map(\.0), vectors: Self.all.map(\.1), threads: 2)
        for (id, vector) in Self.all { exact.add(id: id, vector: vector) }
        #expect(graph.count == 3200)
        #expect(Set(Self.all.map(\.0).filter { id in graph.search(Self.data[Int(id) - 1], k: 1).first?.id == id }).count >= 3150)
        let recall = FaceLikeData.recall(graph, exact, queries: Self.queries, k: 10)
        #expect(recall >= 0.95, "recall@10 \(recall)")
    }

    /// Searches keep running while inserts go on, and every one of them finds a full
    /// list: a search never walks into a half-linked node. Real threads, so the
    /// searchers and the inserter truly overlap whatever else the test run does.
    @Test func searchesRunInParallelWithInserts() {
        let graph = HNSWIndex(dimension: 64, parameters: Self.parameters)
        for (id, vector) in Self.all.prefix(1000) { graph.add(id: id, vector: vector) }
        final class Progress: Sendable {
            let inserting = Atomic<Bool>(true), started = Atomic<Int>(0), searches = Atomic<Int>(0), short = Atomic<Int>(0)
        }
        let progress = Progress(), finished = DispatchGroup()
        for worker in 0..<3 {
            finished.enter()
            Thread {
                progress.started.add(1, ordering: .relaxed)
                var round = worker
                while progress.inserting.load(ordering: .acquiring), round < 1_000_000 {
                    if graph.search(Self.queries[round % Self.queries.count], k: 5).count != 5 {
                        progress.short.add(1, ordering: .relaxed)
                    }
                    progress.searches.add(1, ordering: .relaxed)
                    round += 1
                }
                finished.leave()
            }.start()
        }
        while progress.started.load(ordering: .relaxed) < 3 { usleep(1000) }
        for (id, vector) in Self.all[1000..<2200] { graph.add(id: id, vector: vector) }
        progress.inserting.store(false, ordering: .releasing)
        finished.wait()
        let (searches, short) = (progress.searches.load(ordering: .relaxed), progress.short.load(ordering: .relaxed))
        #expect(graph.count == 2200)
        #expect(searches > 100)
        #expect(short == 0, "\(short) of \(searches) searches were short")
    }
}

@Suite struct HNSWSnapshotTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-graph-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func savedGraphAnswersLikeTheOriginal() throws {
        let (graph, _) = HNSWTests.build(Array(HNSWTests.all.prefix(1500)))
        for id in Int64(1)...40 { graph.remove(id: id) }
        let path = try Self.folder() + "/graph.bin"
        try graph.save(modelID: "test-model", to: path)
        let loaded = try HNSWIndex.load(modelID: "test-model", from: path)
        #expect(loaded.count == graph.count)
        #expect(loaded.parameters.m == graph.parameters.m)
        for query in HNSWTests.queries.prefix(30) { #expect(loaded.search(query, k: 10) == graph.search(query, k: 10)) }
        // Freed slots survive the round trip and are reused.
        loaded.add(id: 99_999, vector: HNSWTests.data[0])
        #expect(loaded.storedBytes.vectors.count == graph.storedBytes.vectors.count)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func damagedGraphFilesAreRefusedWithAReason() throws {
        let (graph, _) = HNSWTests.build(Array(HNSWTests.all.prefix(300)))
        let path = try Self.folder() + "/graph.bin"
        try graph.save(modelID: "test-model", to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.mismatch("model test-model, expected other-model")) {
            try HNSWIndex.load(modelID: "other-model", from: path)
        }
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        try flipped.write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.corrupt("checksum mismatch")) { try HNSWIndex.load(modelID: "test-model", from: path) }
        try good.prefix(good.count - 1000).write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.corrupt("checksum mismatch")) { try HNSWIndex.load(modelID: "test-model", from: path) }
        try Data("LINEUPHN".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexSnapshot.LoadError.corrupt("too short: 8 bytes")) { try HNSWIndex.load(modelID: "test-model", from: path) }
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: IndexSnapshot.LoadError.missing) { try HNSWIndex.load(modelID: "test-model", from: path) }
    }
}
