import Foundation
import Index

/// Face templates in Milvus, for galleries larger than one machine holds: one
/// collection per model id, each row a template with the face id and the scalar
/// fields the policy filters name (organisation, source, jurisdiction), so a filtered
/// search is one Milvus query rather than a list of face ids sent with every search.
///
/// Milvus decides what is durable and when a deletion stops showing (its consistency
/// is bounded, a few seconds by default), so it is never the last word: the gallery
/// drops any hit whose face the metadata store no longer holds, and asks Milvus for a
/// few more hits than it shows to make up for them.
public final class MilvusIndex: Sendable {
    /// Which faces a search may return. Empty: all.
    public struct Scope: Sendable, Equatable {
        /// Sources the policy leaves out.
        public var excludedSources: [Int64]
        /// When set, only sources of these organisations.
        public var organisations: [Int64]?
        /// Jurisdictions (by prefix: `US` covers `US-IL`) whose sources are left out.
        public var excludedJurisdictions: [String]
        /// Faces left out one by one (opted-out people).
        public var excludedFaces: Set<Int64>

        public init(
            excludedSources: [Int64] = [], organisations: [Int64]? = nil, excludedJurisdictions: [String] = [],
            excludedFaces: Set<Int64> = []
        ) {
            self.excludedSources = excludedSources
            self.organisations = organisations
            self.excludedJurisdictions = excludedJurisdictions
            self.excludedFaces = excludedFaces
        }

        /// Face exclusions longer than this are applied to the answer, not sent to Milvus.
        static let facesInExpression = 1024

        /// The Milvus boolean expression of the scope (nil: no filter).
        var expression: String? {
            var parts: [String] = []
            if !excludedSources.isEmpty { parts.append("source not in [\(excludedSources.map(String.init).joined(separator: ","))]") }
            if let organisations { parts.append("organisation in [\(organisations.map(String.init).joined(separator: ","))]") }
            for code in excludedJurisdictions where Self.isJurisdiction(code) { parts.append("not (jurisdiction like \"\(code)%\")") }
            if !excludedFaces.isEmpty, excludedFaces.count <= Self.facesInExpression {
                parts.append("face not in [\(excludedFaces.sorted().map(String.init).joined(separator: ","))]")
            }
            return parts.isEmpty ? nil : parts.joined(separator: " and ")
        }

        /// ISO 3166 codes only (`GB`, `US-IL`): nothing else reaches an expression.
        static func isJurisdiction(_ code: String) -> Bool {
            !code.isEmpty && code.count <= 6 && code.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "-") }
        }
    }

    public let client: MilvusClient
    public let collection: String
    public let dimension: Int

    /// The index of `modelID`'s templates in `collection` (default: named after the
    /// model); `open()` makes the collection when missing.
    public init(client: MilvusClient, modelID: String, dimension: Int, collection: String? = nil) {
        self.client = client
        self.collection = collection ?? Self.collectionName(modelID: modelID)
        self.dimension = dimension
    }

    /// `lineup_` and the model id with every character but letters and digits as `_`.
    public static func collectionName(modelID: String) -> String {
        "lineup_" + String(modelID.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// Makes the collection when it does not exist, and checks its dimension when it does.
    public func open() throws {
        guard try client.collections().contains(collection) else {
            try client.createCollection(collection, dimension: dimension, description: "Lineup face templates")
            return
        }
        let fields = try client.describeCollection(collection)["fields"] as? [[String: Any]] ?? []
        let type = fields.first { $0["name"] as? String == "vector" }?["type"] as? String
        guard type == "FloatVector(\(dimension))" else {
            throw MilvusError.malformed("collection \(collection) holds \(type ?? "no vector field"), not FloatVector(\(dimension))")
        }
    }

    /// Removes the collection and every template in it.
    public func drop() throws {
        try client.dropCollection(collection)
    }

    /// Stores templates, `batch` rows a request.
    public func add(_ faces: [IndexedFace], batch: Int) throws {
        for start in stride(from: 0, to: faces.count, by: batch) {
            let chunk = faces[start..<min(faces.count, start + batch)].map { face -> [String: Any] in
                precondition(face.vector.count == dimension, "a \(face.vector.count)-value template in a \(dimension)-value index")
                return [
                    "vector": face.vector.map(Double.init), "face": face.id, "organisation": face.organisation,
                    "source": face.source, "jurisdiction": face.jurisdiction,
                ]
            }
            let stored = try client.insert(collection, rows: chunk)
            guard stored == chunk.count else { throw MilvusError.malformed("Milvus stored \(stored) of \(chunk.count) rows") }
        }
    }

    /// Deletes the templates of these faces; answers with how many rows went.
    @discardableResult
    public func delete(faceIDs: [Int64]) throws -> Int {
        var removed = 0
        for start in stride(from: 0, to: faceIDs.count, by: Scope.facesInExpression) {
            let chunk = faceIDs[start..<min(faceIDs.count, start + Scope.facesInExpression)]
            let rows = try client.query(
                collection, filter: "face in [\(chunk.map(String.init).joined(separator: ","))]",
                fields: ["id"])
            let keys = rows.compactMap { Self.int64($0["id"]) }
            try client.delete(collection, ids: keys)
            removed += keys.count
        }
        return removed
    }

    /// The `k` best faces within `scope`, best first. `extra` more are asked of Milvus
    /// so that the caller can drop faces the metadata store no longer holds.
    public func search(_ query: [Float], k: Int, scope: Scope = Scope(), extra: Int = 0) throws -> [SearchHit] {
        let postFiltered = scope.excludedFaces.count > Scope.facesInExpression
        let limit = min(16_384, k + extra + (postFiltered ? scope.excludedFaces.count : 0))
        let rows = try client.search(collection, vector: query, limit: limit, filter: scope.expression, fields: ["face"])
        var hits = rows.compactMap { row -> SearchHit? in
            guard let face = Self.int64(row["face"]), let distance = row["distance"] as? Double else { return nil }
            return SearchHit(id: face, score: Float(distance))
        }
        if postFiltered { hits.removeAll { scope.excludedFaces.contains($0.id) } }
        // A face added twice (a reconciliation racing an ingest) is one hit: its best.
        var seen = Set<Int64>()
        hits.removeAll { !seen.insert($0.id).inserted }
        return Array(hits.prefix(k + extra))
    }

    /// Milvus sends 64-bit keys as strings (JSON numbers lose precision past 2⁵³) and
    /// small ones as numbers.
    static func int64(_ value: Any?) -> Int64? {
        switch value {
        case let number as Int: Int64(number)
        case let number as Int64: number
        case let text as String: Int64(text)
        case let number as Double: Int64(exactly: number)
        default: nil
        }
    }
}
