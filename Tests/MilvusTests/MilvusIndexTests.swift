import Foundation
import Index
import TestSupport
import Testing

@testable import Milvus

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The Milvus index against a real Milvus 2.3.5 standalone server (started by
/// scripts/cluster.sh, which .ci/run calls), through its gRPC API, with exact search
/// as the oracle.
@Suite(.serialized) struct MilvusIndexTests {
    static let url = URL(string: ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530")!
    static let reachable: Bool = (try? MilvusClient(address: url, timeout: 5).version()) != nil
    static let why: Comment = "no Milvus at LINEUP_MILVUS_URL or 127.0.0.1:19530: scripts/cluster.sh start"

    /// A gallery of face-like templates spread over sources and jurisdictions, and
    /// over three organisations unless `organisation` names the one.
    static func rows(_ n: Int, seed: UInt64, organisation: Int64? = nil) -> [IndexedFace] {
        var generator = SyntheticTemplates(dimension: 128, seed: seed)
        let templates = generator.gallery(identities: n / 5, perIdentity: 5).templates
        let jurisdictions = ["GB", "FR", "US-IL", "US-NY"]
        return templates.enumerated().map { index, vector in
            IndexedFace(
                id: Int64(index + 1), vector: vector, source: Int64(index % 7 + 1), organisation: organisation ?? Int64(index % 3 + 1),
                jurisdiction: jurisdictions[index % 4])
        }
    }

    static func fresh(dimension: Int = 128, prefix: String = "test", layout: MilvusIndexLayout = .hnsw()) throws -> MilvusIndex {
        MilvusIndex(
            client: try MilvusClient(address: url), modelID: prefix + "-" + UUID().uuidString.prefix(8).lowercased(),
            dimension: dimension, layout: layout)
    }

    /// A fresh collection, filled, dropped after `body`. Nothing waits for the rows
    /// to show: the index's searches are at session consistency, so they see what
    /// this process wrote.
    static func withIndex(
        _ rows: [IndexedFace], sealed: Bool = false, layout: MilvusIndexLayout = .hnsw(), _ body: (MilvusIndex) throws -> Void
    ) throws {
        let index = try fresh(layout: layout)
        try index.open()
        defer { try? index.drop() }
        try index.add(rows)
        if sealed {
            // Sealed and indexed: searches walk the HNSW graph, not a brute-force scan of growing rows.
            try index.waitUntilIndexed(rows: rows.count, seconds: 300)
        }
        try body(index)
    }

    static func recall(_ index: MilvusIndex, _ rows: [IndexedFace], queries: [[Float]], effort: Int? = nil) throws -> Double {
        let exact = ExactIndex(dimension: 128)
        for row in rows { exact.add(id: row.id, vector: row.vector) }
        var found = 0
        for query in queries {
            let truth = Set(exact.search(query, k: 10).map(\.id))
            let hits = try index.search(query, k: 10, effort: effort)
            #expect(hits.count == 10)
            found += hits.count { truth.contains($0.id) }
        }
        return Double(found) / Double(queries.count * 10)
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func theChosenEffortReachesTheRecallTargetOnTheGraph() throws {
        let rows = Self.rows(5000, seed: 11)
        var generator = SyntheticTemplates(dimension: 128, seed: 12)
        // Half mated (a new sample of a gallery face's identity), half non-mated.
        let queries = (0..<100).map { q in q % 2 == 0 ? generator.sample(around: rows[q * 37].vector) : generator.centre() }
        try Self.withIndex(rows, sealed: true) { index in
            guard case .hnsw(let m, let efConstruction) = index.builtLayout else {
                Issue.record("the collection's index is \(index.builtLayout), not HNSW")
                return
            }
            #expect(m == 32 && efConstruction == 200, "Lineup's choice, read back from Milvus")
            let chosen = try index.searchEffort(limit: 10 + MilvusIndex.searchSlack)
            let atChosen = try Self.recall(index, rows, queries: queries)
            #expect(atChosen >= index.recallTarget, "recall@10 \(atChosen) at ef \(chosen)")
            for hit in try index.search(queries[0], k: 10) {
                let stored = rows[Int(hit.id) - 1].vector
                #expect(abs(hit.score - zip(stored, queries[0]).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-3, "scores are inner products")
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func eachSearchSetsItsOwnEffort() throws {
        // One organisation, so one segment large enough for Milvus to index (it
        // scans segments under 1,024 rows instead), in 128 inverted lists: one
        // list probed finds a fraction of the ten best, every list nearly all.
        let rows = Self.rows(5000, seed: 61, organisation: 1)
        var generator = SyntheticTemplates(dimension: 128, seed: 62)
        let queries = (0..<60).map { _ in generator.centre() }
        try Self.withIndex(rows, sealed: true, layout: .ivfSQ8(nlist: 128)) { index in
            #expect(index.builtLayout == .ivfSQ8(nlist: 128))
            let one = try Self.recall(index, rows, queries: queries, effort: 1)
            let every = try Self.recall(index, rows, queries: queries, effort: 128)
            #expect(one < 0.8 && every >= 0.95, "nprobe 1: \(one), nprobe 128: \(every)")
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func thePartitionKeyKeepsAnOrganisationsSearchInsideItsPartitions() throws {
        // Organisation 2's faces are copies of organisation 1's, slightly moved: for
        // every query, organisation 1 holds the nearest faces.
        let base = Self.rows(600, seed: 51, organisation: 1)
        var generator = SyntheticTemplates(dimension: 128, seed: 52)
        let copies = base.map { face in
            IndexedFace(id: face.id + 10_000, vector: generator.sample(around: face.vector), source: 99, organisation: 2, jurisdiction: "FR")
        }
        try Self.withIndex(base + copies) { index in
            let unscoped = try index.search(base[5].vector, k: 10)
            #expect(unscoped.first?.id == base[5].id)
            let theirs = try index.search(base[5].vector, k: 10, scope: .init(organisations: [2]))
            #expect(theirs.count == 10 && theirs.allSatisfy { $0.id > 10_000 }, "\(theirs.map(\.id))")
            let describe = try index.describeCollection()
            #expect(describe.schema.fields.first { $0.isPartitionKey }?.name == "organisation")
            #expect(describe.schema.fields.first { $0.isPrimaryKey }.map { $0.name == "face" && !$0.autoID } == true)
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func policyScopesRunInsideMilvus() throws {
        let rows = Self.rows(1500, seed: 21)
        let byFace = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
        try Self.withIndex(rows) { index in
            let query = rows[100].vector
            let withoutSources = try index.search(query, k: 50, scope: .init(excludedSources: [rows[100].source, 3]))
            #expect(withoutSources.count == 50)
            #expect(withoutSources.allSatisfy { ![rows[100].source, 3].contains(byFace[$0.id]!.source) })

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
            #expect(MilvusIndex.Scope(excludedJurisdictions: ["GB\" or face > 0 or \""]).expression.isEmpty)
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func deletingByPrimaryKeyRemovesTheFaceFromTheNextStrongSearch() throws {
        let rows = Self.rows(1000, seed: 31)
        try Self.withIndex(rows) { index in
            let gone = rows[10..<15].map(\.id)
            #expect(try index.search(rows[12].vector, k: 20, consistency: .strong).contains { gone.contains($0.id) })
            #expect(try index.delete(faceIDs: gone) == 5)
            // A second client, which has not written anything: strong consistency, not its session, shows the deletion.
            let other = MilvusIndex(client: try MilvusClient(address: Self.url), modelID: "", dimension: 128, collection: index.collection)
            try other.open()
            let hits = try other.search(rows[12].vector, k: 20, consistency: .strong)
            #expect(hits.count == 20 && !hits.contains { gone.contains($0.id) }, "\(hits.map(\.id))")
            #expect(try other.faceIDs(in: 0..<index.idRangeLimit).count == rows.count - 5)
            // Flushed and compacted: the deleted rows are rewritten out of Milvus's storage, and nothing else goes.
            try index.flush()
            try index.compact()
            #expect(try other.faceIDs(in: 0..<index.idRangeLimit).count == rows.count - 5)
            #expect(try index.search(rows[12].vector, k: 20, consistency: .strong).allSatisfy { !gone.contains($0.id) })
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func aFaceAddedTwiceIsOneRow() throws {
        let rows = Self.rows(200, seed: 41)
        try Self.withIndex(rows) { index in
            var moved = rows[7]
            moved.source = 6
            try index.add([moved])
            #expect(try index.faceIDs(in: 0..<index.idRangeLimit).count == rows.count)
            let hits = try index.search(rows[7].vector, k: 5, scope: .init(excludedSources: [rows[7].source]))
            #expect(hits.first?.id == rows[7].id, "the replacement, with its new source, is the row searched")
            #expect(try index.delete(faceIDs: [rows[7].id]) == 1)
        }
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func aCollectionMadeByTheRestfulV1ClientIsRefusedAndUntouched() throws {
        // Made the way Lineup's earlier client made its collections: Milvus's RESTful
        // API v1, which gives rows automatic ids and has no partition key.
        let name = "v1_" + UUID().uuidString.prefix(8).lowercased()
        let made = try Self.rest(
            "/v1/vector/collections/create",
            ["collectionName": name, "dimension": 128, "metricType": "IP", "primaryField": "id", "vectorField": "vector"])
        #expect(made.contains("\"code\":200"), "\(made)")
        let index = MilvusIndex(client: try MilvusClient(address: Self.url), modelID: "", dimension: 128, collection: name)
        defer { try? index.drop() }
        do {
            try index.open()
            Issue.record("a v1 collection was opened")
        } catch MilvusError.layout(let message) {
            #expect(message.contains("RESTful v1 client") && message.contains("lineup reconcile --rebuild-index"), "\(message)")
        }
        let untouched = try index.client.call("DescribeIndex") { service, metadata, options in
            try await service.describeIndex(.with { $0.collectionName = name }, metadata: metadata, options: options)
        }
        #expect(
            untouched.indexDescriptions.first?.params.first { $0.key == "index_type" }?.value == "AUTOINDEX", "Lineup made no index of its own on it")
    }

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: reachable), why))
    func aCollectionOfAnotherDimensionIsRefused() throws {
        let small = try Self.fresh(dimension: 64, prefix: "dim")
        try small.open()
        defer { try? small.drop() }
        let large = MilvusIndex(client: try MilvusClient(address: Self.url), modelID: "", dimension: 128, collection: small.collection)
        #expect(throws: MilvusError.self) { try large.open() }
    }

    @Test func anUnreachableServerIsAClearError() throws {
        let index = MilvusIndex(client: try MilvusClient(address: URL(string: "http://127.0.0.1:9")!, timeout: 3), modelID: "x", dimension: 8)
        do {
            try index.open()
            Issue.record("no error")
        } catch let error as MilvusError {
            #expect(error.description.hasPrefix("Milvus cannot be reached at http://127.0.0.1:9"), "\(error)")
        }
        #expect(throws: MilvusError.self) { _ = try MilvusClient(address: URL(string: "ftp://127.0.0.1")!) }
    }

    @Test func theEffortGrowsWithTheGalleryAndTheTarget() {
        let layout = MilvusIndexLayout.hnsw()
        let small = MilvusSearchEffort.effort(layout: layout, faces: 1_000_000, recallTarget: 0.95, limit: 10)
        let large = MilvusSearchEffort.effort(layout: layout, faces: 100_000_000, recallTarget: 0.95, limit: 10)
        let strict = MilvusSearchEffort.effort(layout: layout, faces: 1_000_000, recallTarget: 0.99, limit: 10)
        #expect(small < large && small < strict)
        #expect(MilvusSearchEffort.effort(layout: layout, faces: 10, recallTarget: 0.95, limit: 26) >= 26, "ef is at least the hits asked")
        #expect(MilvusSearchEffort.effort(layout: .ivfSQ8(nlist: 1024), faces: 10_000_000_000, recallTarget: 0.999, limit: 10) <= 1024)
    }

    /// One request to Milvus's RESTful API (what made collections before the gRPC client).
    static func rest(_ path: String, _ body: [String: Any]) throws -> String {
        var request = URLRequest(url: URL(string: path, relativeTo: url)!, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answer = ""
        URLSession.shared.dataTask(with: request) { data, _, error in
            answer = data.map { String(decoding: $0, as: UTF8.self) } ?? "\(error.map { "\($0)" } ?? "no answer")"
            done.signal()
        }.resume()
        done.wait()
        return answer
    }
}
