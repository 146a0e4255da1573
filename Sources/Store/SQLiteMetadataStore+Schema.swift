import Foundation
import GRDB

extension SQLiteMetadataStore {
    /// The schema, as GRDB migrations: each runs once per database, in order, and
    /// `PostgresMetadataStore` applies the same tables and columns under the same names.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: sources, files, images, faces, ingest runs") { db in
            try db.create(table: Source.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("kind", .text).notNull()
                t.column("root", .text)
                t.column("legalBasis", .text).notNull()
                t.column("specialCategoryCondition", .text).notNull()
                t.column("jurisdiction", .text).notNull()
                t.column("retentionDays", .integer).notNull().check { $0 > 0 }
                t.column("licenceReference", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
            }
            try db.create(table: IngestRun.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.tableName, onDelete: .cascade).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                for counter in ["filesSeen", "filesIngested", "filesSkipped", "faces", "errors"] {
                    t.column(counter, .integer).notNull().defaults(to: 0)
                }
            }
            try db.create(table: IngestError.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runID", .integer).notNull().indexed()
                    .references(IngestRun.tableName, onDelete: .cascade)
                t.column("path", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: SourceFile.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.tableName, onDelete: .cascade).notNull()
                t.column("sha256", .blob).notNull()
                t.column("path", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("faceCount", .integer).notNull()
                t.column("ingestedAt", .datetime).notNull()
                t.column("runID", .integer).references(IngestRun.tableName, onDelete: .setNull)
                t.uniqueKey(["sourceID", "sha256"])
            }
            try db.create(table: GalleryImage.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.tableName, onDelete: .cascade).notNull()
                t.column("fileID", .integer).notNull().indexed()
                    .references(SourceFile.tableName, onDelete: .cascade)
                t.column("originURI", .text).notNull()
                t.column("pageURL", .text)
                t.column("capturedAt", .datetime)
                t.column("ingestedAt", .datetime).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("frameSeconds", .double)
            }
            try db.create(table: GalleryFace.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(GalleryImage.tableName, onDelete: .cascade).notNull()
                t.column("box", .jsonText).notNull()
                t.column("landmarks", .jsonText).notNull()
                t.column("detectorScore", .double).notNull()
                t.column("quality", .jsonText).notNull()
                t.column("modelID", .text).notNull().indexed()
                t.column("template", .blob).notNull()
                t.column("trackFirstSeconds", .double)
                t.column("trackLastSeconds", .double)
            }
        }
        // The tables of the accountability layer, in the gallery's own database so an
        // erasure, its receipt and its audit entry commit together or not at all.
        migrator.registerMigration("v2: organisations, accounts, audit log, policy, opt-outs, access requests, erasure") { db in
            try db.alter(table: GalleryFace.tableName) { t in t.add(column: "keyID", .text) }
            // Finds templates still in the clear without reading the table at every open.
            try db.execute(sql: "CREATE INDEX faceInTheClear ON face(id) WHERE keyID IS NULL")
            try db.alter(table: SourceFile.tableName) { t in t.add(column: "erasedAt", .datetime) }
            try db.create(table: Organisation.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("type", .text).notNull()
                t.column("jurisdiction", .text).notNull()
                t.column("searchesPerDay", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.alter(table: Source.tableName) { t in
                t.add(column: "organisationID", .integer).references(Organisation.tableName, onDelete: .restrict)
            }
            try db.create(table: Account.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Organisation.tableName, onDelete: .restrict).notNull()
                t.column("name", .text).notNull().unique()
                t.column("roles", .text).notNull()
                t.column("status", .text).notNull()
                t.column("searchesPerDay", .integer).notNull()
                t.column("expiresAt", .datetime)
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
                t.column("approvedBy", .text)
                t.column("approvedAt", .datetime)
            }
            try db.create(table: AccessToken.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Account.tableName, onDelete: .cascade).notNull()
                t.column("sha256", .blob).notNull().unique()
                t.column("label", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
                t.column("revokedAt", .datetime)
            }
            try db.create(table: AuditEntry.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("recordedAt", .datetime).notNull()
                t.column("actor", .text).notNull()
                t.column("organisation", .text)
                t.column("action", .text).notNull().indexed()
                t.column("target", .text).notNull()
                t.column("caseNumber", .text)
                t.column("purpose", .text)
                t.column("legalBasis", .text)
                t.column("details", .text).notNull()
                t.column("previousHash", .blob).notNull()
                t.column("hash", .blob).notNull()
            }
            // Append-only for every writer that goes through SQLite: changing or
            // removing an entry takes editing the file by hand, which `audit verify` detects.
            try db.execute(
                sql: """
                    CREATE TRIGGER auditEntryNoUpdate BEFORE UPDATE ON auditEntry
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER auditEntryNoDelete BEFORE DELETE ON auditEntry
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
            try db.create(table: PolicyRuleRecord.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("body", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
            }
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: ProbeRecord.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("photoSHA256", .blob).notNull()
                t.column("template", .blob).notNull()
                t.column("photo", .blob)
                t.column("keyID", .text).notNull()
                t.column("photoKeptUntil", .datetime)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: Suppression.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("reference", .text).notNull().unique()
                t.column("template", .blob).notNull()
                t.column("keyID", .text).notNull()
                t.column("contact", .text).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("reviewedBy", .text)
                t.column("reviewedAt", .datetime)
            }
            // Stored faces that matched an opt-out when it was made: left out of every
            // search, and offered for erasure.
            try db.create(table: "suppressedFace") { t in
                t.column("suppressionID", .integer).notNull().references(Suppression.tableName, onDelete: .cascade)
                t.column("faceID", .integer).notNull().indexed()
                t.primaryKey(["suppressionID", "faceID"])
            }
            try db.create(table: AccessRequest.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("reference", .text).notNull().unique()
                t.column("contact", .text).notNull()
                t.column("template", .blob).notNull()
                t.column("photo", .blob)
                t.column("keyID", .text).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("releasedBy", .text)
                t.column("releasedAt", .datetime)
            }
            try db.create(table: AccessCandidate.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("requestID", .integer).notNull().indexed().references(AccessRequest.tableName, onDelete: .cascade)
                t.column("faceID", .integer).notNull()
                t.column("score", .double).notNull()
                t.column("decision", .text).notNull()
                t.column("decidedBy", .text)
                t.column("decidedAt", .datetime)
            }
            try db.create(table: ErasureReceipt.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("reference", .text).notNull().unique()
                t.column("scope", .text).notNull()
                t.column("target", .text).notNull()
                for counter in ["faces", "images", "files", "sources"] { t.column(counter, .integer).notNull() }
                t.column("reason", .text).notNull()
                t.column("erasedAt", .datetime).notNull()
                t.column("erasedBy", .text).notNull()
                t.column("sha256", .text).notNull()
            }
        }
        // A run's sign of life, so one whose process died is closed; a session's token
        // known from an API token.
        migrator.registerMigration("v3: ingest run heartbeat, session tokens") { db in
            try db.alter(table: IngestRun.tableName) { t in
                t.add(column: "heartbeatAt", .datetime)
                t.add(column: "interrupted", .boolean).notNull().defaults(to: false)
            }
            try db.alter(table: AccessToken.tableName) { t in
                t.add(column: "isSession", .boolean).notNull().defaults(to: false)
            }
            try db.execute(sql: "UPDATE accessToken SET isSession = 1 WHERE label = 'web session'")
        }
        // PostgreSQL's v4 brings its tables in line with these ones (found by comparing the
        // two schemas, `schemaDescription()`); nothing changes here, the name keeps the
        // two lists of migrations the same.
        migrator.registerMigration("v4: one schema on both engines") { _ in }
        // A day's searches are counted before every search (the rate limits): by action
        // and time, the count reads that day's searches, not every search ever logged
        // among millions of ingest entries.
        migrator.registerMigration("v5: audit entries by action and time") { db in
            try db.execute(sql: "CREATE INDEX auditEntryByActionAndTime ON auditEntry(action, recordedAt)")
        }
        // Deleting an ingest run (with its source) sets its files' runID to NULL; without
        // an index every run deleted read every file of the gallery. A bulk-filled source
        // of a million faces has hundreds of runs: erasing it took 194 s at ten million
        // faces, 3.5 s with the index. Sources by organisation: the other foreign key
        // without one (an organisation's deletion is refused while it has sources).
        // The rate limits count today's searches by an account and by an organisation:
        // with these the count reads the index alone, not every search's row (4,400
        // searches in a day took 2 ms per count, four counts per search).
        migrator.registerMigration("v6: indexes behind every foreign key and the rate limits") { db in
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS sourceFileByRun ON sourceFile(runID)")
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS sourceByOrganisation ON source(organisationID)")
            try db.execute(sql: "CREATE INDEX auditEntryByActorAndTime ON auditEntry(action, actor, recordedAt)")
            try db.execute(sql: "CREATE INDEX auditEntryByOrganisationAndTime ON auditEntry(action, organisation, recordedAt)")
        }
        // Each face's template is sealed with a key of its own (`KeyVault`); the faces an
        // earlier version sealed with the keyring are found by this index when the
        // gallery opens, without reading ten million rows that have their own keys.
        // `indexPurgedAt`: when an erasure's templates left the index's files (the
        // snapshot rewritten, or Milvus's segments compacted).
        migrator.registerMigration("v7: faces sealed with their own keys, erasures leaving the index") { db in
            try db.execute(sql: "CREATE INDEX faceSealedByKeyring ON face(id) WHERE keyID <> 'face'")
            try db.alter(table: ErasureReceipt.tableName) { t in t.add(column: "indexPurgedAt", .datetime) }
        }
        // The url-list kind is gone (`Source.Kind`): such sources that hold nothing are
        // removed; one that holds pictures stops the migration, named.
        migrator.registerMigration(urlListMigration) { db in
            let held = try String.fetchAll(db, sql: urlListHeldQuery)
            guard held.isEmpty else { throw StoreError.invalid(Source.urlListRefusal(held.joined(separator: ", "))) }
            try db.execute(sql: "DELETE FROM source WHERE kind = 'url-list'")
        }
        // Where pictures were published (`Publication`), many places per picture, from web
        // archives and manifests; the single `image.pageURL` nothing filled moves there.
        // A web archive's picture is read again from its record (`sourceFile.recordOffset`).
        migrator.registerMigration(publicationMigration) { db in
            try db.create(table: Publication.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("imageID", .integer).notNull().indexed().references(GalleryImage.tableName, onDelete: .cascade)
                t.column("pageURL", .text)
                t.column("pageTitle", .text)
                t.column("imageURL", .text)
                t.column("capturedAt", .datetime)
                t.column("credit", .text)
                t.column("recordedFrom", .text).notNull()
            }
            try db.execute(sql: movePageURLs)
            try db.alter(table: GalleryImage.tableName) { t in t.drop(column: "pageURL") }
            try db.alter(table: SourceFile.tableName) { t in t.add(column: "recordOffset", .integer) }
        }
        // The EU AI Act's duties (see `InvestigationCase`): cases with their authorisations,
        // the two-person review of candidates, each probe tied to its case with its face
        // kept for the verifier, and how each source's photos were collected. A gallery
        // already in use gets the default rule asking for authorisations in EU member
        // states (a new one gets it at bootstrap; an empty store stays empty, so a copy
        // can land in it).
        migrator.registerMigration(caseMigration) { db in
            try db.create(table: InvestigationCase.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("organisationID", .integer).notNull().references(Organisation.tableName)
                t.column("number", .text).notNull()
                t.column("openedAt", .datetime).notNull()
                t.column("openedBy", .text).notNull()
                t.column("firstSearchAt", .datetime)
                t.column("closedAt", .datetime)
                t.column("closedBy", .text)
                t.column("initialIdentificationFacts", .text)
                t.column("initialIdentificationBy", .text)
                t.uniqueKey(["organisationID", "number"])
            }
            try db.create(table: CaseAuthorisation.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseID", .integer).notNull().indexed().references(InvestigationCase.tableName, onDelete: .cascade)
                t.column("status", .text).notNull()
                t.column("authorityKind", .text).notNull()
                t.column("authority", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("requestedAt", .datetime).notNull()
                t.column("requestedBy", .text).notNull()
                t.column("decidedOn", .text)
                t.column("decidedAt", .datetime)
                t.column("decidedBy", .text)
                t.column("erasureReceipt", .text)
            }
            try db.create(table: CandidateReview.tableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseID", .integer).notNull().indexed().references(InvestigationCase.tableName, onDelete: .cascade)
                t.column("searchEntryID", .integer).notNull()
                t.column("faceID", .integer).notNull()
                t.column("score", .double).notNull()
                t.column("proposedBy", .text).notNull()
                t.column("proposedAt", .datetime).notNull()
                t.column("proposalReason", .text).notNull()
                t.column("verifiedBy", .text)
                t.column("verifiedAt", .datetime)
                t.column("verification", .text)
                t.column("verificationReason", .text)
                t.uniqueKey(["searchEntryID", "faceID"])
            }
            try db.alter(table: ProbeRecord.tableName) { t in
                t.add(column: "caseID", .integer).references(InvestigationCase.tableName, onDelete: .setNull)
                t.add(column: "crop", .blob)
            }
            try db.execute(sql: "CREATE INDEX index_probe_on_caseID ON probe(caseID)")
            try db.alter(table: Source.tableName) { t in t.add(column: "collectionMethod", .text) }
            // A case's log reads its entries by case number: without this index every
            // search and act of the organisation ever logged.
            try db.execute(sql: "CREATE INDEX auditEntryByCase ON auditEntry(caseNumber, organisation)")
            try db.execute(sql: PolicyRuleRecord.insertAuthorisationRuleIfInUse(now: "strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        }
        return migrator
    }

    public static let urlListMigration = "v8: url-list sources removed"
    /// Each url-list source holding pictures, as "name (pictures: N)", by name.
    public static let urlListHeldQuery = """
        SELECT s.name || ' (pictures: ' || COUNT(i.id) || ')' FROM source s JOIN image i ON i.sourceId = s.id
        WHERE s.kind = 'url-list' GROUP BY s.id, s.name ORDER BY s.name
        """

    public static let publicationMigration = "v9: places of publication, web archive records"
    /// The page URLs an earlier version kept on pictures, as their publications.
    public static let movePageURLs = """
        INSERT INTO publication (imageID, pageURL, recordedFrom) SELECT id, pageURL, 'manifest' FROM image WHERE pageURL IS NOT NULL
        """

    public static let caseMigration = "v10: cases, authorisations, two-person review, collection methods"

    /// The migrations applied, in order.
    public static var migrationNames: [String] { migrator.migrations }

    /// The tables as SQLite reports them (`PRAGMA table_info`, `foreign_key_list`,
    /// `index_list`), in the terms `PostgresMetadataStore.schemaDescription()` uses.
    public func schemaDescription() throws -> SchemaDescription {
        try pool.read { db in
            var tables: [String: TableShape] = [:]
            let names = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'
                    """)
            for table in names {
                let sql =
                    try String.fetchOne(
                        db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                        arguments: [table]) ?? ""
                var columns: [TableShape.Column] = [], primaryKey: [(Int, String)] = []
                for row in try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.quotedDatabaseIdentifier))") {
                    let name: String = row["name"], type: String = row["type"]
                    guard let kind = TableShape.kind(ofDeclaredType: type) else {
                        throw MetadataStoreError.type("\(table).\(name) has the type \(type), which the schema description does not know")
                    }
                    let pk: Int = row["pk"]
                    // SQLite lets a primary key column be NULL unless told otherwise; an
                    // INTEGER PRIMARY KEY is the rowid and never is.
                    columns.append(.init(name: name, kind: kind, nullable: (row["notnull"] as Int) == 0 && pk == 0))
                    if pk > 0 { primaryKey.append((pk, name)) }
                }
                let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\(table.quotedDatabaseIdentifier))").map { row in
                    TableShape.ForeignKey(column: row["from"], table: row["table"], onDelete: row["on_delete"])
                }
                var indexes: [TableShape.Index] = []
                for row in try Row.fetchAll(db, sql: "PRAGMA index_list(\(table.quotedDatabaseIdentifier))") {
                    let name: String = row["name"]
                    let columns = try Row.fetchAll(db, sql: "PRAGMA index_info(\(name.quotedDatabaseIdentifier))")
                        .sorted { ($0["seqno"] as Int) < ($1["seqno"] as Int) }.map { $0["name"] as String }
                    indexes.append(.init(columns: columns, unique: (row["unique"] as Int) != 0, partial: (row["partial"] as Int) != 0))
                }
                let checks = sql.uppercased().components(separatedBy: "CHECK").count - 1
                tables[table.lowercased()] = TableShape(
                    columns: columns, primaryKey: primaryKey.sorted { $0.0 < $1.0 }.map(\.1),
                    foreignKeys: foreignKeys, indexes: indexes, checks: checks)
            }
            return SchemaDescription(tables: tables)
        }
    }
}
