import FaceVision
import Foundation
import Gallery
import Index
import Store

extension Governance {
    /// What the gallery holds, where its index came from, and whether its database is sound.
    public struct GalleryStatus: Sendable, Codable, Equatable {
        public var store: String
        public var database: String
        public var sources: Int
        public var files: Int
        public var images: Int
        public var faces: Int
        public var model: String
        public var indexedFaces: Int
        public var indexKind: String
        public var indexOrigin: String
        /// Where each face's own key is kept, and how many keys it holds (one a face;
        /// a face whose ingest was cut short may have left one unused).
        public var keyVault: String
        public var faceKeys: Int
        /// Cluster mode: erasures whose templates have not yet left Milvus's segment files
        /// (see `finishErasures`); an embedded index rewrites its snapshot at once.
        public var erasuresPendingPurge: Int
        /// `ok`, or what the engine's check and the reference check found, or
        /// `not checked: …` when the engine could not check itself; nil when not asked
        /// (the checks read the whole database: minutes at ten million faces).
        public var integrity: String?
    }

    /// The gallery's status (the operator's admins and auditors), with the database's
    /// integrity checks when `checkingIntegrity`.
    public func status(as principal: Principal, checkingIntegrity: Bool = false) throws -> GalleryStatus {
        try requireOperator(principal, .admin, .auditor, for: "reading the gallery's status")
        let counts = try gallery.store.counts()
        return GalleryStatus(
            store: gallery.directory, database: gallery.store.database.engine,
            sources: try database.read { db in try db.count(Source.self) }, files: counts.files,
            images: counts.images, faces: counts.faces, model: gallery.modelID,
            indexedFaces: try gallery.indexedFaces(), indexKind: try gallery.indexKind.rawValue,
            indexOrigin: try gallery.indexOrigin, keyVault: gallery.store.vault.path, faceKeys: try gallery.store.vault.keyCount(),
            erasuresPendingPurge: gallery.indexKindKnownNow == .shared
                ? try database.read { db in try db.count(ErasureReceipt.self, "WHERE indexPurgedAt IS NULL") } : 0,
            integrity: checkingIntegrity ? try gallery.store.integrityCheck() : nil)
    }

    /// How a copy of the embedded gallery into a cluster checked out.
    public struct MigrationReport: Sendable, Codable, Equatable {
        public var tables: [String: Int]
        public var mismatchedTables: [String]
        public var facesInIndex: Int
        public var faces: Int
        public var auditChainIntact: Bool
        public var auditHeadHash: String
        public var sampleSearches: Int
        public var sameTopFace: Int
        public var overlapAt10: Double
        public var seconds: Double
        public var index: String

        /// Every table counts the same, the index holds every face, the audit chain
        /// verifies and every sample search finds the same face first.
        public var checksOut: Bool {
            mismatchedTables.isEmpty && facesInIndex == faces && auditChainIntact && sameTopFace == sampleSearches
        }
    }

    /// Copies this (embedded) gallery into an empty cluster: every record into
    /// `database`, ids, sealed templates and the audit chain as they are; every
    /// template into `index`; then checks the copy (see `MigrationReport.checksOut`)
    /// and records the change in both galleries. The operator's admins only.
    /// `prepareIDs` runs after the copy, for an engine whose id sequences must be
    /// moved past the copied ids.
    public func migrate(
        as principal: Principal, into database: any MetadataStore, index: any FaceIndex,
        sampleSearches: Int = 20, waitSeconds: Int = 120, prepareIDs: () throws -> Void = {},
        progress: (String) -> Void = { _ in }
    ) throws -> MigrationReport {
        let admin = try requireOperator(principal, .admin, for: "migrating the gallery")
        guard try gallery.indexKind != .shared else {
            throw GovernanceError.invalid("this gallery already runs in cluster mode: the embedded gallery is what is copied")
        }
        let clock = ContinuousClock(), started = clock.now
        progress("copying the records into \(database.engine) …")
        let copied = try database.copyRecords(from: gallery.store.database)
        try prepareIDs()
        progress("putting \(copied["face"] ?? 0) templates into \(index.engine) …")
        let faces = try gallery.facesToIndex()
        for start in stride(from: 0, to: faces.count, by: 1000) {
            try index.add(Array(faces[start..<min(faces.count, start + 1000)]))
        }
        let source = try gallery.store.database.tableCounts(), target = try database.tableCounts()
        let maxFaceID = faces.map(\.id).max() ?? 0
        var inIndex = try index.count(upTo: maxFaceID)
        let deadline = Date().addingTimeInterval(TimeInterval(waitSeconds))
        while inIndex < faces.count, Date() < deadline {
            Thread.sleep(forTimeInterval: 1)
            inIndex = try index.count(upTo: maxFaceID)
        }
        let cluster = try Governance(
            gallery: Gallery(
                directory: gallery.directory, modelID: gallery.modelID,
                dimension: gallery.index.dimension, keyring: gallery.store.keyring,
                database: database, sharedIndex: index))
        let chain = try AuditLog.verify(database)
        let agreement = try compareSearches(faces, local: gallery.index, shared: index, sample: sampleSearches)
        let report = MigrationReport(
            tables: target, mismatchedTables: source.keys.sorted().filter { source[$0] != target[$0] },
            facesInIndex: inIndex, faces: faces.count, auditChainIntact: chain.isIntact,
            auditHeadHash: chain.headHash, sampleSearches: agreement.searches,
            sameTopFace: agreement.sameTop, overlapAt10: agreement.overlap,
            seconds: (clock.now - started).seconds, index: index.engine)
        let details = ["faces": String(faces.count), "index": index.engine, "verified": report.checksOut ? "yes" : "no"]
        try audit(admin, action: .migrateToCluster, target: "deployment", details: Self.json(details))
        try cluster.audit(admin, action: .migrateFromEmbedded, target: "deployment", details: Self.json(details))
        return report
    }

    /// Searches with a sample of the gallery's own templates in both indexes: the top
    /// face (itself) must agree, and the top ten should mostly overlap.
    private func compareSearches(_ faces: [IndexedFace], local: any FaceIndex, shared: any FaceIndex, sample: Int) throws
        -> (searches: Int, sameTop: Int, overlap: Double)
    {
        guard !faces.isEmpty, sample > 0 else { return (0, 0, 1) }
        let step = max(1, faces.count / sample)
        var searches = 0, sameTop = 0, overlap = 0.0
        for face in stride(from: 0, to: faces.count, by: step).prefix(sample).map({ faces[$0] }) {
            let expected = try local.search(face.vector, k: 10)
            let found = try shared.search(face.vector, k: 10).prefix(10)
            searches += 1
            // The same face, or one with the same score (a photo stored twice).
            if let top = found.first, let want = expected.first, top.id == want.id || abs(top.score - want.score) < 1e-4 { sameTop += 1 }
            overlap += Double(Set(found.map(\.id)).intersection(expected.map(\.id)).count) / Double(max(1, expected.count))
        }
        return (searches, sameTop, overlap / Double(searches))
    }
}
