import Foundation
import Store

/// The tables, in PostgreSQL's words: the same tables, columns, constraints and indexes
/// as the SQLite store's GRDB migrations, under the same migration names, so one set of
/// statements serves both and a migration tool can copy rows (and ids) across.
///
/// Names are written unquoted, as every statement the package sends is: PostgreSQL folds
/// both to lower case, so they match. GRDB's `belongsTo("source")` is a `sourceId` column
/// with an index named `index_<table>_on_<column>`, as here.
extension PostgresMetadataStore {
    /// The migrations, in the order they are applied (the SQLite store's names).
    public static let migrationNames: [String] = migrations.map(\.name)

    static let migrations: [(name: String, statements: [String])] = [
        ("v1: sources, files, images, faces, ingest runs", version1),
        ("v2: organisations, accounts, audit log, policy, opt-outs, access requests, erasure", version2),
        ("v3: ingest run heartbeat, session tokens", version3),
        ("v4: one schema on both engines", version4),
        ("v5: audit entries by action and time", version5),
        ("v6: indexes behind every foreign key and the rate limits", version6),
        ("v7: faces sealed with their own keys, erasures leaving the index", version7),
        (SQLiteMetadataStore.urlListMigration, version8),
        (SQLiteMetadataStore.publicationMigration, version9),
        (SQLiteMetadataStore.caseMigration, version10),
    ]

    /// Cases, their authorisations, the two-person review, probes tied to their case,
    /// sources' collection methods and the default authorisation rule for a store in
    /// use (see the SQLite store's v10).
    static let version10: [String] = [
        """
        CREATE TABLE investigationCase (
            \(identity),
            organisationID BIGINT NOT NULL REFERENCES organisation(id),
            number TEXT NOT NULL,
            openedAt TIMESTAMPTZ NOT NULL,
            openedBy TEXT NOT NULL,
            firstSearchAt TIMESTAMPTZ,
            closedAt TIMESTAMPTZ,
            closedBy TEXT,
            initialIdentificationFacts TEXT,
            initialIdentificationBy TEXT,
            UNIQUE (organisationID, number))
        """,
        """
        CREATE TABLE caseAuthorisation (
            \(identity),
            caseID BIGINT NOT NULL REFERENCES investigationCase(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            authorityKind TEXT NOT NULL,
            authority TEXT NOT NULL,
            reference TEXT NOT NULL,
            scope TEXT NOT NULL,
            requestedAt TIMESTAMPTZ NOT NULL,
            requestedBy TEXT NOT NULL,
            decidedOn TEXT,
            decidedAt TIMESTAMPTZ,
            decidedBy TEXT,
            erasureReceipt TEXT)
        """,
        index("caseAuthorisation", "caseID"),
        """
        CREATE TABLE candidateReview (
            \(identity),
            caseID BIGINT NOT NULL REFERENCES investigationCase(id) ON DELETE CASCADE,
            searchEntryID BIGINT NOT NULL,
            faceID BIGINT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            proposedBy TEXT NOT NULL,
            proposedAt TIMESTAMPTZ NOT NULL,
            proposalReason TEXT NOT NULL,
            verifiedBy TEXT,
            verifiedAt TIMESTAMPTZ,
            verification TEXT,
            verificationReason TEXT,
            UNIQUE (searchEntryID, faceID))
        """,
        index("candidateReview", "caseID"),
        "ALTER TABLE probe ADD COLUMN caseID BIGINT REFERENCES investigationCase(id) ON DELETE SET NULL",
        "ALTER TABLE probe ADD COLUMN crop BYTEA",
        "CREATE INDEX index_probe_on_caseID ON probe(caseID)",
        "ALTER TABLE source ADD COLUMN collectionMethod TEXT",
        "CREATE INDEX auditEntryByCase ON auditEntry(caseNumber, organisation)",
        PolicyRuleRecord.insertAuthorisationRuleIfInUse(now: "CURRENT_TIMESTAMP"),
    ]

    /// Places of publication, many per picture; `image.pageURL` moves there; a web
    /// archive picture's record offset (see the SQLite store's v9).
    static let version9: [String] = [
        """
        CREATE TABLE publication (
            \(identity),
            imageID BIGINT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
            pageURL TEXT,
            pageTitle TEXT,
            imageURL TEXT,
            capturedAt TIMESTAMPTZ,
            credit TEXT,
            recordedFrom TEXT NOT NULL
        )
        """,
        index("publication", "imageID"),
        SQLiteMetadataStore.movePageURLs,
        "ALTER TABLE image DROP COLUMN pageURL",
        "ALTER TABLE sourceFile ADD COLUMN recordOffset BIGINT",
    ]

    /// As the SQLite migration: refused, naming the sources, while url-list sources hold
    /// pictures; otherwise those sources are removed.
    static let version8: [String] = [
        """
        DO $$
        DECLARE held TEXT;
        BEGIN
            SELECT string_agg(line, ', ' ORDER BY line) INTO held FROM (\(SQLiteMetadataStore.urlListHeldQuery)) AS lines(line);
            IF held IS NOT NULL THEN
                RAISE EXCEPTION '%', replace('\(Source.urlListRefusal("HELD"))', 'HELD', held);
            END IF;
        END $$
        """,
        "DELETE FROM source WHERE kind = 'url-list'",
    ]

    /// Flags are 0 or 1 in a BIGINT, as SQLite keeps them, so one bound value serves both.
    static let version3: [String] = [
        "ALTER TABLE ingestRun ADD COLUMN heartbeatAt TIMESTAMPTZ",
        "ALTER TABLE ingestRun ADD COLUMN interrupted BIGINT NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1))",
        "ALTER TABLE accessToken ADD COLUMN isSession BIGINT NOT NULL DEFAULT 0 CHECK (isSession IN (0, 1))",
        "UPDATE accessToken SET isSession = 1 WHERE label = 'web session'",
    ]

    /// What the schema comparison found apart from SQLite's tables: the partial index
    /// of templates in the clear was missing, and two flags had CHECKs SQLite's do not.
    static let version4: [String] = [
        "CREATE INDEX IF NOT EXISTS faceInTheClear ON face(id) WHERE keyID IS NULL",
        "ALTER TABLE ingestRun DROP CONSTRAINT IF EXISTS ingestrun_interrupted_check",
        "ALTER TABLE accessToken DROP CONSTRAINT IF EXISTS accesstoken_issession_check",
    ]

    /// The rate limits count a day's searches by action and time (see the SQLite store's v5).
    static let version5: [String] = [
        "CREATE INDEX IF NOT EXISTS auditEntryByActionAndTime ON auditEntry(action, recordedAt)"
    ]

    /// Deleting an ingest run sets its files' runID to NULL: found by index, not by
    /// reading every file (see the SQLite store's v6); sources by organisation; and
    /// today's searches by account and by organisation, counted from the index alone.
    static let version6: [String] = [
        "CREATE INDEX IF NOT EXISTS sourceFileByRun ON sourceFile(runID)",
        "CREATE INDEX IF NOT EXISTS sourceByOrganisation ON source(organisationID)",
        "CREATE INDEX IF NOT EXISTS auditEntryByActorAndTime ON auditEntry(action, actor, recordedAt)",
        "CREATE INDEX IF NOT EXISTS auditEntryByOrganisationAndTime ON auditEntry(action, organisation, recordedAt)",
    ]

    /// Faces still sealed with the keyring, given keys of their own when the gallery
    /// opens, and when an erasure's templates left the index's files (see the SQLite
    /// store's v7).
    static let version7: [String] = [
        "CREATE INDEX IF NOT EXISTS faceSealedByKeyring ON face(id) WHERE keyID <> 'face'",
        "ALTER TABLE erasureReceipt ADD COLUMN indexPurgedAt TIMESTAMPTZ",
    ]

    static let identity = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    static func index(_ table: String, _ column: String) -> String {
        "CREATE INDEX index_\(table)_on_\(column) ON \(table)(\(column))"
    }

    static let version1: [String] = [
        """
        CREATE TABLE source (
            \(identity),
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            root TEXT,
            legalBasis TEXT NOT NULL,
            specialCategoryCondition TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            retentionDays BIGINT NOT NULL CHECK (retentionDays > 0),
            licenceReference TEXT,
            createdAt TIMESTAMPTZ NOT NULL,
            createdBy TEXT NOT NULL)
        """,
        """
        CREATE TABLE ingestRun (
            \(identity),
            sourceId BIGINT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            startedAt TIMESTAMPTZ NOT NULL,
            finishedAt TIMESTAMPTZ,
            filesSeen BIGINT NOT NULL DEFAULT 0,
            filesIngested BIGINT NOT NULL DEFAULT 0,
            filesSkipped BIGINT NOT NULL DEFAULT 0,
            faces BIGINT NOT NULL DEFAULT 0,
            errors BIGINT NOT NULL DEFAULT 0)
        """,
        index("ingestRun", "sourceId"),
        """
        CREATE TABLE ingestError (
            \(identity),
            runID BIGINT NOT NULL REFERENCES ingestRun(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            message TEXT NOT NULL)
        """,
        index("ingestError", "runID"),
        """
        CREATE TABLE sourceFile (
            \(identity),
            sourceId BIGINT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            sha256 BYTEA NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            faceCount BIGINT NOT NULL,
            ingestedAt TIMESTAMPTZ NOT NULL,
            runID BIGINT REFERENCES ingestRun(id) ON DELETE SET NULL,
            UNIQUE (sourceID, sha256))
        """,
        index("sourceFile", "sourceId"),
        """
        CREATE TABLE image (
            \(identity),
            sourceId BIGINT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            fileID BIGINT NOT NULL REFERENCES sourceFile(id) ON DELETE CASCADE,
            originURI TEXT NOT NULL,
            pageURL TEXT,
            capturedAt TIMESTAMPTZ,
            ingestedAt TIMESTAMPTZ NOT NULL,
            width BIGINT NOT NULL,
            height BIGINT NOT NULL,
            frameSeconds DOUBLE PRECISION)
        """,
        index("image", "sourceId"),
        index("image", "fileID"),
        """
        CREATE TABLE face (
            \(identity),
            imageId BIGINT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
            box TEXT NOT NULL,
            landmarks TEXT NOT NULL,
            detectorScore DOUBLE PRECISION NOT NULL,
            quality TEXT NOT NULL,
            modelID TEXT NOT NULL,
            template BYTEA NOT NULL,
            trackFirstSeconds DOUBLE PRECISION,
            trackLastSeconds DOUBLE PRECISION)
        """,
        index("face", "imageId"),
        index("face", "modelID"),
    ]

    /// SQLite's partial index `faceInTheClear` (templates stored before encryption at rest)
    /// is left out: no PostgreSQL store ever held a template in the clear.
    static let version2: [String] = [
        "ALTER TABLE face ADD COLUMN keyID TEXT",
        "ALTER TABLE sourceFile ADD COLUMN erasedAt TIMESTAMPTZ",
        """
        CREATE TABLE organisation (
            \(identity),
            name TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            searchesPerDay BIGINT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL)
        """,
        "ALTER TABLE source ADD COLUMN organisationID BIGINT REFERENCES organisation(id) ON DELETE RESTRICT",
        """
        CREATE TABLE account (
            \(identity),
            organisationId BIGINT NOT NULL REFERENCES organisation(id) ON DELETE RESTRICT,
            name TEXT NOT NULL UNIQUE,
            roles TEXT NOT NULL,
            status TEXT NOT NULL,
            searchesPerDay BIGINT NOT NULL,
            expiresAt TIMESTAMPTZ,
            createdAt TIMESTAMPTZ NOT NULL,
            createdBy TEXT NOT NULL,
            approvedBy TEXT,
            approvedAt TIMESTAMPTZ)
        """,
        index("account", "organisationId"),
        """
        CREATE TABLE accessToken (
            \(identity),
            accountId BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
            sha256 BYTEA NOT NULL UNIQUE,
            label TEXT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL,
            expiresAt TIMESTAMPTZ NOT NULL,
            revokedAt TIMESTAMPTZ)
        """,
        index("accessToken", "accountId"),
        """
        CREATE TABLE auditEntry (
            \(identity),
            recordedAt TIMESTAMPTZ NOT NULL,
            actor TEXT NOT NULL,
            organisation TEXT,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            caseNumber TEXT,
            purpose TEXT,
            legalBasis TEXT,
            details TEXT NOT NULL,
            previousHash BYTEA NOT NULL,
            hash BYTEA NOT NULL)
        """,
        index("auditEntry", "action"),
        // Append-only for every writer that goes through the server: changing or removing
        // an entry takes dropping the triggers first, which `audit verify` would detect.
        """
        CREATE FUNCTION auditEntryAppendOnly() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only';
        END
        $$
        """,
        """
        CREATE TRIGGER auditEntryNoUpdateOrDelete BEFORE UPDATE OR DELETE ON auditEntry
            FOR EACH ROW EXECUTE FUNCTION auditEntryAppendOnly()
        """,
        """
        CREATE TRIGGER auditEntryNoTruncate BEFORE TRUNCATE ON auditEntry
            FOR EACH STATEMENT EXECUTE FUNCTION auditEntryAppendOnly()
        """,
        """
        CREATE TABLE policyRule (
            \(identity),
            name TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL,
            createdBy TEXT NOT NULL)
        """,
        "CREATE TABLE setting (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE probe (
            \(identity),
            photoSHA256 BYTEA NOT NULL,
            template BYTEA NOT NULL,
            photo BYTEA,
            keyID TEXT NOT NULL,
            photoKeptUntil TIMESTAMPTZ,
            createdAt TIMESTAMPTZ NOT NULL)
        """,
        """
        CREATE TABLE suppression (
            \(identity),
            reference TEXT NOT NULL UNIQUE,
            template BYTEA NOT NULL,
            keyID TEXT NOT NULL,
            contact TEXT NOT NULL,
            status TEXT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL,
            reviewedBy TEXT,
            reviewedAt TIMESTAMPTZ)
        """,
        // Stored faces that matched an opt-out when it was made: left out of every search,
        // and offered for erasure.
        """
        CREATE TABLE suppressedFace (
            suppressionID BIGINT NOT NULL REFERENCES suppression(id) ON DELETE CASCADE,
            faceID BIGINT NOT NULL,
            PRIMARY KEY (suppressionID, faceID))
        """,
        index("suppressedFace", "faceID"),
        """
        CREATE TABLE accessRequest (
            \(identity),
            reference TEXT NOT NULL UNIQUE,
            contact TEXT NOT NULL,
            template BYTEA NOT NULL,
            photo BYTEA,
            keyID TEXT NOT NULL,
            status TEXT NOT NULL,
            createdAt TIMESTAMPTZ NOT NULL,
            releasedBy TEXT,
            releasedAt TIMESTAMPTZ)
        """,
        """
        CREATE TABLE accessCandidate (
            \(identity),
            requestID BIGINT NOT NULL REFERENCES accessRequest(id) ON DELETE CASCADE,
            faceID BIGINT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            decision TEXT NOT NULL,
            decidedBy TEXT,
            decidedAt TIMESTAMPTZ)
        """,
        index("accessCandidate", "requestID"),
        """
        CREATE TABLE erasureReceipt (
            \(identity),
            reference TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL,
            target TEXT NOT NULL,
            faces BIGINT NOT NULL,
            images BIGINT NOT NULL,
            files BIGINT NOT NULL,
            sources BIGINT NOT NULL,
            reason TEXT NOT NULL,
            erasedAt TIMESTAMPTZ NOT NULL,
            erasedBy TEXT NOT NULL,
            sha256 TEXT NOT NULL)
        """,
    ]

    /// Creates the schema if it is missing and applies each migration not yet recorded in
    /// `lineupMigration`, each in its own write: under the write lock, so two processes
    /// starting together migrate once (the second finds the first's record and skips).
    func migrate() throws {
        try write { transaction in
            if let schema { try transaction.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoted(schema))") }
            try transaction.execute(
                "CREATE TABLE IF NOT EXISTS lineupMigration (name TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL)")
        }
        for migration in Self.migrations {
            try write { transaction in
                let applied = try transaction.count(
                    "SELECT COUNT(*) FROM lineupMigration WHERE name = ?",
                    [.text(migration.name)])
                guard applied == 0 else { return }
                for statement in migration.statements { try transaction.execute(statement) }
                try transaction.execute(
                    "INSERT INTO lineupMigration (name, appliedAt) VALUES (?, ?)",
                    [.text(migration.name), .date(Date())])
            }
        }
    }

    /// The tables of the store's schema (the migration record left out) as the
    /// catalogues report them, in the terms `SQLiteMetadataStore.schemaDescription()` uses.
    public func schemaDescription() throws -> SchemaDescription {
        try read { db in
            let here = "n.nspname = current_schema() AND c.relname <> 'lineupmigration'"
            var columns: [String: [TableShape.Column]] = [:]
            try db.forEachRow(
                """
                SELECT c.relname, a.attname, format_type(a.atttypid, NULL), a.attnotnull FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE \(here) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                """, []
            ) { row in
                let (table, name, type) = (try row[0].string().lowercased(), try row[1].string(), try row[2].string())
                guard let kind = TableShape.kind(ofDeclaredType: type) else {
                    throw MetadataStoreError.type("\(table).\(name) has the type \(type), which the schema description does not know")
                }
                columns[table, default: []].append(.init(name: name, kind: kind, nullable: try row[3].int64() == 0))
            }
            var primaryKeys: [String: [String]] = [:], foreignKeys: [String: [TableShape.ForeignKey]] = [:]
            var checks: [String: Int] = [:], indexes: [String: [TableShape.Index]] = [:]
            // Constraints: p primary key, f foreign key (one column each here), c check.
            try db.forEachRow(
                """
                SELECT c.relname, k.contype::text, k.confdeltype::text, COALESCE(r.relname, ''),
                       (SELECT string_agg(a.attname, ',' ORDER BY x.ordinality) FROM unnest(k.conkey) WITH ORDINALITY x(num, ordinality)
                        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.num)
                FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_class r ON r.oid = k.confrelid WHERE \(here)
                """, []
            ) { row in
                let table = try row[0].string().lowercased(), kind = try row[1].string()
                let keyColumns = row[4].isNull ? [] : try row[4].string().split(separator: ",").map(String.init)
                switch kind {
                case "p": primaryKeys[table] = keyColumns
                case "f":
                    let actions = ["a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"]
                    foreignKeys[table, default: []].append(
                        .init(
                            column: keyColumns.first ?? "", table: try row[3].string(),
                            onDelete: actions[try row[2].string()] ?? "?"))
                case "c": checks[table, default: 0] += 1
                default: break
                }
            }
            try db.forEachRow(
                """
                SELECT c.relname, i.indisunique::int, (i.indpred IS NOT NULL)::int,
                       (SELECT string_agg(a.attname, ',' ORDER BY x.ordinality) FROM unnest(i.indkey::int2[]) WITH ORDINALITY x(num, ordinality)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.num)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE \(here)
                """, []
            ) { row in
                indexes[try row[0].string().lowercased(), default: []].append(
                    .init(
                        columns: row[3].isNull ? [] : try row[3].string().split(separator: ",").map(String.init),
                        unique: try row[1].int64() != 0, partial: try row[2].int64() != 0))
            }
            return SchemaDescription(
                tables: Dictionary(
                    uniqueKeysWithValues: columns.map { table, columns in
                        (
                            table,
                            TableShape(
                                columns: columns, primaryKey: primaryKeys[table] ?? [], foreignKeys: foreignKeys[table] ?? [],
                                indexes: indexes[table] ?? [], checks: checks[table] ?? 0)
                        )
                    }))
        }
    }

    /// Drops the store's schema and everything in it: for tests, each in a fresh schema.
    public func dropSchema() throws {
        guard let schema else {
            throw MetadataStoreError.statement(message: "this store has no schema of its own to drop", sql: "DROP SCHEMA")
        }
        _ = try write { transaction in
            try transaction.execute("DROP SCHEMA IF EXISTS \(PostgresSQL.quoted(schema)) CASCADE")
        }
    }
}
