import Foundation
import Index
import Testing

/// What every in-process engine of `FaceIndex` must do alike: leave out excluded
/// sources and faces inside the search, keep each face's source through a snapshot,
/// and list its ids by range.
@Suite struct FaceIndexContractTests {
    /// 600 synthetic templates of 60 identities, spread over 6 sources.
    static let faces: [IndexedFace] = {
        var generator = SyntheticTemplates(dimension: 64, seed: 7)
        return generator.gallery(identities: 60, perIdentity: 10).templates.enumerated().map { i, vector in
            IndexedFace(id: Int64(i + 1), vector: vector, source: Int64(i % 6 + 1))
        }
    }()

    static func engines() throws -> [any SnapshottingIndex] {
        let exact = ExactIndex(dimension: 64), graph = HNSWIndex(dimension: 64)
        // Codes learnt from the first 100 faces, and fewer candidates re-scored than
        // the gallery holds, so the code scan itself is what is checked.
        let scan = ScanIndex(dimension: 64, trainingFaces: 100)
        scan.rescoredOverride = 40
        for index in [exact, graph, scan] as [any FaceIndex] { try index.add(faces) }
        return [exact, graph, scan]
    }

    @Test func excludedSourcesAndFacesNeverComeBack() throws {
        for index in try Self.engines() {
            for query in Self.faces.prefix(20).map(\.vector) {
                let filter = SearchFilter(excludedSources: [1, 4], excludedFaces: [2, 3, 9])
                let hits = try index.search(query, k: 20, filter: filter)
                #expect(hits.count == 20, "\(index.engine)")
                for hit in hits {
                    let face = Self.faces[Int(hit.id) - 1]
                    #expect(![1, 4].contains(face.source) && ![2, 3, 9].contains(hit.id), "\(index.engine) returned face \(hit.id)")
                }
            }
        }
    }

    /// The exclusion inside the index (each slot's source) answers exactly as the old
    /// filter did, a set of every face id of the excluded sources built for the search
    /// and asked per candidate: the same hits in the same order, for half the gallery
    /// left out and for one source.
    @Test func anExclusionInsideTheIndexGivesWhatTheIDSetFilterGave() throws {
        for excluded in [Set<Int64>([1, 2, 3]), [5]] {
            let idsOfExcluded = Set(Self.faces.filter { excluded.contains($0.source) }.map(\.id))
            for index in try Self.engines() {
                for query in Self.faces.prefix(30).map(\.vector) {
                    let inside = try index.search(query, k: 10, filter: SearchFilter(excludedSources: excluded))
                    let bySet = try index.search(query, k: 10, filter: SearchFilter(admits: { !idsOfExcluded.contains($0) }))
                    #expect(inside == bySet, "\(index.engine), sources \(excluded.sorted())")
                    #expect(inside.count == 10)
                }
            }
        }
    }

    /// A range search scores every face: it finds exactly what an exhaustive float scan
    /// finds above the threshold (the graph's half-precision scores within its tolerance).
    @Test func aRangeSearchMissesNothingAboveItsThreshold() throws {
        for index in try Self.engines() {
            for query in Self.faces.prefix(20).map(\.vector) {
                let threshold: Float = 0.3
                let truth = Set(Self.faces.filter { dot($0.vector, query) >= threshold }.map(\.id))
                let found = try #require(try index.rangeSearch(query, minScore: threshold - index.rangeScoreTolerance))
                #expect(truth.isSubset(of: Set(found.map(\.id))), "\(index.engine) missed a face")
                #expect(found.allSatisfy { abs($0.score - dot(Self.faces[Int($0.id) - 1].vector, query)) <= index.rangeScoreTolerance })
                #expect(found.map(\.score) == found.map(\.score).sorted(by: >))
                #expect(truth.count > 1, "the threshold finds the identity's other samples")
            }
        }
    }

    @Test func sourcesSurviveASnapshot() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contract-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let engines = try Self.engines()
        for (i, index) in engines.enumerated() { try index.save(modelID: "m", to: folder + "/\(i).bin", sealing: nil) }
        let loadedExact = ExactIndex(dimension: 64)
        try IndexSnapshot.load(into: loadedExact, modelID: "m", from: folder + "/0.bin")
        let loadedGraph = try HNSWIndex.load(modelID: "m", from: folder + "/1.bin")
        let loadedScan = try ScanIndex.load(modelID: "m", from: folder + "/2.bin")
        let onlySourceTwo = SearchFilter(excludedSources: [1, 3, 4, 5, 6])
        for index in [loadedExact, loadedGraph, loadedScan] as [any FaceIndex] {
            let hits = try index.search(Self.faces[1].vector, k: 10, filter: onlySourceTwo)
            #expect(hits.count == 10 && hits.allSatisfy { Self.faces[Int($0.id) - 1].source == 2 }, "\(index.engine)")
        }
    }

    @Test func idsAreListedByRange() throws {
        for index in try Self.engines() {
            #expect(try index.faceIDs(in: 100..<110) == Set(100..<110), "\(index.engine)")
            #expect(try index.count(upTo: 600) == 600)
            try index.remove(ids: [105, 700])
            #expect(try index.faceIDs(in: 100..<110) == Set(100..<110).subtracting([105]))
            #expect(index.countInProcess == 599)
        }
    }
}
