import Foundation
import Index
import TestSupport
import Testing

@testable import Milvus

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The Milvus index against a real Milvus 2.3.5 standalone server (started by
/// scripts/cluster.sh, which .ci/run calls), with exact search as the oracle.
@Suite(.serialized) struct MilvusIndexTests {
    static let url = URL(string: ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530")!
    static let reachable: Bool = {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var ok = false
        var request = URLRequest(url: url.appendingPathComponent("v1/vector/collections"), timeoutInterval: 3)
        request.httpMethod = "GET"
        URLSession.shared.dataTask(with: request) { data, _, _ in
            ok = data.map { String(decoding: $0, as: UTF8.self).contains("\"code\":200") } ?? false
            done.signal()
        }.resume()
        done.wait()
        return ok
    }()

    /// A gallery of face-like templates spread over organisations, sources and jurisdictions.
    static func rows(_ n: Int, seed: UInt64) -> [IndexedFace] {
        var generator = SyntheticTemplates(dimension: 128, seed: seed)
        let templates = generator.gallery(identities: n / 5, perIdentity: 5).templates
        let jurisdictions = ["GB", "FR", "US-IL", "US-NY"]
        return templates.enumerated().map { index, vector in
            IndexedFace(
                id: Int64(index + 1), vector: vector, source: Int64(index % 7 + 1), organisation: Int64(index % 3 + 1),
                jurisdiction: jurisdictions[index % 4])
        }
    }

    /// A fresh collection, filled and visible to searches (Milvus shows inserts after
    /// its bounded-consistency delay), dropped after `body`.
    static func withIndex(_ rows: [IndexedFace], _ body: (MilvusIndex) async throws -> Void) async throws {
        let index = MilvusIndex(
            client: MilvusClient(baseURL: url), modelID: "test-" + UUID().uuidString.prefix(8).lowercased(),
            dimension: 128)
        try index.open()
        do {
            try index.add(rows)
            // Visible to an exact query of face ids (a scalar filter, not the vector index).
            var seen = 0
            try await eventually(
                "the inserted rows to show", progress: { "\(seen) of \(rows.count) rows" },
                check: {
                    seen = try index.count(upTo: Int64(rows.count))
                    return seen == rows.count
                })
            try await body(index)
        } catch {
            try? index.drop()
            throw error
        }
        try index.drop()
    }

    static func eventually(
        _ what: String, seconds: Double = 300, progress found: () -> String = { "" },
        check: () async throws -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("waited \(Int(seconds)) s for \(what); last seen: \(found())")
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"))
    func searchesAgreeWithExactSearch() async throws {
        let rows = Self.rows(3000, seed: 11)
        let exact = ExactIndex(dimension: 128)
        for row in rows { exact.add(id: row.id, vector: row.vector) }
        var generator = SyntheticTemplates(dimension: 128, seed: 12)
        let queries = (0..<40).map { q in q % 2 == 0 ? generator.sample(around: rows[q * 37].vector) : generator.centre() }
        try await Self.withIndex(rows) { index in
            var found = 0
            for query in queries {
                let truth = exact.search(query, k: 10)
                let hits = try index.search(query, k: 10)
                #expect(hits.count == 10)
                found += Set(hits.map(\.id)).intersection(truth.map(\.id)).count
                for hit in hits {
                    let stored = rows[Int(hit.id) - 1].vector
                    #expect(abs(hit.score - zip(stored, query).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-3, "scores are inner products")
                }
            }
            #expect(Double(found) / Double(queries.count * 10) >= 0.95, "recall@10 \(Double(found) / Double(queries.count * 10))")
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"))
    func policyScopesRunInsideMilvus() async throws {
        let rows = Self.rows(1500, seed: 21)
        let byFace = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
        try await Self.withIndex(rows) { index in
            let query = rows[100].vector
            let withoutSources = try index.search(query, k: 50, scope: .init(excludedSources: [rows[100].source, 3]))
            #expect(withoutSources.count == 50)
            #expect(withoutSources.allSatisfy { ![rows[100].source, 3].contains(byFace[$0.id]!.source) })

            let ownOnly = try index.search(query, k: 50, scope: .init(organisations: [2]))
            #expect(ownOnly.count == 50 && ownOnly.allSatisfy { byFace[$0.id]!.organisation == 2 })

            let noUS = try index.search(query, k: 50, scope: .init(excludedJurisdictions: ["US"]))
            #expect(noUS.count == 50 && noUS.allSatisfy { !byFace[$0.id]!.jurisdiction.hasPrefix("US") })

            let optedOut: Set<Int64> = [rows[100].id, rows[101].id]
            let fewFaces = try index.search(query, k: 10, scope: .init(excludedFaces: optedOut))
            #expect(fewFaces.count == 10 && fewFaces.allSatisfy { !optedOut.contains($0.id) })

            // More faces than an expression carries are dropped from the answer instead.
            let many = Set(rows.prefix(1200).map(\.id))
            let manyFaces = try index.search(query, k: 10, scope: .init(excludedFaces: many))
            #expect(manyFaces.count == 10 && manyFaces.allSatisfy { !many.contains($0.id) })

            // Nothing but ISO codes reaches an expression.
            #expect(MilvusIndex.Scope(excludedJurisdictions: ["GB\" or face > 0 or \""]).expression == nil)
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"))
    func removedFacesLeaveTheIndex() async throws {
        let rows = Self.rows(1000, seed: 31)
        try await Self.withIndex(rows) { index in
            let gone = rows[10..<15].map(\.id)
            #expect(try index.delete(faceIDs: gone) == 5)
            try await Self.eventually("the deletion to show") {
                let hits = try index.search(rows[12].vector, k: 20)
                return !hits.contains { gone.contains($0.id) }
            }
            #expect(try index.delete(faceIDs: gone) == 0, "nothing is left to remove")
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"))
    func aFaceAddedTwiceIsOneHitAndOneRemoval() async throws {
        let rows = Self.rows(200, seed: 41)
        try await Self.withIndex(rows) { index in
            try index.add([rows[7]])
            try await Self.eventually("the second copy to show") {
                try index.faceIDs(in: 0..<index.idRangeLimit).count == rows.count
                    && index.client.query(index.collection, filter: "face == \(rows[7].id)", fields: ["face"]).count == 2
            }
            let hits = try index.search(rows[7].vector, k: 5)
            #expect(hits.first?.id == rows[7].id && hits.filter { $0.id == rows[7].id }.count == 1)
            #expect(try index.delete(faceIDs: [rows[7].id]) == 2, "both copies go")
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"))
    func aCollectionOfAnotherDimensionIsRefused() async throws {
        let modelID = "dim-" + UUID().uuidString.prefix(8).lowercased()
        let small = MilvusIndex(client: MilvusClient(baseURL: Self.url), modelID: modelID, dimension: 64)
        try small.open()
        let large = MilvusIndex(client: MilvusClient(baseURL: Self.url), modelID: modelID, dimension: 128)
        #expect(throws: MilvusError.self) { try large.open() }
        try small.drop()
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        let index = MilvusIndex(client: MilvusClient(baseURL: URL(string: "http://127.0.0.1:9")!, timeout: 3), modelID: "x", dimension: 8)
        do {
            try index.open()
            Issue.record("no error")
        } catch let error as MilvusError {
            #expect(error.description.hasPrefix("Milvus cannot be reached at http://127.0.0.1:9"))
        }
    }
}
