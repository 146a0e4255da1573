import Foundation
import GRDB

extension GalleryStore {
    /// The tables of the accountability layer, in the gallery's own database so an
    /// erasure, its receipt and its audit entry commit together or not at all.
    static func registerAccountabilityMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: organisations, accounts, audit log, policy, opt-outs, access requests, erasure") { db in
            try db.alter(table: GalleryFace.databaseTableName) { t in t.add(column: "keyID", .text) }
            // Finds templates still in the clear without reading the table at every open.
            try db.execute(sql: "CREATE INDEX faceInTheClear ON face(id) WHERE keyID IS NULL")
            try db.alter(table: SourceFile.databaseTableName) { t in t.add(column: "erasedAt", .datetime) }
            try db.create(table: Organisation.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("type", .text).notNull()
                t.column("jurisdiction", .text).notNull()
                t.column("searchesPerDay", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.alter(table: Source.databaseTableName) { t in
                t.add(column: "organisationID", .integer).references(Organisation.databaseTableName, onDelete: .restrict)
            }
            try db.create(table: Account.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Organisation.databaseTableName, onDelete: .restrict).notNull()
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
            try db.create(table: AccessToken.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Account.databaseTableName, onDelete: .cascade).notNull()
                t.column("sha256", .blob).notNull().unique()
                t.column("label", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
                t.column("revokedAt", .datetime)
            }
            try db.create(table: AuditEntry.databaseTableName) { t in
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
            try db.execute(sql: """
                CREATE TRIGGER auditEntryNoUpdate BEFORE UPDATE ON auditEntry
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER auditEntryNoDelete BEFORE DELETE ON auditEntry
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """)
            try db.create(table: PolicyRuleRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("body", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
            }
            try db.create(table: Setting.databaseTableName) { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: ProbeRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("photoSHA256", .blob).notNull()
                t.column("template", .blob).notNull()
                t.column("photo", .blob)
                t.column("keyID", .text).notNull()
                t.column("photoKeptUntil", .datetime)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: Suppression.databaseTableName) { t in
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
                t.column("suppressionID", .integer).notNull().references(Suppression.databaseTableName, onDelete: .cascade)
                t.column("faceID", .integer).notNull().indexed()
                t.primaryKey(["suppressionID", "faceID"])
            }
            try db.create(table: AccessRequest.databaseTableName) { t in
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
            try db.create(table: AccessCandidate.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("requestID", .integer).notNull().indexed().references(AccessRequest.databaseTableName, onDelete: .cascade)
                t.column("faceID", .integer).notNull()
                t.column("score", .double).notNull()
                t.column("decision", .text).notNull()
                t.column("decidedBy", .text)
                t.column("decidedAt", .datetime)
            }
            try db.create(table: ErasureReceipt.databaseTableName) { t in
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
    }

    /// Seals templates stored in the clear by a version before encryption at rest.
    func sealClearTemplates() throws {
        let keyring = self.keyring
        let sql = "SELECT EXISTS (SELECT 1 FROM face INDEXED BY faceInTheClear WHERE keyID IS NULL)"
        guard try database.read({ db in try Bool.fetchOne(db, sql: sql) ?? false }) else { return }
        try database.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, template FROM face INDEXED BY faceInTheClear WHERE keyID IS NULL")
            for row in rows {
                let sealed = try keyring.seal(row[1])
                try db.execute(sql: "UPDATE face SET template = ?, keyID = ? WHERE id = ?",
                               arguments: [sealed, keyring.currentKeyID, row[0] as Int64])
            }
        }
    }

    /// Re-seals every sealed value (face templates, opt-out and access-request
    /// templates, probe records) with a new current key, in one transaction, then
    /// retires the old keys. The keyring file is written before the database commits
    /// (holding old and new keys), so a crash in between loses nothing.
    @discardableResult
    public func rotateKeys() throws -> (keyID: String, resealed: Int) {
        let old = keyring
        guard old.path != nil else { throw TemplateKeyring.KeyringError.notRotatable }
        let new = old.addingKey()
        try new.save()
        let count = try database.write { db -> Int in
            var count = 0
            for (table, columns) in [("face", ["template"]), ("suppression", ["template"]), ("accessRequest", ["template", "photo"]),
                                     ("probe", ["template", "photo"])] {
                for row in try Row.fetchAll(db, sql: "SELECT id, keyID, \(columns.joined(separator: ", ")) FROM \(table)") {
                    let keyID: String = row[1]
                    var values: [DatabaseValueConvertible?] = []
                    for index in columns.indices {
                        let sealed: Data? = row[index + 2]
                        values.append(try sealed.map { try new.seal(try new.open($0, keyID: keyID)) })
                    }
                    let assignments = columns.map { "\($0) = ?" }.joined(separator: ", ")
                    try db.execute(sql: "UPDATE \(table) SET \(assignments), keyID = ? WHERE id = ?",
                                   arguments: StatementArguments(values + [new.currentKeyID, row[0] as Int64]))
                    count += 1
                }
            }
            return count
        }
        let retired = new.retiringOldKeys()
        try retired.save()
        keyHolder.withLock { $0 = retired }
        return (retired.currentKeyID, count)
    }

    /// Writes the WAL back into the database file and truncates it, so pages that
    /// `secure_delete` zeroed replace the old ones everywhere on disk.
    public func checkpoint() throws {
        try database.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }
}
