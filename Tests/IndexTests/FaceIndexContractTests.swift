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

    static func engines() -> [any SnapshottingIndex] {
        let exact = ExactIndex(dimension: 64), graph = HNSWIndex(dimension: 64)
        exact.add(faces)
        graph.add(faces)
        return [exact, graph]
    }

    @Test func excludedSourcesAndFacesNeverComeBack() throws {
        for index in Self.engines() {
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

    @Test func sourcesSurviveASnapshot() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contract-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (exact, graph) = (ExactIndex(dimension: 64), HNSWIndex(dimension: 64))
        exact.add(Self.faces)
        graph.add(Self.faces)
        try exact.save(modelID: "m", to: folder + "/exact.bin", sealing: nil)
        try graph.save(modelID: "m", to: folder + "/graph.bin", sealing: nil)
        let loadedExact = ExactIndex(dimension: 64)
        try IndexSnapshot.load(into: loadedExact, modelID: "m", from: folder + "/exact.bin")
        let loadedGraph = try HNSWIndex.load(modelID: "m", from: folder + "/graph.bin")
        let onlySourceTwo = SearchFilter(excludedSources: [1, 3, 4, 5, 6])
        for index in [loadedExact, loadedGraph] as [any FaceIndex] {
            let hits = try index.search(Self.faces[1].vector, k: 10, filter: onlySourceTwo)
            #expect(hits.count == 10 && hits.allSatisfy { Self.faces[Int($0.id) - 1].source == 2 }, "\(index.engine)")
        }
    }

    @Test func idsAreListedByRange() throws {
        for index in Self.engines() {
            #expect(try index.faceIDs(in: 100..<110) == Set(100..<110), "\(index.engine)")
            #expect(try index.count(upTo: 600) == 600)
            try index.remove(ids: [105, 700])
            #expect(try index.faceIDs(in: 100..<110) == Set(100..<110).subtracting([105]))
            #expect(index.countInProcess == 599)
        }
    }
}
