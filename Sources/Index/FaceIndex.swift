import Foundation

/// The gallery's templates on a vector engine outside the process (Milvus), shared by
/// every `lineup serve` of a deployment.
///
/// Unlike `VectorIndex`, whose indexes live in memory and cannot fail, every call
/// here crosses a network and throws; and each face carries what the policy filters
/// by (source, organisation, jurisdiction), so whole sources are left out inside
/// the engine instead of by a list of faces.
public protocol FaceIndex: Sendable {
    /// What the index runs on, for status output ("milvus 2.3 at http://…").
    var engine: String { get }
    /// The faces with ids in `range` the engine holds, at most `idRangeLimit` of them
    /// (an erased face may still show until the engine applies the deletion).
    func faceIDs(in range: Range<Int64>) throws -> Set<Int64>
    /// The most ids `faceIDs(in:)` answers with: ask in ranges no wider to see them all.
    var idRangeLimit: Int64 { get }
    func add(_ faces: [IndexedFace]) throws
    func remove(faceIDs: [Int64]) throws
    /// The `k` best hits, best first, never from `excluding`'s sources or faces.
    func search(_ query: [Float], k: Int, excluding: SearchExclusion) throws -> [SearchHit]
}

extension FaceIndex {
    /// How many faces with ids up to `maxFaceID` the engine holds, asked range by range.
    public func count(upTo maxFaceID: Int64) throws -> Int {
        try stride(from: Int64(0), through: maxFaceID, by: Int(idRangeLimit)).reduce(0) { count, start in
            count + (try faceIDs(in: start..<(start + idRangeLimit))).count
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

    public init(id: Int64, vector: [Float], source: Int64, organisation: Int64, jurisdiction: String) {
        self.id = id
        self.vector = vector
        self.source = source
        self.organisation = organisation
        self.jurisdiction = jurisdiction
    }
}

/// What a search must not return: whole sources (policy exclusions) and single
/// faces (opted-out people).
public struct SearchExclusion: Sendable, Equatable {
    public var sources: Set<Int64>
    public var faces: Set<Int64>

    public init(sources: Set<Int64> = [], faces: Set<Int64> = []) {
        self.sources = sources
        self.faces = faces
    }

    public var isEmpty: Bool { sources.isEmpty && faces.isEmpty }
}
