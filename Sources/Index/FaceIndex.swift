import Foundation

/// A nearest-neighbour index over the gallery's face templates (unit vectors, inner
/// product): the one protocol every engine implements, in the shape of FAISS's
/// `Index` — a search takes its parameters, and the parameters carry the filter.
///
/// Implementations side by side:
/// - `ExactIndex`: every template scored; the test oracle and the default for
///   galleries small enough that a full scan answers within milliseconds;
/// - `HNSWIndex`: a graph walked in roughly logarithmic time, for large galleries;
/// - `MilvusIndex` (module Milvus): a vector engine shared by every process of a
///   deployment, for galleries past one machine.
///
/// Ids are the gallery's face ids. Each face carries the source it came from, so a
/// search leaves out whole sources inside the engine, not through a list of faces
/// made for each search. Engines in this process never throw; one across a network
/// does, on every call.
public protocol FaceIndex: AnyObject, Sendable {
    var dimension: Int { get }
    /// What the index runs on, for status output ("exact, in this process", "milvus at …").
    var engine: String { get }
    /// The faces held, when the engine knows it without asking across a network (nil
    /// for one that would have to: the gallery then counts the metadata store's faces).
    var countInProcess: Int? { get }
    /// Adds the faces, replacing any held under the same id.
    func add(_ faces: [IndexedFace]) throws
    /// Removes the faces held under these ids and overwrites what the engine keeps of
    /// them in this process; returns how many it held (a remote engine: how many were asked).
    @discardableResult func remove(ids: [Int64]) throws -> Int
    /// The best hits, best first, that `parameters.filter` admits.
    func search(_ query: [Float], parameters: SearchParameters) throws -> [SearchHit]
    /// The ids held in `range`, at most `idRangeLimit` of them (a remote engine may
    /// still show an erased face until it applies the deletion).
    func faceIDs(in range: Range<Int64>) throws -> Set<Int64>
    /// The widest range `faceIDs(in:)` answers in full: ask in ranges no wider to see every id.
    var idRangeLimit: Int64 { get }
    /// Every face held scoring at least `minScore`, best first (FAISS's `range_search`),
    /// found by scoring every face in memory, never by a walk that may miss one: what
    /// an access request or an opt-out needs, where a missed face is a person's data
    /// left out. Scores may be off by up to `rangeScoreTolerance`; a caller that needs
    /// exact ones asks that much lower and re-scores. Nil when the engine cannot score
    /// everything in this process (a remote one): the caller scans the database.
    func rangeSearch(_ query: [Float], minScore: Float) throws -> [SearchHit]?
    /// How far a `rangeSearch` score may be from the exact inner product.
    var rangeScoreTolerance: Float { get }
}

/// An engine outside this process with storage of its own, shared by every process
/// of a deployment (Milvus): what the gallery asks of it beyond the searches.
public protocol SharedFaceIndex: FaceIndex {
    /// Removes the engine's store of this gallery's templates, whatever its layout,
    /// and makes it again, empty, in the layout this client writes.
    func recreate() throws
    /// Removes the engine's store of this gallery's templates (those of a model the
    /// gallery no longer uses, after `lineup retemplate`).
    func drop() throws
    /// Waits until every write so far is durable in the engine's own storage.
    func flush() throws
    /// Flushes, then rewrites the engine's files that hold removed templates without
    /// them, and waits until done (an erasure: until then the engine hides a removed
    /// template from searches but still keeps it in its storage).
    func purgeRemoved() throws
}

/// An engine that keeps itself as a file, so a gallery reopens without reading every
/// template from its database (the exact and graph indexes; a remote engine keeps
/// itself). Snapshots are written atomically and sealed by the caller's `SnapshotSealing`.
public protocol SnapshottingIndex: FaceIndex {
    /// The largest id held (0 when empty): where loading from the database resumes.
    var maxID: Int64 { get }
    func save(modelID: String, to path: String, sealing: (any SnapshotSealing)?) throws
}

/// How to search, carried with every query (FAISS's `SearchParameters`).
public struct SearchParameters: Sendable {
    /// Hits wanted.
    public var k: Int
    /// Which faces a hit may be.
    public var filter: SearchFilter
    /// For graph engines: the walk's candidate list (HNSW's efSearch); nil takes the
    /// engine's own setting. Other engines ignore it.
    public var breadth: Int?

    public init(k: Int, filter: SearchFilter = .all, breadth: Int? = nil) {
        self.k = k
        self.filter = filter
        self.breadth = breadth
    }
}

/// Which faces a search may return: all but those of the excluded sources, the
/// excluded faces, and any `admits` refuses. Every engine applies all three; one
/// across a network applies the sources and faces inside itself and `admits` to
/// what it answers.
public struct SearchFilter: Sendable {
    /// Sources the policy leaves out.
    public var excludedSources: Set<Int64>
    /// Faces left out one by one (opted-out people).
    public var excludedFaces: Set<Int64>
    /// An id selector beyond those (FAISS's `IDSelector`); nil admits every id.
    public var admits: (@Sendable (Int64) -> Bool)?
    /// When set, the only organisations whose faces the search may return. Every
    /// other organisation's sources are in `excludedSources` too, so the engines in
    /// this process, which skip sources, need not read it; an engine that keeps each
    /// organisation's faces apart (Milvus's partition key) searches only theirs.
    public var organisations: Set<Int64>?

    public init(
        excludedSources: Set<Int64> = [], excludedFaces: Set<Int64> = [], admits: (@Sendable (Int64) -> Bool)? = nil,
        organisations: Set<Int64>? = nil
    ) {
        self.excludedSources = excludedSources
        self.excludedFaces = excludedFaces
        self.admits = admits
        self.organisations = organisations
    }

    public static var all: SearchFilter { SearchFilter() }

    /// True when it admits every face.
    public var admitsAll: Bool { excludedSources.isEmpty && excludedFaces.isEmpty && admits == nil }

    /// Whether the face `id` of source `source` may be returned.
    @inline(__always)
    public func accepts(id: Int64, source: Int64) -> Bool {
        !excludedSources.contains(source) && !excludedFaces.contains(id) && admits?(id) != false
    }
}

extension FaceIndex {
    /// The `k` best hits, best first.
    public func search(_ query: [Float], k: Int, filter: SearchFilter = .all) throws -> [SearchHit] {
        try search(query, parameters: SearchParameters(k: k, filter: filter))
    }

    /// How many faces with ids up to `maxFaceID` the engine holds, asked range by range.
    public func count(upTo maxFaceID: Int64) throws -> Int {
        try idRanges(upTo: maxFaceID).reduce(0) { count, range in count + (try faceIDs(in: range)).count }
    }

    /// Ranges of ids no wider than `idRangeLimit`, together covering 0…`maxFaceID`.
    public func idRanges(upTo maxFaceID: Int64) -> [Range<Int64>] {
        let width = max(1, idRangeLimit)
        return stride(from: Int64(0), through: max(0, maxFaceID), by: Int(width)).map { start in
            start..<(start > Int64.max - width ? Int64.max : start + width)
        }
    }
}

/// One template with what the policy filters by.
public struct IndexedFace: Sendable {
    public var id: Int64
    public var vector: [Float]
    public var source: Int64
    public var organisation: Int64
    public var jurisdiction: String

    public init(id: Int64, vector: [Float], source: Int64, organisation: Int64 = 0, jurisdiction: String = "") {
        self.id = id
        self.vector = vector
        self.source = source
        self.organisation = organisation
        self.jurisdiction = jurisdiction
    }
}

/// What a search must not return, as the policy and the opt-outs name it: whole
/// sources (policy exclusions) and single faces (opted-out people).
public struct SearchExclusion: Sendable, Equatable {
    public var sources: Set<Int64>
    public var faces: Set<Int64>
    /// When the policy keeps a search to one organisation's own sources: that
    /// organisation (every other's sources are in `sources` as well).
    public var organisations: Set<Int64>?

    public init(sources: Set<Int64> = [], faces: Set<Int64> = [], organisations: Set<Int64>? = nil) {
        self.sources = sources
        self.faces = faces
        self.organisations = organisations
    }

    public var isEmpty: Bool { sources.isEmpty && faces.isEmpty }

    /// The filter that leaves these out, and keeps only what `admits` accepts when given.
    public func filter(admitting admits: (@Sendable (Int64) -> Bool)? = nil) -> SearchFilter {
        SearchFilter(excludedSources: sources, excludedFaces: faces, admits: admits, organisations: organisations)
    }
}

public struct SearchHit: Sendable, Equatable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// The k best hits seen so far, kept sorted best first. For the small k of a
/// candidate list, insertion into a sorted array beats a heap.
struct TopK {
    let k: Int
    private(set) var hits: [SearchHit] = []

    init(k: Int) {
        self.k = k
        hits.reserveCapacity(k + 1)
    }

    /// The score a new hit must beat.
    var floor: Float { hits.count < k ? -.infinity : hits[hits.count - 1].score }

    mutating func offer(id: Int64, score: Float) {
        guard score > floor else { return }
        var position = hits.count
        while position > 0, hits[position - 1].score < score { position -= 1 }
        hits.insert(SearchHit(id: id, score: score), at: position)
        if hits.count > k { hits.removeLast() }
    }

    mutating func merge(_ other: TopK) {
        for hit in other.hits { offer(id: hit.id, score: hit.score) }
    }
}
