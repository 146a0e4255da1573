import Foundation
import Index
import Synchronization

/// Face templates in Milvus, for galleries larger than one machine holds: one
/// collection per model id, laid out by Lineup (`open`):
///
/// - `face`, the primary key: the gallery's face id, so a face is written, replaced
///   and deleted by its id, with no look-up first;
/// - `vector`, the template, under the index `layout` names (HNSW by default, with
///   the M and efConstruction recorded in the index's parameters);
/// - `organisation`, the partition key: Milvus keeps each organisation's faces in
///   their own partitions, and a search limited to one organisation reads only its;
/// - `source` and `jurisdiction`, which the policy's filters name.
///
/// Each search sets its effort (HNSW's `ef`) from the gallery's size and the
/// operator's recall target (`MilvusSearchEffort`) and states its consistency.
/// Milvus is still never the last word on what a search may return: the gallery
/// drops any hit whose face the metadata store no longer holds.
public final class MilvusIndex: Sendable {
    /// Which faces a search may return. Empty: all.
    public struct Scope: Sendable, Equatable {
        /// Sources the policy leaves out.
        public var excludedSources: [Int64]
        /// When set, only faces of these organisations (the partitions searched).
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

        /// The Milvus boolean expression of the scope (empty: no filter).
        var expression: String {
            var parts: [String] = []
            if !excludedSources.isEmpty { parts.append("source not in [\(excludedSources.map(String.init).joined(separator: ","))]") }
            if let organisations { parts.append("organisation in [\(organisations.map(String.init).joined(separator: ","))]") }
            for code in excludedJurisdictions where Self.isJurisdiction(code) { parts.append("not (jurisdiction like \"\(code)%\")") }
            if !excludedFaces.isEmpty, excludedFaces.count <= Self.facesInExpression {
                parts.append("face not in [\(excludedFaces.sorted().map(String.init).joined(separator: ","))]")
            }
            return parts.joined(separator: " and ")
        }

        /// ISO 3166 codes only (`GB`, `US-IL`): nothing else reaches an expression.
        static func isJurisdiction(_ code: String) -> Bool {
            !code.isEmpty && code.count <= 6 && code.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "-") }
        }
    }

    public let client: MilvusClient
    public let collection: String
    public let dimension: Int
    /// The index made for a new collection (an existing one keeps its own: `builtLayout`).
    public let layout: MilvusIndexLayout
    /// The recall@10 against exact search each search's effort is chosen for.
    public let recallTarget: Double
    /// What a search waits for (`MilvusConsistency`).
    public let consistency: MilvusConsistency

    struct State {
        /// The collection's index as Milvus describes it (after `open`).
        var built: MilvusIndexLayout?
        /// The faces the collection holds, as last counted, and when.
        var faces = 0
        var counted: ContinuousClock.Instant?
        /// The hybrid timestamp of this process's latest write: a session search waits for it.
        var lastWrite: UInt64 = 0
        var effortOverride: Int?
    }
    let state = Mutex(State())

    /// The index of `modelID`'s templates in `collection` (default: named after the
    /// model); `open()` makes the collection when missing.
    public init(
        client: MilvusClient, modelID: String, dimension: Int, collection: String? = nil,
        layout: MilvusIndexLayout = .hnsw(), recallTarget: Double = MilvusSearchEffort.defaultRecallTarget,
        consistency: MilvusConsistency = .session
    ) {
        self.client = client
        self.collection = collection ?? Self.collectionName(modelID: modelID)
        self.dimension = dimension
        self.layout = layout
        self.recallTarget = recallTarget
        self.consistency = consistency
    }

    /// `lineup_` and the model id with every character but letters and digits as `_`.
    public static func collectionName(modelID: String) -> String {
        "lineup_" + String(modelID.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// When set, the effort of every search that names none, instead of the one
    /// chosen for the recall target (for measuring).
    public var effortOverride: Int? {
        get { state.withLock { $0.effortOverride } }
        set { state.withLock { $0.effortOverride = newValue } }
    }

    /// The index searches run on: the collection's own once opened.
    public var builtLayout: MilvusIndexLayout { state.withLock { $0.built } ?? layout }

    /// Removes the collection and every template in it (nothing when there is none).
    public func drop() throws {
        if try client.hasCollection(collection) { try client.dropCollection(collection) }
        state.withLock { $0 = State() }
    }

    /// Stores templates, `batch` rows a request. A face already held is replaced:
    /// its row is deleted by primary key, then the new one inserted (Milvus applies
    /// a deletion only to rows written before it). Which faces are held is asked
    /// first, so new faces (every ingest) cost no deletion, which Milvus would have
    /// to apply to every segment and compact away. Not Milvus's upsert: in 2.3.5 it
    /// places rows by primary key instead of by the partition key.
    public func add(_ faces: [IndexedFace], batch: Int) throws {
        for start in stride(from: 0, to: faces.count, by: batch) {
            let chunk = faces[start..<min(faces.count, start + batch)]
            do {
                try replace(chunk, consistency: .session)
            } catch MilvusError.connectionLost {
                // The insert may have been applied, at a time this process never
                // heard: asking again at strong consistency which faces are held, and
                // deleting those first, writes each face once.
                try replace(chunk, consistency: .strong)
            }
        }
    }

    private func replace(_ chunk: ArraySlice<IndexedFace>, consistency: MilvusConsistency) throws {
        let held = try faceIDs(among: chunk.map(\.id), consistency: consistency)
        if !held.isEmpty { _ = try deleteRows(held.sorted()) }
        let request = WireInsertRequest.with {
            $0.collectionName = collection
            $0.fieldsData = columns(chunk)
            $0.numRows = UInt32(chunk.count)
        }
        let answer = try client.call("Insert", idempotent: false) { try await $0.insert(request, metadata: $1, options: $2) }
        guard answer.insertCnt == Int64(chunk.count) else {
            throw MilvusError.malformed("Milvus stored \(answer.insertCnt) of \(chunk.count) rows")
        }
        wrote(at: answer.timestamp, faces: chunk.count)
    }

    /// The rows of `faces` as Milvus's columns.
    func columns(_ faces: ArraySlice<IndexedFace>) -> [WireFieldData] {
        var vectors: [Float] = []
        vectors.reserveCapacity(faces.count * dimension)
        for face in faces {
            precondition(face.vector.count == dimension, "a \(face.vector.count)-value template in a \(dimension)-value index")
            vectors.append(contentsOf: face.vector)
        }
        return [
            .longs(Field.face, faces.map(\.id)),
            .with {
                $0.type = .floatVector
                $0.fieldName = Field.vector
                $0.vectors = .with {
                    $0.dim = Int64(dimension)
                    $0.floatVector = .with { $0.data = vectors }
                }
            },
            .longs(Field.organisation, faces.map(\.organisation)),
            .longs(Field.source, faces.map(\.source)),
            .with {
                $0.type = .varChar
                $0.fieldName = Field.jurisdiction
                $0.scalars = .with { $0.stringData = .with { $0.data = faces.map(\.jurisdiction) } }
            },
        ]
    }

    /// Deletes the templates of these faces by primary key; answers with how many
    /// rows Milvus marked deleted.
    @discardableResult
    public func delete(faceIDs: [Int64]) throws -> Int {
        let removed = try deleteRows(faceIDs)
        state.withLock { $0.faces = max(0, $0.faces - removed) }
        return removed
    }

    /// Deletes by primary key, 4,096 keys a request; answers with Milvus's count of
    /// rows marked deleted (in 2.3: of keys asked, held or not).
    private func deleteRows(_ faceIDs: [Int64]) throws -> Int {
        var removed = 0
        for start in stride(from: 0, to: faceIDs.count, by: 4096) {
            let chunk = faceIDs[start..<min(faceIDs.count, start + 4096)]
            let request = WireDeleteRequest.with {
                $0.collectionName = collection
                $0.expr = "face in [\(chunk.map(String.init).joined(separator: ","))]"
            }
            let answer = try client.call("Delete") { try await $0.delete(request, metadata: $1, options: $2) }
            removed += Int(answer.deleteCnt)
            wrote(at: answer.timestamp, faces: 0)
        }
        return removed
    }

    private func wrote(at timestamp: UInt64, faces: Int) {
        state.withLock {
            $0.lastWrite = max($0.lastWrite, timestamp)
            $0.faces = max(0, $0.faces + faces)
        }
    }

    /// The `k` best faces within `scope`, best first. `extra` more are asked of Milvus
    /// so that the caller can drop faces the metadata store no longer holds. `effort`
    /// overrides the one chosen for the recall target; `consistency` the index's.
    public func search(
        _ query: [Float], k: Int, scope: Scope = Scope(), extra: Int = 0, effort: Int? = nil,
        consistency: MilvusConsistency? = nil
    ) throws -> [SearchHit] {
        precondition(query.count == dimension, "a \(query.count)-value query of a \(dimension)-value index")
        let postFiltered = scope.excludedFaces.count > Scope.facesInExpression
        let limit = min(MilvusSearchEffort.maxLimit, k + extra + (postFiltered ? scope.excludedFaces.count : 0))
        let layout = builtLayout
        let request = searchRequest(
            query, limit: limit, expression: scope.expression,
            effort: layout.clampEffort(try effort ?? effortOverride ?? searchEffort(limit: limit), limit: limit),
            consistency: consistency ?? self.consistency)
        let answer = try client.call("Search") { try await $0.search(request, metadata: $1, options: $2) }
        let ids = answer.results.ids.intID.data, scores = answer.results.scores
        guard ids.count == scores.count else { throw MilvusError.malformed("\(ids.count) ids with \(scores.count) scores") }
        var hits = zip(ids, scores).map { SearchHit(id: $0, score: $1) }
        if postFiltered { hits.removeAll { scope.excludedFaces.contains($0.id) } }
        // A face written twice before Milvus applied the first replacement is one hit: its best.
        var seen = Set<Int64>()
        hits.removeAll { !seen.insert($0.id).inserted }
        return Array(hits.prefix(k + extra))
    }

    /// The request of one search, with the effort as given.
    func searchRequest(
        _ query: [Float], limit: Int, expression: String, effort: Int, consistency: MilvusConsistency
    ) -> WireSearchRequest {
        let (level, guarantee) = consistency.wire(lastWrite: state.withLock { $0.lastWrite })
        return WireSearchRequest.with {
            $0.collectionName = collection
            $0.dsl = expression
            $0.dslType = .boolExprV1
            $0.placeholderGroup = Self.placeholders(query)
            $0.nq = 1
            $0.searchParams = [
                .pair("anns_field", Field.vector), .pair("topk", String(limit)), .pair("metric_type", "IP"),
                .pair("params", "{\"\(builtLayout.effortName)\": \(effort)}"), .pair("round_decimal", "-1"), .pair("offset", "0"),
            ]
            $0.consistencyLevel = level
            $0.guaranteeTimestamp = guarantee
        }
    }

    /// The query vector as Milvus's placeholder group: the little-endian bytes of its values.
    static func placeholders(_ query: [Float]) -> Data {
        var bytes = Data(capacity: query.count * 4)
        for value in query { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let group = WirePlaceholderGroup.with {
            $0.placeholders = [
                .with {
                    $0.tag = "$0"
                    $0.type = .placeholderFloatVector
                    $0.values = [bytes]
                }
            ]
        }
        return (try? group.serializedData()) ?? Data()
    }

    /// The effort a search of `limit` hits is given: enough for `recallTarget` at the
    /// collection's size, counted again at most once a minute.
    public func searchEffort(limit: Int = 10) throws -> Int {
        let (faces, counted) = state.withLock { ($0.faces, $0.counted) }
        var size = faces
        if counted.map({ $0.duration(to: .now) > .seconds(60) }) ?? true {
            size = try count()
            state.withLock {
                $0.faces = size
                $0.counted = .now
            }
        }
        return MilvusSearchEffort.effort(layout: builtLayout, faces: size, recallTarget: recallTarget, limit: limit)
    }

    /// The rows the collection holds (Milvus's `count(*)`, at bounded consistency).
    public func count() throws -> Int {
        let request = WireQueryRequest.with {
            $0.collectionName = collection
            $0.expr = ""
            $0.outputFields = ["count(*)"]
            $0.consistencyLevel = .bounded
        }
        let answer = try client.call("Query") { try await $0.query(request, metadata: $1, options: $2) }
        guard let count = answer.fieldsData.first?.scalars.longData.data.first else {
            throw MilvusError.malformed("count(*) answered no number")
        }
        return Int(count)
    }

    /// The faces with ids in `range`, at most `MilvusSearchEffort.maxLimit` of them,
    /// read at strong consistency: every write acknowledged before this call shows.
    public func faceIDs(in range: Range<Int64>) throws -> Set<Int64> {
        try faces(
            where: "face >= \(range.lowerBound) and face < \(range.upperBound)", consistency: .strong,
            limit: MilvusSearchEffort.maxLimit)
    }

    /// Which of these faces the collection holds (at session consistency: as this
    /// process last wrote them).
    func faceIDs(among ids: [Int64], consistency: MilvusConsistency = .session) throws -> Set<Int64> {
        try faces(where: "face in [\(ids.map(String.init).joined(separator: ","))]", consistency: consistency)
    }

    /// The face ids of the rows `expression` selects (at most `limit`, when given).
    private func faces(where expression: String, consistency: MilvusConsistency, limit: Int? = nil) throws -> Set<Int64> {
        let (level, guarantee) = consistency.wire(lastWrite: state.withLock { $0.lastWrite })
        let request = WireQueryRequest.with {
            $0.collectionName = collection
            $0.expr = expression
            $0.outputFields = [Field.face]
            if let limit { $0.queryParams = [.pair("limit", String(limit))] }
            $0.consistencyLevel = level
            $0.guaranteeTimestamp = guarantee
        }
        let answer = try client.call("Query") { try await $0.query(request, metadata: $1, options: $2) }
        return Set(answer.fieldsData.first { $0.fieldName == Field.face }?.scalars.longData.data ?? [])
    }

    /// The collection's field names.
    enum Field {
        static let face = "face", vector = "vector", organisation = "organisation", source = "source"
        static let jurisdiction = "jurisdiction"
    }
}

extension WireKeyValuePair {
    static func pair(_ key: String, _ value: String) -> Self {
        .with {
            $0.key = key
            $0.value = value
        }
    }
}

extension WireFieldData {
    static func longs(_ name: String, _ values: [Int64]) -> Self {
        .with {
            $0.type = .int64
            $0.fieldName = name
            $0.scalars = .with { $0.longData = .with { $0.data = values } }
        }
    }
}
