import Foundation
import Index

extension MilvusIndex: FaceIndex {
    public var engine: String { "milvus at \(client.baseURL.absoluteString), collection \(collection)" }

    /// Milvus is asked across the network: the gallery counts the metadata store's faces.
    public var countInProcess: Int? { nil }

    /// The RESTful API of 2.3 returns at most 16,384 rows a query (and has no
    /// `count(*)`), so face ids are asked for in ranges of that width.
    public var idRangeLimit: Int64 { 16_384 }

    /// Milvus's own range search walks its graph index and may miss a face: for
    /// completeness the gallery scans the metadata store instead.
    public func rangeSearch(_ query: [Float], minScore: Float) -> [SearchHit]? { nil }

    public var rangeScoreTolerance: Float { 0 }

    public func faceIDs(in range: Range<Int64>) throws -> Set<Int64> {
        let rows = try client.query(collection, filter: "face >= \(range.lowerBound) and face < \(range.upperBound)", fields: ["face"])
        return Set(rows.compactMap { Self.int64($0["face"]) })
    }

    public func add(_ faces: [IndexedFace]) throws {
        try add(faces, batch: 1000)
    }

    /// Deletes the faces' rows; answers with how many ids were asked (Milvus applies
    /// a deletion when its consistency allows, so what it held is not known here).
    @discardableResult
    public func remove(ids: [Int64]) throws -> Int {
        try delete(faceIDs: ids)
        return ids.count
    }

    /// Sources are left out inside Milvus; up to 1,024 single faces too, more are
    /// dropped from a longer answer, and so is every face `admits` refuses (that
    /// answer may then be shorter than `k`). `searchSlack` more hits are asked for,
    /// so that the gallery can drop faces the metadata store no longer holds.
    public func search(_ query: [Float], parameters: SearchParameters) throws -> [SearchHit] {
        let filter = parameters.filter
        var hits = try search(
            query, k: parameters.k,
            scope: Scope(excludedSources: filter.excludedSources.sorted(), excludedFaces: filter.excludedFaces),
            extra: Self.searchSlack)
        if let admits = filter.admits { hits.removeAll { !admits($0.id) } }
        return hits
    }

    /// Hits asked for beyond `k`: room for faces erased in the metadata store whose
    /// deletion Milvus has not applied yet.
    public static let searchSlack = 16
}
