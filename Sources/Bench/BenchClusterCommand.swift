import ArgumentParser
import Console
import FaceVision
import Foundation
import Index
import Milvus
import Synchronization

struct BenchClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Milvus against Lineup's own index on the same face-like templates, at equal recall@10: ingest, search QPS at 1 and 16 clients.",
        discussion: """
            Data: the index benchmark's reproducible face-like gallery (N/5 identities × 5 samples) and \
            queries, half mated and half non-mated, with exact top-10 as the truth. Milvus (scripts/cluster.sh \
            start runs the 2.3.5 standalone server here) takes the templates through its gRPC API, as \
            cluster mode does: inserts of --batch rows with the scalar fields the policy filters use, into \
            a collection laid out by Lineup (face id primary key, organisation partition key, the --index \
            built explicitly). Then: the time until the last row is searchable, the flush and index build, \
            and a sweep of Milvus's search effort (--efforts: HNSW's ef, IVF's nprobe, DiskANN's \
            search_list) the way `bench index` sweeps Lineup's ef, each point searched by 1 client and by \
            --clients concurrent clients (each a blocking caller, as the gallery is), every search a round \
            trip over loopback at session consistency. Then Lineup's own index is built (--lineup-index: its scan, the default for large galleries, swept over \
            --rescored; or its HNSW graph, same M and efConstruction, built with --threads threads and \
            swept over --ef) and searched the same way. The summary gives each engine's \
            cheapest point at recall@10 ≥ 0.95 and ≥ 0.99, and the effort cluster mode's rule chooses for \
            this gallery size. The collection is dropped after, unless --keep.
            """
    )

    @Option(help: "Gallery size.")
    var n = 100_000

    @Option(help: "Template dimension.")
    var dimension = 128

    @Option(help: "Queries (half mated, half non-mated).")
    var queries = 500

    @Option(help: "Real templates instead of face-like ones: a .npy (float32, 2-D) or .fvecs file; its last --queries rows are the queries.")
    var templates: String?

    @Option(help: "Milvus address (default: LINEUP_MILVUS_URL, or http://127.0.0.1:19530).")
    var milvus: String?

    @Option(help: "Rows per Milvus upsert.")
    var batch = MilvusIndex.rowsPerWrite

    @Option(help: "Milvus's index: hnsw, ivf_sq8 or diskann.")
    var index: MilvusIndexChoice = .hnsw

    @Option(help: "M of both engines' HNSW graphs.")
    var m = 32

    @Option(help: "efConstruction of both engines' HNSW graphs.")
    var efConstruction = 200

    @Option(parsing: .upToNextOption, help: "Milvus's search efforts to sweep (default: 16 to 2048 by doubling for graphs, 8 to 512 probes for IVF).")
    var efforts: [Int] = []

    @Option(help: "Lineup's index: scan (its default for large galleries: 4-bit codes, the best re-scored) or graph (HNSW).")
    var lineupIndex: LargeGalleryIndex = .scan

    @Option(parsing: .upToNextOption, help: "Lineup's graph: the ef values to sweep.")
    var ef: [Int] = [64, 256, 1024, 4096]

    @Option(parsing: .upToNextOption, help: "Lineup's scan: the candidates re-scored to sweep.")
    var rescored: [Int] = [64, 256, 1024]

    @Option(help: "Concurrent clients of the second measurement of each point.")
    var clients = 16

    @Option(help: "Threads for building Lineup's index.")
    var threads = 2

    @Option(help: "Seconds to wait after the index is built, for Milvus's own background work (compaction, handoff) to finish.")
    var settle = 10

    @Flag(help: "Keep the collection after the run, and search a kept one of the same size instead of filling it again.")
    var keep = false

    @Flag(help: "Measure Milvus only.")
    var milvusOnly = false

    @Option(
        help:
            "Then erase this many faces spread over the gallery, as an erasure does (delete, flush, compaction of the segments holding them), and time each step and the re-indexing of the compacted segments (default: 0, none)."
    )
    var erase = 0

    func validate() throws {
        guard erase >= 0, erase <= n / 2 else { throw ValidationError("--erase is between 0 and half of --n") }
        guard n >= 100, queries >= 10, batch >= 1, m >= 2, clients >= 1 else {
            throw ValidationError("--n ≥ 100, --queries ≥ 10, --batch ≥ 1, --m ≥ 2, --clients ≥ 1")
        }
        guard efforts.allSatisfy({ $0 >= 1 }), ef.allSatisfy({ $0 >= 1 }) else { throw ValidationError("efforts and ef values are ≥ 1") }
    }

    func run() throws {
        let address = milvus ?? ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530"
        guard let url = URL(string: address) else { throw ValidationError("--milvus \(address) is not a URL") }
        var data =
            try templates.map { try BenchIndexData.load($0, queries: queries) }
            ?? BenchIndexData.synthetic(n: n, dimension: dimension, queries: queries)
        data.computeTruth()
        let cpu = Processor.name
        say(
            "\(data.gallery.count) × \(data.dimension) \(templates == nil ? "face-like" : "real-template") gallery, \(queries) queries (half mated); \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        say("Milvus at \(address); consistency of searches: session")
        var rows = try runMilvus(data, url: url)
        if !milvusOnly { rows += runLineup(data) }
        summarise(rows)
    }

    /// One sweep point: an engine at one effort, searched by 1 client and by `clients`.
    struct Point {
        var engine: String
        var effortName: String
        var effort: Int
        var recall: (all: Double, mated: Double?, nonmated: Double?)
        var qps: Double
        var qpsConcurrent: Double
        var p50: Double
        var p99: Double
    }

    private func runMilvus(_ data: BenchIndexData, url: URL) throws -> [Point] {
        let layout: MilvusIndexLayout = index == .hnsw ? .hnsw(m: m, efConstruction: efConstruction) : index.layout
        let milvus = MilvusIndex(
            client: try MilvusClient(address: url, timeout: 600),
            modelID: "bench-\(data.gallery.count)-\(data.dimension)\(templates == nil ? "" : "-real")", dimension: data.dimension,
            layout: layout)
        let kept = try milvus.client.hasCollection(milvus.collection)
        if kept, !keep { try milvus.drop() }
        try milvus.open()
        defer { if !keep { try? milvus.drop() } }
        say("Milvus \(try milvus.client.version()), collection \(milvus.collection): \(milvus.builtLayout)")
        if kept, keep, try milvus.count() == data.gallery.count {
            say("searching the kept collection of \(data.gallery.count) faces (its ingest was measured when it was filled)")
        } else {
            try fill(milvus, data)
        }
        let sweep = efforts.isEmpty ? (index == .ivfSQ8 ? [8, 16, 32, 64, 128, 256, 512] : [16, 32, 64, 128, 256, 512, 1024, 2048]) : efforts
        var points: [Point] = []
        say(header)
        for effort in sweep {
            let point = measure("milvus", layout.effortName, effort, data) { try milvus.search($0, k: 10, effort: effort).map(\.id) }
            say(line(point))
            points.append(point)
            if point.recall.all >= 0.999, point.recall.nonmated ?? 1 >= 0.999 { break }
        }
        for target in [0.95, 0.99] {
            let chosen = MilvusSearchEffort.effort(
                layout: layout, faces: data.gallery.count, recallTarget: target, limit: 10 + MilvusIndex.searchSlack)

            let point = measure("milvus rule \(target)", layout.effortName, chosen, data) {
                try milvus.search($0, k: 10, effort: chosen).map(\.id)
            }
            say(line(point))
            points.append(point)
        }
        if erase > 0 { try measureErasure(milvus, data) }
        return points
    }

    /// An erasure of `erase` faces spread over every segment, as Lineup makes it:
    /// deletion by primary key, then `purgeRemoved` (flush and compaction, which the
    /// erasure waits for), then the compacted segments' index built again (which it
    /// does not wait for: the old segments answer meanwhile, hiding the deleted rows).
    private func measureErasure(_ milvus: MilvusIndex, _ data: BenchIndexData) throws {
        let clock = ContinuousClock()
        let step = data.gallery.count / erase
        let erased = (0..<erase).map { Int64($0 * step) }
        var started = clock.now
        try milvus.remove(ids: erased)
        let deleted = clock.now - started
        started = clock.now
        try milvus.purgeRemoved()
        let purged = clock.now - started
        started = clock.now
        try milvus.waitUntilIndexed(rows: data.gallery.count - erase)
        let reindexed = clock.now - started
        let found = try erased.prefix(20).filter { id in
            try milvus.search(data.gallery[Int(id)], k: 1, effort: 64).first?.id == id
        }
        let kept = Int64(step / 2)
        let keptFound = try milvus.search(data.gallery[Int(kept)], k: 1, effort: 64).first?.id == kept
        say(
            String(
                format:
                    "erasure of %d faces spread over the gallery: delete %.2f s; flush and compaction %.1f s (what the erasure waits for); every sealed segment searched through an index %.1f s after (the old segments answer until the compacted ones are indexed and handed off); erased faces found %d of %d, a kept face found: %@",
                erase, deleted.seconds, purged.seconds, reindexed.seconds, found.count, min(20, erase), keptFound ? "yes" : "no"))
    }

    /// Fills the collection and waits until it is indexed, printing how long each step took.
    private func fill(_ milvus: MilvusIndex, _ data: BenchIndexData) throws {
        let clock = ContinuousClock()
        if try milvus.count() > 0 {
            try milvus.drop()
            try milvus.open()
        }
        let faces = data.gallery.enumerated().map { i, vector in
            IndexedFace(id: Int64(i), vector: vector, source: Int64(i % 16), organisation: Int64(i % 4), jurisdiction: "GB")
        }
        let started = clock.now
        try milvus.add(faces, batch: batch)
        let inserted = clock.now
        // Searchable: the last row is found by a search that waits for nothing (eventual consistency).
        let last = data.gallery.count - 1
        while try milvus.search(data.gallery[last], k: 1, effort: 64, consistency: .eventually).first?.id != Int64(last) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let visible = clock.now
        try milvus.flush()
        let flushed = clock.now
        try milvus.waitUntilIndexed(rows: data.gallery.count)
        let indexed = clock.now
        say(
            String(
                format:
                    "ingest through gRPC: %.0f faces/s (%d-row inserts, %.1f s); the last row searchable %.1f s after it was written (eventual consistency); flush %.1f s; indexed and searched through the index %.1f s after that",
                Double(data.gallery.count) / (inserted - started).seconds, batch, (inserted - started).seconds, (visible - inserted).seconds,
                (flushed - visible).seconds, (indexed - flushed).seconds))
        Thread.sleep(forTimeInterval: Double(settle))
    }

    private func runLineup(_ data: BenchIndexData) -> [Point] {
        let clock = ContinuousClock()
        let ids = data.gallery.indices.map { Int64($0) }
        var points: [Point] = []
        switch lineupIndex {
        case .scan:
            let scan = ScanIndex(dimension: data.dimension, threads: 1)
            let build = clock.measure { scan.add(ids: ids, sources: Array(repeating: 0, count: ids.count), vectors: data.gallery) }
            say(String(format: "Lineup's scan index (4-bit codes, one thread a search) built in %.1f s", build.seconds))
            for candidates in rescored {
                let point = measure("lineup", "rescored", candidates, data) {
                    scan.search($0, parameters: SearchParameters(k: 10, breadth: candidates)).map(\.id)
                }
                say(line(point))
                points.append(point)
            }
        case .graph:
            let graph = HNSWIndex(dimension: data.dimension, parameters: .init(m: m, efConstruction: efConstruction))
            let build = clock.measure { graph.add(ids: ids, vectors: data.gallery, threads: threads) }
            say(String(format: "Lineup's HNSW (M %d, efConstruction %d) built in %.1f s with %d threads", m, efConstruction, build.seconds, threads))
            for searchEF in ef {
                let point = measure("lineup", "ef", searchEF, data) {
                    graph.search($0, parameters: SearchParameters(k: 10, breadth: searchEF)).map(\.id)
                }
                say(line(point))
                points.append(point)
            }
        }
        return points
    }

    /// Every query once by one client (recall and latency), then all of them again
    /// split among `clients` threads.
    private func measure(
        _ engine: String, _ effortName: String, _ effort: Int, _ data: BenchIndexData,
        _ search: @escaping @Sendable ([Float]) throws -> [Int64]
    ) -> Point {
        let clock = ContinuousClock()
        var found: [[Int64]] = []
        var latencies: [Double] = []
        let alone = clock.measure {
            for query in data.queries {
                let one = clock.now
                found.append((try? search(query)) ?? [])
                latencies.append((clock.now - one).seconds * 1000)
            }
        }
        let queries = data.queries, clients = self.clients
        let together = clock.measure {
            let group = DispatchGroup()
            for client in 0..<clients {
                group.enter()
                Thread.detachNewThread {
                    for q in stride(from: client, to: queries.count, by: clients) { _ = try? search(queries[q]) }
                    group.leave()
                }
            }
            group.wait()
        }
        latencies.sort()
        return Point(
            engine: engine, effortName: effortName, effort: effort, recall: data.recall(found: found),
            qps: Double(queries.count) / alone.seconds, qpsConcurrent: Double(queries.count) / together.seconds,
            p50: latencies[latencies.count / 2], p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)])
    }

    private var header: String {
        "engine               effort   recall@10 all / mated / non-mated   QPS 1 client   QPS \(clients) clients   p50 / p99 ms"
    }

    private func line(_ point: Point) -> String {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        let split = [point.recall.all, point.recall.mated ?? .nan, point.recall.nonmated ?? .nan].map { String(format: "%.4f", $0) }
            .joined(separator: " / ")
        return point.engine.padding(toLength: 18, withPad: " ", startingAt: 0) + pad("\(point.effortName) \(point.effort)", 11)
            + "   " + split + pad(String(format: "%.0f", point.qps), 15) + pad(String(format: "%.0f", point.qpsConcurrent), 16)
            + pad(String(format: "%.1f / %.1f", point.p50, point.p99), 15)
    }

    /// Each engine's cheapest sweep point (highest QPS) at recall@10 ≥ 0.95 and ≥ 0.99.
    private func summarise(_ points: [Point]) {
        say("\nAt equal recall@10 (all queries): the fastest sweep point of each engine that reaches it")
        say(header)
        for target in [0.95, 0.99] {
            for engine in ["milvus", "lineup"] {
                let reaching = points.filter { $0.engine == engine && $0.recall.all >= target }
                if let best = reaching.max(by: { $0.qps < $1.qps }) {
                    var shown = best
                    shown.engine = "\(engine) ≥ \(target)"
                    say(line(shown))
                } else if points.contains(where: { $0.engine == engine }) {
                    say("\(engine) ≥ \(target): not reached in the sweep")
                }
            }
        }
    }
}

/// Prints a line at once, also into a file (print's output waits in a buffer there).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
