import Foundation

/// The vector index a Lineup collection is built with. HNSW is the default: the
/// graph in memory, the highest recall for its effort. IVF_SQ8 (8-bit scalar codes
/// in inverted lists, a quarter of the memory) and DISKANN (the graph on local disk)
/// are for galleries whose templates do not fit in the query nodes' memory.
public enum MilvusIndexLayout: Sendable, Equatable, CustomStringConvertible {
    /// A graph with `m` links a node (twice that on the bottom layer), built with a
    /// candidate list of `efConstruction`.
    case hnsw(m: Int = 32, efConstruction: Int = 200)
    /// `nlist` clusters, each template kept as 8-bit codes.
    case ivfSQ8(nlist: Int = 4096)
    /// Vamana's graph and codes on disk (Milvus builds it with its own defaults).
    case diskANN

    /// Milvus's name of the index type.
    public var typeName: String {
        switch self {
        case .hnsw: "HNSW"
        case .ivfSQ8: "IVF_SQ8"
        case .diskANN: "DISKANN"
        }
    }

    /// The build parameters, as the JSON object Milvus's `params` carries.
    var buildParameters: String {
        switch self {
        case .hnsw(let m, let efConstruction): "{\"M\": \(m), \"efConstruction\": \(efConstruction)}"
        case .ivfSQ8(let nlist): "{\"nlist\": \(nlist)}"
        case .diskANN: "{}"
        }
    }

    /// The search parameter that sets a search's effort.
    public var effortName: String {
        switch self {
        case .hnsw: "ef"
        case .ivfSQ8: "nprobe"
        case .diskANN: "search_list"
        }
    }

    /// The effort within what Milvus accepts for `limit` hits: HNSW's ef and
    /// DiskANN's list at least `limit`, IVF's probes at most its clusters.
    func clampEffort(_ effort: Int, limit: Int) -> Int {
        switch self {
        case .hnsw: min(max(effort, limit), 32_768)
        case .ivfSQ8(let nlist): min(max(effort, 1), nlist)
        case .diskANN: min(max(effort, limit), 65_535)
        }
    }

    public var description: String {
        switch self {
        case .hnsw(let m, let efConstruction): "HNSW, M \(m), efConstruction \(efConstruction)"
        case .ivfSQ8(let nlist): "IVF_SQ8, nlist \(nlist)"
        case .diskANN: "DISKANN"
        }
    }

    /// The layout of an index as DescribeIndex lists its parameters: `index_type`
    /// and the build parameters, either one by one or as the JSON of `params`.
    init(described params: [String: String]) throws {
        var values = params
        if let json = params["params"], let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] {
            for (key, value) in object { values[key] = "\(value)" }
        }
        func number(_ key: String) throws -> Int {
            guard let text = values[key], let value = Int(text) else {
                throw MilvusError.malformed("the index's \(key) is \(values[key] ?? "missing")")
            }
            return value
        }
        switch values["index_type"] {
        case "HNSW": self = .hnsw(m: try number("M"), efConstruction: try number("efConstruction"))
        case "IVF_SQ8": self = .ivfSQ8(nlist: try number("nlist"))
        case "DISKANN": self = .diskANN
        case let other:
            throw MilvusError.layout(
                "the collection's index is \(other ?? "of no type"), which Lineup does not choose efforts for: drop the index or \(MilvusIndex.rebuildAdvice)"
            )
        }
    }

    /// The layout an operator names: `hnsw`, `ivf_sq8` or `diskann`.
    public init?(name: String) {
        switch name.lowercased() {
        case "hnsw": self = .hnsw()
        case "ivf_sq8", "ivf-sq8": self = .ivfSQ8()
        case "diskann": self = .diskANN
        default: return nil
        }
    }
}

/// What a search waits for before Milvus answers it.
public enum MilvusConsistency: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every write acknowledged before the search, by any process: the search waits
    /// for Milvus's next time tick (up to about 200 ms).
    case strong
    /// Every write this process made: what a gallery needs (an investigator's
    /// search finds what the same server just ingested) at no wait otherwise.
    case session
    /// Writes older than Milvus's grace time (5 s by default).
    case bounded
    /// Whatever the query nodes hold now.
    case eventually

    public var description: String { rawValue }

    /// The request's consistency level and guarantee timestamp (0: Milvus's own for the level).
    func wire(lastWrite: UInt64) -> (WireConsistencyLevel, UInt64) {
        switch self {
        case .strong: (.strong, 0)
        case .session: (.session, max(lastWrite, 1))
        case .bounded: (.bounded, 0)
        case .eventually: (.eventually, 0)
        }
    }
}

/// How much effort a search is given for the recall an operator asks for.
///
/// Recall is measured against exact search of the same collection: the share of the
/// true ten best faces found (recall@10), over queries of people in the gallery and
/// of people not in it. A graph's recall at a fixed effort falls slowly as the
/// gallery grows, so the effort grows with it; the rule is measured, on face-like
/// templates, by `lineup-bench cluster` (docs/scaling.md has the sweep).
public enum MilvusSearchEffort {
    /// The recall@10 a search is given effort for unless the operator says otherwise.
    public static let defaultRecallTarget = 0.95
    /// The most hits (and rows of a query) Milvus returns at once.
    public static let maxLimit = 16_384

    /// The effort for `limit` hits from a collection of `faces` at `recallTarget`:
    /// the effort measured at a million faces for 0.95 and for 0.99, interpolated
    /// between them by the share missed (log(1 − recall)), times the gallery's size
    /// in millions to the measured growth. It does not depend on `limit` beyond
    /// being at least it: a graph's walk keeps `ef` candidates, whatever it returns.
    public static func effort(layout: MilvusIndexLayout, faces: Int, recallTarget: Double, limit: Int) -> Int {
        let scale = Double(max(faces, 1)) / 1_000_000
        let missed = min(max(1 - recallTarget, 0.001), 0.5)
        let position = (log(missed) - log(0.05)) / (log(0.01) - log(0.05))
        func between(_ at95: Double, _ at99: Double) -> Double { at95 * pow(at99 / at95, position) }
        let raw: Double
        switch layout {
        case .hnsw, .diskANN: raw = between(graphAtMillion95, graphAtMillion99) * pow(scale, graphGrowth)
        case .ivfSQ8(let nlist): raw = Double(nlist) * between(ivfShare95, ivfShare99)
        }
        return layout.clampEffort(Int(raw.rounded(.up)), limit: limit)
    }

    // HNSW (M 32, efConstruction 200) on face-like templates of 128 values, half the
    // queries non-mated, four organisations' partitions, Milvus 2.3.5
    // (`lineup-bench cluster`). At 1,000,000: ef 512 found 0.948 of the true ten,
    // 768 0.977, 1024 0.988, 1536 0.996; so about 540 for 0.95 and 1,250 for 0.99.
    // At 100,000: ef 128 0.921, 256 0.982, 512 0.998; about 170 and 340. The effort
    // for a target grew about 3.2 to 3.7 times per tenfold gallery: (size)^0.5 to ^0.57.
    // The rule takes ^0.5 with a fifth more at a million, which covers both sizes and,
    // extrapolated, ^0.57 up to ten million.
    static let graphAtMillion95 = 640.0
    static let graphAtMillion99 = 1500.0
    /// Effort ∝ (faces / 1M)^growth.
    static let graphGrowth = 0.5
    // IVF_SQ8: the share of the lists probed (nprobe / nlist).
    static let ivfShare95 = 0.05
    static let ivfShare99 = 0.12
}
