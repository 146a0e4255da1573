import Foundation
import Index

extension MilvusIndex: FaceIndex {
    public var engine: String { "milvus at \(client.baseURL.absoluteString), collection \(collection)" }

    /// The RESTful API of 2.3 returns at most 16,384 rows a query (and has no
    /// `count(*)`), so face ids are asked for in ranges of that width.
    public var idRangeLimit: Int64 { 16_384 }

    public func faceIDs(in range: Range<Int64>) throws -> Set<Int64> {
        let rows = try client.query(collection, filter: "face >= \(range.lowerBound) and face < \(range.upperBound)", fields: ["face"])
        return Set(rows.compactMap { Self.int64($0["face"]) })
    }

    public func add(_ faces: [IndexedFace]) throws {
        try add(faces, batch: 1000)
    }

    public func remove(faceIDs: [Int64]) throws {
        try delete(faceIDs: faceIDs)
    }

    /// Sources are left out inside Milvus; up to 1,024 single faces too, more are
    /// dropped from a longer answer. `searchSlack` more hits are asked for, so that
    /// the gallery can drop faces the metadata store no longer holds.
    public func search(_ query: [Float], k: Int, excluding: SearchExclusion) throws -> [SearchHit] {
        try search(query, k: k, scope: Scope(excludedSources: excluding.sources.sorted(), excludedFaces: excluding.faces),
                   extra: Self.searchSlack)
    }

    /// Hits asked for beyond `k`: room for faces erased in the metadata store whose
    /// deletion Milvus has not applied yet.
    public static let searchSlack = 16
}
