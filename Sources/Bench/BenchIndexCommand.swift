import ArgumentParser
import Console
import Foundation
import Index

struct BenchIndexCommand: ParsableCommand {
    /// Recall@10 at which an ef sweep stops: past it, nothing is left to compare.
    static let sweepEnd = 0.995

    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Lineup's graph and scan indexes against exact search, hnswlib and faiss: recall@10 and single-thread queries per second.",
        discussion: """
            Data: a reproducible face-like gallery (fixed seed: N/5 identities × 5 samples) and queries, \
            half mated (a new sample of a gallery identity) and half non-mated (a new identity); or real \
            templates with --templates (.npy or .fvecs; the last --queries rows are the queries). Recall@10 \
            is measured against exact search for each M and each ef of the sweep, and for the scan index \
            at each --rescored; builds use --threads threads, searches one. With --peers hnswlib faiss, \
            those engines (installed by scripts/bench-index-peers.sh into their own environment) run on the \
            same files with the same parameters in the same run (faiss also as 4-bit fast-scan codes \
            re-scored on the floats, the scan index's peer), and a summary gives each engine's QPS at \
            recall ≥ 0.95 and ≥ 0.99.
            """
    )

    @Option(help: "Gallery size (synthetic data).")
    var n = 100_000

    @Option(help: "Template dimension (synthetic data).")
    var dimension = 128

    @Option(help: "Real templates instead of synthetic ones: a .npy (float32, 2-D) or .fvecs file.")
    var templates: String?

    @Option(parsing: .upToNextOption, help: "Values of M.")
    var m: [Int] = [16, 32]

    @Flag(help: "Measure the scan index only (no graphs, Lineup's or the peers').")
    var noGraph = false

    @Option(help: "efConstruction.")
    var efConstruction = 200

    @Option(parsing: .upToNextOption, help: "Values of ef to sweep, ascending; a sweep stops once recall@10 of every query group reaches 0.995.")
    var ef: [Int] = [
        10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024,
        1280, 1536, 2048, 2560, 3072, 4096, 5120, 6144, 8192,
    ]

    @Option(
        parsing: .upToNextOption,
        help: "Candidates the scan index re-scores, one row each, ascending (none: no scan rows).")
    var rescored: [Int] = [32, 64, 128, 256, 512, 1024]

    @Option(help: "Queries.")
    var queries = 1000

    @Option(help: "Threads for building.")
    var threads = 2

    enum Peer: String, ExpressibleByArgument, CaseIterable {
        case hnswlib, faiss
    }

    @Option(parsing: .upToNextOption, help: "Peer engines to run on the same data: hnswlib, faiss.")
    var peers: [Peer] = []

    @OptionGroup var outputOptions: OutputOptions

    /// One row of the figures, named as hnswlib and faiss name them (`M`, `ef`).
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct Row: Codable {
        var engine: String
        var n: Int
        var dim: Int
        var M: Int?
        var ef: Int?
        /// Scan engines: the candidates re-scored.
        var rescored: Int?
        var recall: Double
        var recallMated: Double?
        var recallNonmated: Double?
        var qps: Double
        var buildS: Double
        var memMb: Double

        enum CodingKeys: String, CodingKey {
            case engine, n, dim, M, ef, rescored, recall
            case recallMated = "recall_mated"
            case recallNonmated = "recall_nonmated"
            case qps
            case buildS = "build_s"
            case memMb = "mem_mb"
        }
    }

    func validate() throws {
        guard n >= 100, dimension >= 2, queries >= 2, !m.isEmpty, !ef.isEmpty, threads >= 1 else {
            throw ValidationError("need --n ≥ 100, --dimension ≥ 2, --queries ≥ 2, --threads ≥ 1 and at least one M and ef")
        }
        guard m.allSatisfy({ $0 >= 2 }), ef.allSatisfy({ $0 >= 10 }), efConstruction >= 1 else {
            throw ValidationError("need M ≥ 2, ef ≥ 10 (recall@10) and efConstruction ≥ 1")
        }
        guard ef == ef.sorted(), rescored == rescored.sorted() else { throw ValidationError("list the ef and rescored values in ascending order") }
        guard rescored.allSatisfy({ $0 >= 10 }) else { throw ValidationError("need --rescored ≥ 10 (recall@10)") }
        guard !noGraph || !rescored.isEmpty else { throw ValidationError("--no-graph leaves only the scan rows: give --rescored values") }
        guard dimension % 2 == 0 || templates != nil || rescored.isEmpty else {
            throw ValidationError("the scan index codes pairs of values: give an even --dimension, or --rescored with no values")
        }
    }

    func run() throws {
        var data: BenchIndexData
        do {
            data =
                try templates.map { try BenchIndexData.load($0, queries: queries) }
                ?? BenchIndexData.synthetic(n: n, dimension: dimension, queries: queries)
        } catch let error as BenchDataError {
            throw ValidationError(error.description)
        }
        data.computeTruth()
        if !outputOptions.json {
            print("\(data.gallery.count) × \(data.dimension) gallery, \(data.queries.count) queries; build \(threads) threads, search 1 thread")
        }
        var rows = [exactRow(data)]
        emit(rows[0])
        for links in noGraph ? [] : m {
            rows += lineupRows(data, m: links)
        }
        if !rescored.isEmpty, ScanIndex.accepts(dimension: data.dimension) { rows += scanRows(data) }
        if !peers.isEmpty {
            rows += try peerRows(data)
        }
        if !outputOptions.json { printSummary(rows) }
    }

    private func exactRow(_ data: BenchIndexData) -> Row {
        let clock = ContinuousClock()
        let exact = ExactIndex(dimension: data.dimension, threads: 1)
        let build = clock.measure { for (i, t) in data.gallery.enumerated() { exact.add(id: Int64(i), vector: t) } }
        let sample = Array(data.queries.prefix(200))
        let time = clock.measure { for query in sample { _ = exact.search(query, k: 10) } }
        return Row(
            engine: "exact", n: data.gallery.count, dim: data.dimension, M: nil, ef: nil, rescored: nil, recall: 1, recallMated: nil,
            recallNonmated: nil, qps: Double(sample.count) / time.seconds, buildS: build.seconds,
            memMb: Double(data.gallery.count * data.dimension * 4) / 1e6)
    }

    private func lineupRows(_ data: BenchIndexData, m links: Int) -> [Row] {
        let clock = ContinuousClock()
        returnFreedMemory()
        let before = residentBytes()
        let graph = HNSWIndex(
            dimension: data.dimension,
            parameters: .init(m: links, efConstruction: efConstruction))
        let build = clock.measure {
            graph.add(ids: data.gallery.indices.map { Int64($0) }, vectors: data.gallery, threads: threads)
        }
        let memory = residentBytes().flatMap { after in before.map { after - $0 } } ?? graph.memoryBytes
        var rows: [Row] = []
        for searchEF in ef {
            graph.efSearchOverride = searchEF
            var hits: [[SearchHit]] = []
            let time = clock.measure { hits = data.queries.map { graph.search($0, k: 10) } }
            let recalls = data.recall(found: hits.map { $0.map(\.id) })
            rows.append(
                Row(
                    engine: "lineup", n: data.gallery.count, dim: data.dimension,
                    M: links, ef: searchEF, rescored: nil, recall: recalls.all, recallMated: recalls.mated, recallNonmated: recalls.nonmated,
                    qps: Double(data.queries.count) / time.seconds, buildS: build.seconds, memMb: Double(memory) / 1e6))
            emit(rows[rows.count - 1])
            if min(recalls.all, recalls.mated ?? 1, recalls.nonmated ?? 1) >= Self.sweepEnd { break }
        }
        return rows
    }

    /// The scan index at each --rescored, on one thread (its codebook is learnt on
    /// every core, as the gallery learns it).
    private func scanRows(_ data: BenchIndexData) -> [Row] {
        let clock = ContinuousClock()
        returnFreedMemory()
        let before = residentBytes()
        let scan = ScanIndex(dimension: data.dimension, threads: 1)
        let build = clock.measure {
            scan.add(ids: data.gallery.indices.map { Int64($0) }, sources: Array(repeating: 0, count: data.gallery.count), vectors: data.gallery)
        }
        let memory = residentBytes().flatMap { after in before.map { after - $0 } } ?? data.gallery.count * scan.bytesPerFace
        var rows: [Row] = []
        for candidates in rescored {
            var hits: [[SearchHit]] = []
            let parameters = SearchParameters(k: 10, breadth: candidates)
            let time = clock.measure { hits = data.queries.map { scan.search($0, parameters: parameters) } }
            let recalls = data.recall(found: hits.map { $0.map(\.id) })
            rows.append(
                Row(
                    engine: "lineup-scan", n: data.gallery.count, dim: data.dimension, M: nil, ef: nil, rescored: candidates,
                    recall: recalls.all, recallMated: recalls.mated, recallNonmated: recalls.nonmated,
                    qps: Double(data.queries.count) / time.seconds, buildS: build.seconds, memMb: Double(memory) / 1e6))
            emit(rows[rows.count - 1])
        }
        return rows
    }

    private func peerRows(_ data: BenchIndexData) throws -> [Row] {
        guard let root = ProjectPaths.root else { throw ValidationError("scripts/bench-index-peers.sh not found; run from the checkout") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try data.write(to: folder)
        let process = Process(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: root + "/scripts/bench-index-peers.sh")
        var arguments: [String] = ["--dir", folder.path, "--ef-construction", String(efConstruction), "--threads", String(threads)]
        arguments += ["--m"] + (noGraph ? [] : m.map { String($0) })
        arguments += ["--ef"] + ef.map { String($0) }
        arguments += ["--engines"] + peers.map(\.rawValue)
        if ScanIndex.accepts(dimension: data.dimension) && !rescored.isEmpty { arguments += ["--rescored"] + rescored.map { String($0) } }
        arguments += ["--stop-at", String(Self.sweepEnd)]
        process.arguments = arguments
        process.standardOutput = output
        if !outputOptions.json { printError("running \(peers.map(\.rawValue).joined(separator: " and ")) on the same data…") }
        try process.run()
        // Rows are shown as each engine prints them: a large run takes a while.
        var rows: [Row] = [], pending = Data()
        while true {
            let chunk = output.fileHandleForReading.availableData
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                let row = try JSONDecoder().decode(Row.self, from: Data(line))
                rows.append(row)
                emit(row)
            }
            if chunk.isEmpty { break }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("the peer engines failed (exit \(process.terminationStatus))") }
        return rows
    }

    private func emit(_ row: Row) {
        if outputOptions.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let line = try? encoder.encode(row) { FileHandle.standardOutput.write(line + Data("\n".utf8)) }
            return
        }
        let params = row.M.map { "M=\($0) ef=\(row.ef!)" } ?? row.rescored.map { "rescored=\($0)" } ?? "-"
        let split = row.recallMated.map { "(mated \(format($0, 4)), non-mated \(format(row.recallNonmated ?? 0, 4)))" } ?? ""
        print(
            row.engine.padding(toLength: 15, withPad: " ", startingAt: 0) + params.padding(toLength: 15, withPad: " ", startingAt: 0)
                + "recall@10 \(format(row.recall, 4)) \(split)  \(format(row.qps, 0)) QPS  build \(format(row.buildS, 1)) s  "
                + "\(format(row.memMb, 0)) MB")
    }
}
