import ArgumentParser
import Console
import FaceVision
import Foundation
import Index
import Milvus

struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Milvus against Lineup's own index on the same face-like templates: ingest rate, search QPS and recall@10.",
        discussion: """
            Data: the index benchmark's reproducible face-like gallery (N/5 identities × 5 samples) and \
            queries, half mated and half non-mated, with exact top-10 as the truth. Milvus (scripts/cluster.sh \
            start runs the 2.3.5 standalone server here) takes the templates through its RESTful API in \
            batches, with the scalar fields Lineup's policy filters use. It searches growing segments with \
            an interim IVF index (nlist 128, nprobe 16) and indexes sealed ones with its recommended index \
            (AUTOINDEX: HNSW, M 18, efConstruction 240 in 2.3); the v1 API sends no search parameters, so \
            Milvus picks them. Its searches are one client, one request after another, each a round trip \
            over loopback; --settle waits for sealing and indexing first. Lineup's graph index is \
            built with --threads threads and searched with one, at each --ef. The collection is dropped after.
            """
    )

    @Option(help: "Gallery size.")
    var n = 100_000

    @Option(help: "Template dimension.")
    var dimension = 128

    @Option(help: "Queries.")
    var queries = 500

    @Option(help: "Milvus address (default: LINEUP_MILVUS_URL, or http://127.0.0.1:19530).")
    var milvus: String?

    @Option(help: "Rows per Milvus insert request.")
    var batch = 2000

    @Option(help: "Seconds to let Milvus seal, flush and index its segments before searching.")
    var settle = 0

    @Option(help: "Lineup's M.")
    var m = 32

    @Option(help: "Lineup's efConstruction.")
    var efConstruction = 200

    @Option(parsing: .upToNextOption, help: "Lineup's ef values.")
    var ef: [Int] = [32, 64, 128, 256]

    @Option(help: "Threads for building Lineup's index.")
    var threads = 2

    func validate() throws {
        guard n >= 100, queries >= 10, batch >= 1, m >= 2 else { throw ValidationError("--n ≥ 100, --queries ≥ 10, --batch ≥ 1, --m ≥ 2") }
    }

    func run() async throws {
        let address = milvus ?? ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530"
        guard let url = URL(string: address) else { throw ValidationError("--milvus \(address) is not a URL") }
        var data = BenchIndexData.synthetic(n: n, dimension: dimension, queries: queries)
        data.computeTruth()
        print("\(data.gallery.count) × \(dimension) gallery, \(queries) queries (half mated); Milvus at \(address)")
        print("engine        ingest/s   ready s   ef      QPS   recall@10 (all / mated / non-mated)")
        try await runMilvus(data, url: url)
        runLineup(data)
    }

    private func runMilvus(_ data: BenchIndexData, url: URL) async throws {
        let index = MilvusIndex(client: MilvusClient(baseURL: url, timeout: 300), modelID: "bench-\(n)-\(dimension)", dimension: dimension)
        try? index.drop()
        try index.open()
        let clock = ContinuousClock()
        let rows = data.gallery.enumerated().map { i, vector in
            IndexedFace(id: Int64(i), vector: vector, source: Int64(i % 16), organisation: Int64(i % 4), jurisdiction: "GB")
        }
        let started = clock.now
        try index.add(rows, batch: batch)
        let inserted = clock.now - started
        // Ready: the last row inserted is found (Milvus shows inserts after its consistency delay).
        while try index.search(data.gallery[data.gallery.count - 1], k: 1).first?.id != Int64(data.gallery.count - 1) {
            try await Task.sleep(for: .milliseconds(200))
        }
        let ready = clock.now - started
        if settle > 0 { try await Task.sleep(for: .seconds(settle)) }
        var found: [[Int64]] = []
        let searchStarted = clock.now
        for query in data.queries { found.append(try index.search(query, k: 10).map(\.id)) }
        let searching = clock.now - searchStarted
        print(
            line(
                "milvus 2.3", ingest: Double(n) / inserted.seconds, ready: ready.seconds, ef: "auto",
                qps: Double(queries) / searching.seconds, recall: data.recall(found: found)))
        try index.drop()
    }

    private func runLineup(_ data: BenchIndexData) {
        let clock = ContinuousClock()
        let graph = HNSWIndex(dimension: dimension, parameters: .init(m: m, efConstruction: efConstruction))
        let build = clock.measure { graph.add(ids: data.gallery.indices.map { Int64($0) }, vectors: data.gallery, threads: threads) }
        for searchEF in ef {
            graph.efSearchOverride = searchEF
            var found: [[Int64]] = []
            let time = clock.measure { found = data.queries.map { graph.search($0, k: 10).map(\.id) } }
            print(
                line(
                    "lineup M\(m)", ingest: Double(n) / build.seconds, ready: build.seconds, ef: String(searchEF),
                    qps: Double(queries) / time.seconds, recall: data.recall(found: found)))
        }
    }

    private func line(
        _ engine: String, ingest: Double, ready: Double, ef: String, qps: Double,
        recall: (all: Double, mated: Double?, nonmated: Double?)
    ) -> String {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        let split = [recall.all, recall.mated ?? .nan, recall.nonmated ?? .nan].map { String(format: "%.4f", $0) }.joined(separator: " / ")
        return engine.padding(toLength: 12, withPad: " ", startingAt: 0) + pad(String(format: "%.0f", ingest), 10)
            + pad(String(format: "%.1f", ready), 10) + pad(ef, 5) + pad(String(format: "%.0f", qps), 9) + "   " + split
    }
}
