import Foundation

extension MilvusIndex {
    /// Makes the collection with Lineup's layout when it does not exist (its index
    /// too), or checks the layout of the one that does; then loads it and reads its
    /// index back. A collection of another layout is refused, never written: one made
    /// by Lineup's earlier RESTful client (automatic ids, no partition key) with the
    /// command that rebuilds it from the metadata store.
    public func open() throws {
        if try !client.hasCollection(collection) {
            try create()
        } else {
            try checkLayout()
        }
        if try describeIndex() == nil { try createIndex(layout) }
        try load()
        let built = try describeIndex()
        state.withLock { $0.built = built }
    }

    /// What `open` refuses an existing collection for, said the same way everywhere.
    static let rebuildAdvice = "rebuild it from the metadata store with `lineup reconcile --rebuild-index`"

    private func create() throws {
        let schema = WireCollectionSchema.with {
            $0.name = collection
            $0.description_p = "Lineup face templates"
            $0.fields = [
                .with {
                    $0.name = Field.face
                    $0.isPrimaryKey = true
                    $0.dataType = .int64
                    $0.description_p = "the gallery's face id"
                },
                .with {
                    $0.name = Field.vector
                    $0.dataType = .floatVector
                    $0.typeParams = [.pair("dim", String(dimension))]
                },
                .with {
                    $0.name = Field.organisation
                    $0.dataType = .int64
                    $0.isPartitionKey = true
                },
                .with {
                    $0.name = Field.source
                    $0.dataType = .int64
                },
                .with {
                    $0.name = Field.jurisdiction
                    $0.dataType = .varChar
                    $0.typeParams = [.pair("max_length", "16")]
                },
            ]
        }
        let request = try WireCreateCollectionRequest.with {
            $0.collectionName = collection
            $0.schema = try schema.serializedData()
            $0.shardsNum = 1
            $0.consistencyLevel = .bounded
            $0.numPartitions = Int64(Self.partitions)
        }
        _ = try client.call("CreateCollection") { try await $0.createCollection(request, metadata: $1, options: $2) }
    }

    /// Partitions the organisations hash into. Each partition has segments of its
    /// own and a search that is not limited to some organisations reads them all, so
    /// fewer than Milvus's default of 64: a deployment serves a few organisations,
    /// and at 64 a search of 200,000 faces read 64 small graphs.
    static let partitions = 16

    /// Whether the existing collection has Lineup's fields, of the right types and dimension.
    private func checkLayout() throws {
        let answer = try describeCollection()
        let fields = Dictionary(answer.schema.fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let key = answer.schema.fields.first { $0.isPrimaryKey }
        guard let key, key.name == Field.face, key.dataType == .int64, !key.autoID else {
            let made = key.map { $0.autoID ? "automatic ids in '\($0.name)'" : "primary key '\($0.name)'" } ?? "no primary key"
            let v1 = key?.name == "id" && key?.autoID == true
            throw MilvusError.layout(
                "the Milvus collection \(collection) has \(made), not the face id as primary key"
                    + (v1 ? " (it was made by Lineup's RESTful v1 client, which also had no partition key)" : "")
                    + ": Lineup will not write to it; \(Self.rebuildAdvice), or name another collection")
        }
        let vector = fields[Field.vector]
        let dim = vector?.typeParams.first { $0.key == "dim" }?.value
        guard vector?.dataType == .floatVector, dim == String(dimension) else {
            throw MilvusError.layout(
                "the Milvus collection \(collection) holds \(vector.map { "\($0.dataType) of dimension \(dim ?? "?")" } ?? "no vector field"), "
                    + "not \(dimension)-value float templates; \(Self.rebuildAdvice)")
        }
        guard fields[Field.organisation]?.isPartitionKey == true, fields[Field.source]?.dataType == .int64,
            fields[Field.jurisdiction]?.dataType == .varChar
        else {
            throw MilvusError.layout(
                "the Milvus collection \(collection) lacks the organisation partition key or the source and jurisdiction fields; \(Self.rebuildAdvice)"
            )
        }
    }

    /// The collection's schema and id, as Milvus describes them.
    /// Milvus's id of the collection: the folder its segment files are kept under.
    public func collectionID() throws -> Int64 { try describeCollection().collectionID }

    func describeCollection() throws -> WireDescribeCollectionResponse {
        try client.call("DescribeCollection") { service, metadata, options in
            try await service.describeCollection(.with { $0.collectionName = self.collection }, metadata: metadata, options: options)
        }
    }

    /// The collection's vector index, as Milvus describes it; nil when it has none.
    func describeIndex() throws -> MilvusIndexLayout? {
        let request = WireDescribeIndexRequest.with {
            $0.collectionName = collection
            $0.fieldName = Field.vector
        }
        do {
            let answer = try client.call("DescribeIndex") { try await $0.describeIndex(request, metadata: $1, options: $2) }
            guard let index = answer.indexDescriptions.first else { return nil }
            return try MilvusIndexLayout(described: Dictionary(index.params.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }))
        } catch MilvusError.api(let code, let message) where code == 700 || code == 25 || message.contains("index not found") {
            return nil  // 2.3 answers "index not found" (code 700, error code 25) for a collection without one
        }
    }

    private func createIndex(_ layout: MilvusIndexLayout) throws {
        let request = WireCreateIndexRequest.with {
            $0.collectionName = collection
            $0.fieldName = Field.vector
            $0.indexName = Field.vector
            $0.extraParams = [.pair("index_type", layout.typeName), .pair("metric_type", "IP"), .pair("params", layout.buildParameters)]
        }
        _ = try client.call("CreateIndex") { try await $0.createIndex(request, metadata: $1, options: $2) }
    }

    /// Loads the collection into Milvus's query nodes and waits until it is searchable.
    private func load() throws {
        _ = try client.call("LoadCollection") { service, metadata, options in
            try await service.loadCollection(.with { $0.collectionName = self.collection }, metadata: metadata, options: options)
        }
        try waitUntil("the collection \(collection) is loaded", seconds: 300) {
            try client.call("GetLoadState") { service, metadata, options in
                try await service.getLoadState(.with { $0.collectionName = self.collection }, metadata: metadata, options: options)
            }.state == .loaded
        }
    }

    /// Seals the collection's growing segments and waits until Milvus has written
    /// them to its storage: after this, a restart of Milvus loses none of them.
    public func flush() throws {
        let answer = try client.call("Flush") { service, metadata, options in
            try await service.flush(.with { $0.collectionNames = [self.collection] }, metadata: metadata, options: options)
        }
        let segments = answer.collSegIds[collection]?.data ?? []
        let flushTime = answer.collFlushTs[collection] ?? 0
        try waitUntil("Milvus has flushed \(collection)", seconds: 600) {
            try client.call("GetFlushState") { service, metadata, options in
                try await service.getFlushState(
                    .with {
                        $0.segmentIds = segments
                        $0.flushTs = flushTime
                        $0.collectionName = self.collection
                    }, metadata: metadata, options: options)
            }.flushed
        }
    }

    /// Flushes the deletions, then compacts the segments that hold deleted rows.
    public func purgeRemoved() throws {
        try flush()
        try compact()
    }

    /// Rewrites the collection's segments without its deleted rows and waits until
    /// done: before this, a deleted template is hidden from searches but still
    /// written in Milvus's storage.
    public func compact() throws {
        let id = try describeCollection().collectionID
        let started = try client.call("ManualCompaction") { service, metadata, options in
            try await service.manualCompaction(.with { $0.collectionID = id }, metadata: metadata, options: options)
        }
        let compaction = started.compactionID
        try waitUntil("Milvus has compacted \(collection)", seconds: 1800) {
            try client.call("GetCompactionState") { service, metadata, options in
                try await service.getCompactionState(.with { $0.compactionID = compaction }, metadata: metadata, options: options)
            }.state == .completed
        }
    }

    /// Rows in the query nodes' sealed segments, and those of them searched through
    /// the built index. Milvus indexes a sealed segment of at least 1,024 rows (and
    /// scans smaller ones); growing segments are scanned until a flush seals them,
    /// and a sealed segment's index is built first and then handed to the query nodes.
    public func sealedRows() throws -> (sealed: Int, indexedOrSmall: Int) {
        let answer = try client.call("GetQuerySegmentInfo") { service, metadata, options in
            try await service.getQuerySegmentInfo(.with { $0.collectionName = self.collection }, metadata: metadata, options: options)
        }
        let sealed = answer.infos.filter { $0.state != .growing }
        return (
            sealed.reduce(0) { $0 + Int($1.numRows) },
            sealed.filter { $0.indexID != 0 || $0.numRows < 1024 }.reduce(0) { $0 + Int($1.numRows) }
        )
    }

    /// Flushes, then waits until the query nodes hold at least `rows` rows in sealed
    /// segments, each searched through its index (or too small to have one).
    public func waitUntilIndexed(rows: Int, seconds: Double = 3600) throws {
        try flush()
        try waitUntil("\(rows) rows are searched through the index", seconds: seconds) {
            let served = try sealedRows()
            return served.sealed >= rows && served.indexedOrSmall == served.sealed
        }
    }

    func waitUntil(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { throw MilvusError.unreachable("\(client.address.absoluteString): not done in \(Int(seconds)) s: \(what)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}
