import Foundation
import Index

extension MilvusIndex: FaceIndex {
    public var engine: String { "milvus at \(client.baseURL.absoluteString), collection \(collection)" }

    /// Counted by asking for the face ids of each range of 16,384 (the RESTful API
    /// of 2.3 allows no `count(*)` and no page past 16,384 rows).
    public func count(upTo maxFaceID: Int64) throws -> Int {
        var count = 0
        for start in stride(from: Int64(0), through: maxFaceID, by: 16_384) {
            count += try client.query(collection, filter: "face >= \(start) and face < \(start + 16_384)", fields: ["face"]).count
        }
        return count
    }

    public func add(_ faces: [IndexedFace]) throws {
        try add(faces.map { Row(faceID: $0.id, vector: $0.vector, organisation: $0.organisation, source: $0.source,
                                jurisdiction: $0.jurisdiction) })
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
