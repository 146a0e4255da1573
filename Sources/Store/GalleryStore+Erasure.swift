import Foundation

/// The one place that deletes a gallery's faces, pictures and sources, and the
/// look-ups an erasure asks first. Each runs inside the caller's transaction, so an
/// erasure's rows, its receipt and its audit entry commit together or not at all.
extension GalleryStore {
    /// What an erasure took out of the tables.
    public struct Deletion: Sendable, Equatable {
        public var faces: [Int64] = []
        public var images = 0
        public var files = 0
    }

    /// Deletes faces (and the listed images, and pictures left with no face) and their
    /// opt-out links; files left with no picture are marked erased, keeping their
    /// content hash so that ingesting the file again does not bring the faces back.
    public static func deleteFaces(
        _ faces: [Int64], alsoImages: [Int64] = [], erasedAt: Date,
        in db: any MetadataTransaction
    ) throws -> Deletion {
        guard !faces.isEmpty || !alsoImages.isEmpty else { return Deletion() }
        let imageIDs = Set(try db.ids("SELECT imageID FROM face WHERE id IN (\(sqlList(faces)))") + alsoImages)
        let fileIDs = Set(try db.ids("SELECT fileID FROM image WHERE id IN (\(sqlList(imageIDs)))"))
        try db.delete(GalleryFace.self, ids: faces)
        try SuppressedFace.delete(faces: faces, in: db)
        var deletion = Deletion(faces: faces)
        for id in imageIDs {
            let emptied = try db.count(GalleryFace.self, "WHERE imageID = ?", [.integer(id)]) == 0
            if alsoImages.contains(id) || emptied { deletion.images += try db.delete(GalleryImage.self, ids: [id]) }
        }
        for id in fileIDs where try db.count(GalleryImage.self, "WHERE fileID = ?", [.integer(id)]) == 0 {
            try db.execute("UPDATE sourceFile SET erasedAt = ?, faceCount = 0 WHERE id = ?", [.date(erasedAt), .integer(id)])
            deletion.files += 1
        }
        return deletion
    }

    /// Deletes sources with their files, pictures, faces, opt-out links and ingest records.
    public static func deleteSources(_ ids: [Int64], in db: any MetadataTransaction) throws -> Deletion {
        guard !ids.isEmpty else { return Deletion() }
        let list = sqlList(ids)
        let faces = try faces(ofSources: ids, in: db)
        let deletion = Deletion(
            faces: faces, images: try db.count(GalleryImage.self, "WHERE sourceID IN (\(list))"),
            files: try db.count(SourceFile.self, "WHERE sourceID IN (\(list))"))
        try db.delete(GalleryFace.self, ids: faces)
        try SuppressedFace.delete(faces: faces, in: db)
        try db.delete(Source.self, ids: ids)
        return deletion
    }

    /// Every face of these sources.
    public static func faces(ofSources ids: [Int64], in db: any MetadataTransaction) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        return try db.ids("SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID IN (\(sqlList(ids)))")
    }

    /// Those of `ids` that are stored faces.
    public static func heldFaces(_ ids: [Int64], in db: any MetadataTransaction) throws -> [Int64] {
        try db.ids("SELECT id FROM face WHERE id IN (\(sqlList(ids)))")
    }

    /// The faces of one picture.
    public static func faces(ofImage id: Int64, in db: any MetadataTransaction) throws -> [Int64] {
        try db.ids("SELECT id FROM face WHERE imageID = ?", [.integer(id)])
    }

    /// The faces of a source ingested before `date` (what its retention period has passed).
    public static func faces(ofSource id: Int64, ingestedBefore date: Date, in db: any MetadataTransaction) throws -> [Int64] {
        try db.ids(
            "SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID = ? AND image.ingestedAt < ?",
            [.integer(id), .date(date)])
    }

    /// The organisation owning each stored face of `ids` (nil: the operator's own
    /// sources, made before organisations owned sources).
    public static func owners(ofFaces ids: [Int64], in db: any MetadataTransaction) throws -> [(face: Int64, organisation: Int64?)] {
        try db.rows(
            """
            SELECT face.id, source.organisationID FROM face JOIN image ON image.id = face.imageID
            JOIN source ON source.id = image.sourceID WHERE face.id IN (\(sqlList(ids)))
            """
        ).map { (try $0[0].int64(), $0[1].isNull ? nil : try $0[1].int64()) }
    }

    /// The organisation owning a picture's source; nil when there is no such picture,
    /// `.some(nil)` for a source no organisation owns.
    public static func owner(ofImage id: Int64, in db: any MetadataTransaction) throws -> Int64?? {
        guard let image = try db.fetchOne(GalleryImage.self, id: id) else { return nil }
        return .some(try db.fetchOne(Source.self, id: image.sourceID)?.organisationID)
    }

    /// The faces stored by one ingest run.
    public static func faceCount(ofRun runID: Int64, in db: any MetadataTransaction) throws -> Int {
        try db.count(
            """
            SELECT count(*) FROM face JOIN image ON image.id = face.imageID JOIN sourceFile ON sourceFile.id = image.fileID
            WHERE sourceFile.runID = ?
            """, [.integer(runID)])
    }
}

extension StoredRecord {
    /// The record whose unique `name` column is `name` (sources, organisations,
    /// accounts, policy rules), nil when there is none.
    public static func named(_ name: String, in db: any MetadataTransaction) throws -> Self? {
        try db.fetchOne(Self.self, "WHERE name = ?", [.text(name)])
    }

    /// The record whose unique `reference` column is `reference` (opt-outs, access
    /// requests, receipts), nil when there is none.
    public static func withReference(_ reference: String, in db: any MetadataTransaction) throws -> Self? {
        try db.fetchOne(Self.self, "WHERE reference = ?", [.text(reference)])
    }
}

extension AuditEntry {
    /// How many entries of `action` were recorded since `date`, by `actor` or by anyone
    /// of `organisation` when given (a day's searches, for the rate limits).
    public static func count(
        of action: AuditAction, since date: Date, actor: String? = nil, organisation: String? = nil,
        in db: any MetadataTransaction
    ) throws -> Int {
        var clauses = "WHERE action = ? AND recordedAt >= ?"
        var arguments: [SQLValue] = [.text(action.rawValue), .date(date)]
        if let actor {
            clauses += " AND actor = ?"
            arguments.append(.text(actor))
        }
        if let organisation {
            clauses += " AND organisation = ?"
            arguments.append(.text(organisation))
        }
        return try db.count(AuditEntry.self, clauses, arguments)
    }

    /// What the audit browser asks for; nil fields match anything.
    public struct Selection: Sendable, Equatable {
        public var actor: String?
        /// Entries whose action starts with this (`search`, `policy.`).
        public var actionPrefix: String?
        public var caseNumber: String?
        public var since: Date?
        /// Only the entries of accounts of this organisation (a reader outside the operator).
        public var organisation: String?

        public init(actor: String? = nil, actionPrefix: String? = nil, caseNumber: String? = nil, since: Date? = nil, organisation: String? = nil) {
            (self.actor, self.actionPrefix, self.caseNumber, self.since, self.organisation) = (actor, actionPrefix, caseNumber, since, organisation)
        }
    }

    /// The newest `limit` entries matching, newest first, and how many match up to
    /// `countUpTo`: the database filters and stops early, so a log of millions of
    /// entries (one per file ingested) is never read whole for a page.
    public static func newest(
        _ selection: Selection, limit: Int, countUpTo: Int, in db: any MetadataTransaction
    ) throws -> (entries: [AuditEntry], matching: Int) {
        var clauses: [String] = [], arguments: [SQLValue] = []
        if let actor = selection.actor {
            clauses.append("actor = ?")
            arguments.append(.text(actor))
        }
        if let prefix = selection.actionPrefix {
            // A range, not LIKE: it uses the action index and treats % and _ as themselves.
            clauses.append("action >= ? AND action < ?")
            arguments += [.text(prefix), .text(prefix + "\u{10FFFF}")]
        }
        if let caseNumber = selection.caseNumber {
            clauses.append("caseNumber = ?")
            arguments.append(.text(caseNumber))
        }
        if let since = selection.since {
            clauses.append("recordedAt >= ?")
            arguments.append(.date(since))
        }
        if let organisation = selection.organisation {
            clauses.append("organisation = ?")
            arguments.append(.text(organisation))
        }
        let condition = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let entries = try db.fetchAll(AuditEntry.self, "\(condition) ORDER BY id DESC LIMIT \(max(0, limit))", arguments)
        let matching = try db.count("SELECT count(*) FROM (SELECT 1 FROM auditEntry \(condition) LIMIT \(max(0, countUpTo)))", arguments)
        return (entries, matching)
    }

    /// Visits every entry of `action`, oldest first, without loading the log.
    public static func forEach(of action: AuditAction, in db: any MetadataTransaction, _ body: (AuditEntry) throws -> Void) throws {
        try db.forEachRow("SELECT * FROM auditEntry WHERE action = ? ORDER BY id", [.text(action.rawValue)]) { row in
            try body(try AuditEntry(row: row))
        }
    }
}
