import Console
import Foundation

extension BenchIndexCommand {
    /// Each engine's best single-thread QPS at recall@10 ≥ 0.95 and ≥ 0.99, for all
    /// queries and for mated and non-mated ones apart; its build time and memory
    /// against the plain size of the float vectors plus level-0 links; then Lineup's
    /// figures divided by each peer's, for the same M; then the same for the scan engines.
    func printSummary(_ rows: [Row]) {
        let graphs = Dictionary(grouping: rows.filter { $0.M != nil }) { EngineKey(engine: $0.engine, m: $0.M!) }
        guard let sample = rows.first else { return }
        print("\nQPS at equal recall@10, 1 search thread (all / mated / non-mated queries); build \(threads) threads")
        print(
            "engine".padding(18) + "M".padding(4) + "build s".leftPad(8) + "mem MB".leftPad(9) + "÷ vectors+links".leftPad(17)
                + "recall ≥ 0.95".leftPad(23) + "recall ≥ 0.99".leftPad(24))
        for key in graphs.keys.sorted() {
            let figures = Figures(graphs[key]!)
            let plain = Double(sample.n * (sample.dim * 4 + (2 * key.m + 1) * 4)) / 1e6
            print(
                key.engine.padding(18) + String(key.m).padding(4) + format(figures.build, 1).leftPad(8)
                    + format(figures.memory, 0).leftPad(9) + format(figures.memory / plain, 2).leftPad(17)
                    + figures.qps[0].map(Self.cell).joined(separator: " ").leftPad(23)
                    + figures.qps[1].map(Self.cell).joined(separator: " ").leftPad(24))
        }
        printScanSummary(rows)
        for peer in peers {
            for m in m {
                guard let ours = graphs[EngineKey(engine: "lineup", m: m)].map(Figures.init),
                    let theirs = graphs[EngineKey(engine: peer.rawValue, m: m)].map(Figures.init)
                else { continue }
                let qps = (0..<2).map { target in (0..<3).map { Self.ratio(ours.qps[target][$0], theirs.qps[target][$0]) } }
                print(
                    "lineup ÷ \(peer.rawValue)".padding(18) + String(m).padding(4) + Self.ratio(ours.build, theirs.build).leftPad(8)
                        + Self.ratio(ours.memory, theirs.memory).leftPad(9) + "".leftPad(17)
                        + qps[0].joined(separator: " ").leftPad(23) + qps[1].joined(separator: " ").leftPad(24))
            }
        }
    }

    /// The scan engines' QPS at equal recall, their build time and memory against the
    /// plain size of the float vectors, and Lineup's scan divided by faiss's fast scan.
    private func printScanSummary(_ rows: [Row]) {
        let scans = Dictionary(grouping: rows.filter { $0.rescored != nil }, by: \.engine)
        guard let sample = scans.values.first?.first else { return }
        let plain = Double(sample.n * sample.dim * 4) / 1e6
        for engine in scans.keys.sorted() {
            let figures = Figures(scans[engine]!)
            print(
                engine.padding(18) + "-".padding(4) + format(figures.build, 1).leftPad(8) + format(figures.memory, 0).leftPad(9)
                    + format(figures.memory / plain, 2).leftPad(17) + figures.qps[0].map(Self.cell).joined(separator: " ").leftPad(23)
                    + figures.qps[1].map(Self.cell).joined(separator: " ").leftPad(24))
        }
        guard let ours = scans["lineup-scan"].map(Figures.init), let theirs = scans["faiss-fastscan"].map(Figures.init) else { return }
        print(
            "lineup-scan ÷ faiss".padding(18) + "-".padding(4) + Self.ratio(ours.build, theirs.build).leftPad(8)
                + Self.ratio(ours.memory, theirs.memory).leftPad(9) + "".leftPad(17)
                + (0..<3).map { Self.ratio(ours.qps[0][$0], theirs.qps[0][$0]) }.joined(separator: " ").leftPad(23)
                + (0..<3).map { Self.ratio(ours.qps[1][$0], theirs.qps[1][$0]) }.joined(separator: " ").leftPad(24))
    }

    private static func ratio(_ a: Double?, _ b: Double?) -> String { a.flatMap { a in b.map { format(a / $0, 2) + "×" } } ?? "-" }

    private static func cell(_ qps: Double?) -> String { qps.map { format($0, 0) } ?? "-" }

    private struct EngineKey: Hashable, Comparable {
        var engine: String
        var m: Int
        static func < (a: Self, b: Self) -> Bool { (a.m, a.engine) < (b.m, b.engine) }
    }

    /// One engine's sweep reduced to its figures.
    private struct Figures {
        var build: Double
        var memory: Double
        /// [target 0.95, 0.99][all, mated, non-mated]: the best QPS among sweep points that reach it.
        var qps: [[Double?]]

        init(_ sweep: [Row]) {
            build = sweep[0].buildS
            memory = sweep[0].memMb
            let groups: [(Row) -> Double?] = [{ $0.recall }, { $0.recallMated }, { $0.recallNonmated }]
            qps = [0.95, 0.99].map { target in
                groups.map { recall in sweep.filter { recall($0).map { $0 >= target } ?? false }.map(\.qps).max() }
            }
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { padding(toLength: max(width, count + 1), withPad: " ", startingAt: 0) }
}
