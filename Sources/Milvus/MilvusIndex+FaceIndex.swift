import Foundation
import Index

extension MilvusIndex: SharedFaceIndex {
    /// Drops the collection when it exists, whatever its layout, and makes it anew.
    public func recreate() throws {
        if try client.hasCollection(collection) { try drop() }
        try open()
    }

    public var engine: String {
        "milvus at \(client.address.absoluteString), collection \(collection) (\(builtLayout); effort for recall@10 ≥ \(recallTarget), \(consistency) consistency)"
    }

    /// Milvus is asked across the network: the gallery counts the metadata store's faces.
    public var countInProcess: Int? { nil }

    /// Milvus returns at most 16,384 rows a query, so face ids are asked for in
    /// ranges of that width.
    public var idRangeLimit: Int64 { Int64(MilvusSearchEffort.maxLimit) }

    /// Milvus's own range search walks its graph index and may miss a face: for
    /// completeness the gallery scans the metadata store instead.
    public func rangeSearch(_ query: [Float], minScore: Float) -> [SearchHit]? { nil }

    public var rangeScoreTolerance: Float { 0 }

    public func add(_ faces: [IndexedFace]) throws {
        try add(faces, batch: Self.rowsPerWrite)
    }

    /// Rows in one upsert: about 2 MB of 128-value templates, well inside Milvus's
    /// message limit and long enough that the round trip is a small part of it.
    public static let rowsPerWrite = 4096

    /// Deletes the faces' rows by primary key; answers with how many ids were asked
    /// (a face Milvus never held is not an error).
    @discardableResult
    public func remove(ids: [Int64]) throws -> Int {
        try delete(faceIDs: ids)
        return ids.count
    }

    /// Sources are left out inside Milvus, and so are up to 1,024 single faces; more
    /// are dropped from a longer answer, and so is every face `admits` refuses (that
    /// answer may then be shorter than `k`). `searchSlack` more hits are asked for,
    /// so that the gallery can drop faces the metadata store no longer holds.
    /// `parameters.breadth`, when set, is the search's effort.
    public func search(_ query: [Float], parameters: SearchParameters) throws -> [SearchHit] {
        let filter = parameters.filter
        var hits = try search(
            query, k: parameters.k,
            scope: Scope(
                excludedSources: filter.excludedSources.sorted(), organisations: filter.organisations?.sorted(),
                excludedFaces: filter.excludedFaces),
            extra: Self.searchSlack, effort: parameters.breadth)
        if let admits = filter.admits { hits.removeAll { !admits($0.id) } }
        return hits
    }

    /// Hits asked for beyond `k`: room for faces erased in the metadata store whose
    /// deletion Milvus has not applied yet.
    public static let searchSlack = 16
}
