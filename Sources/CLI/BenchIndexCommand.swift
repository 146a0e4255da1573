import ArgumentParser
import Foundation
import Index
import Vision

struct BenchIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Recall and single-thread queries per second of Lineup's indexes on face-like templates.",
        discussion: """
            Builds a reproducible gallery (fixed seed: N/5 identities × 5 samples) and 1,000 queries, \
            half mated (a new sample of a gallery identity) and half non-mated (a new identity). \
            Recall@10 is measured against exact search, for each M and each ef of the sweep.
            """
    )

    @Option(help: "Gallery size.")
    var n = 100_000

    @Option(help: "Template dimension.")
    var dimension = 128

    @Option(parsing: .upToNextOption, help: "Values of M.")
    var m: [Int] = [16, 32]

    @Option(help: "efConstruction.")
    var efConstruction = 200

    @Option(parsing: .upToNextOption, help: "Values of ef to sweep.")
    var ef: [Int] = [16, 32, 64, 128, 256]

    @Option(help: "Queries.")
    var queries = 1000

    @Flag(help: "Print one JSON object per row.")
    var json = false

    struct Row: Encodable {
        var engine: String
        var n: Int
        var dim: Int
        var M: Int?
        var ef: Int?
        var recall: Double
        var recallMated: Double
        var recallNonmated: Double
        var qps: Double
        var buildS: Double
        var memMb: Double
    }

    func validate() throws {
        guard n >= 100, dimension >= 2, queries >= 2, !m.isEmpty, !ef.isEmpty else {
            throw ValidationError("need --n ≥ 100, --dimension ≥ 2, --queries ≥ 2 and at least one M and ef")
        }
    }

    func run() throws {
        var generator = SyntheticTemplates(dimension: dimension, seed: 2026)
        let (templates, centres) = generator.gallery(identities: max(1, n / 5), perIdentity: 5)
        let probes = (0..<queries).map { i in i % 2 == 0 ? generator.sample(around: centres[(i * 7919) % centres.count])
                                                         : generator.sample(around: generator.centre()) }
        let clock = ContinuousClock()
        let exact = ExactIndex(dimension: dimension, threads: 1)
        let exactBuild = clock.measure { for (i, t) in templates.enumerated() { exact.add(id: Int64(i), vector: t) } }
        var truth: [Set<Int64>] = []
        let exactTime = clock.measure { truth = probes.map { Set(exact.search($0, k: 10).map(\.id)) } }
        var rows = [Row(engine: "lineup-exact", n: templates.count, dim: dimension, M: nil, ef: nil, recall: 1, recallMated: 1,
                        recallNonmated: 1, qps: Double(probes.count) / exactTime.seconds, buildS: exactBuild.seconds,
                        memMb: Double(templates.count * dimension * 4) / 1e6)]
        emit(rows[0])
        for links in m {
            let graph = HNSWIndex(dimension: dimension, parameters: .init(m: links, efConstruction: efConstruction))
            let build = clock.measure { for (i, t) in templates.enumerated() { graph.add(id: Int64(i), vector: t) } }
            for searchEF in ef {
                graph.efSearchOverride = searchEF
                var hits: [[SearchHit]] = []
                let time = clock.measure { hits = probes.map { graph.search($0, k: 10) } }
                func recall(_ indices: [Int]) -> Double {
                    let found = indices.reduce(0) { sum, query in sum + hits[query].count { truth[query].contains($0.id) } }
                    return Double(found) / Double(indices.count * 10)
                }
                let all = Array(probes.indices)
                let row = Row(engine: "lineup-hnsw", n: templates.count, dim: dimension, M: links, ef: searchEF,
                              recall: recall(all), recallMated: recall(all.filter { $0 % 2 == 0 }),
                              recallNonmated: recall(all.filter { $0 % 2 == 1 }), qps: Double(probes.count) / time.seconds,
                              buildS: build.seconds, memMb: Double(graph.memoryBytes) / 1e6)
                rows.append(row)
                emit(row)
            }
        }
    }

    private func emit(_ row: Row) {
        if json {
            try? printJSONLine(row)
            return
        }
        let params = row.M.map { "M=\($0) ef=\(row.ef!)" } ?? "-"
        print("\(row.engine.padding(toLength: 13, withPad: " ", startingAt: 0)) \(params.padding(toLength: 14, withPad: " ", startingAt: 0))"
              + " recall@10 \(format(row.recall, 4)) (mated \(format(row.recallMated, 4)), non-mated \(format(row.recallNonmated, 4)))"
              + "  \(format(row.qps, 0)) QPS  build \(format(row.buildS, 1)) s  \(format(row.memMb, 0)) MB")
    }
}
