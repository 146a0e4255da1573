import Foundation

extension MetadataStore {
    /// Every table, parents before children, as its record type (or as plain rows for
    /// the two tables without an id): the order a copy inserts in.
    static var tablesInCopyOrder: [(name: String, copy: (any MetadataTransaction, any MetadataTransaction) throws -> Int)] {
        func records<R: StoredRecord>(_ type: R.Type) -> (String, (any MetadataTransaction, any MetadataTransaction) throws -> Int) {
            (
                R.tableName,
                { from, to in
                    var batch = RowBatch(table: R.tableName, into: to)
                    try from.forEachRow("SELECT * FROM \(R.tableName) ORDER BY id", []) { row in
                        // Read as the record, so each value reaches the target in its type (dates
                        // kept by SQLite as text go to PostgreSQL as timestamps); ids are kept.
                        try batch.add(try RowEncoder.columns(of: try R(row: row)))
                    }
                    return try batch.finish()
                }
            )
        }
        func rows(_ table: String, _ columns: [String]) -> (String, (any MetadataTransaction, any MetadataTransaction) throws -> Int) {
            (
                table,
                { from, to in
                    var batch = RowBatch(table: table, into: to)
                    try from.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(table)", []) { row in
                        try batch.add(Array(zip(columns, row.values)).map { (column: $0.0, value: $0.1) })
                    }
                    return try batch.finish()
                }
            )
        }
        return [
            records(Organisation.self), records(Account.self), records(AccessToken.self), records(Source.self),
            records(IngestRun.self), records(IngestError.self), records(SourceFile.self), records(GalleryImage.self),
            records(Publication.self),
            records(GalleryFace.self), records(AuditEntry.self), records(PolicyRuleRecord.self), rows("setting", ["key", "value"]),
            records(InvestigationCase.self), records(CaseAuthorisation.self), records(CandidateReview.self),
            records(ProbeRecord.self), records(Suppression.self), rows("suppressedFace", ["suppressionID", "faceID"]),
            records(AccessRequest.self), records(AccessCandidate.self), records(ErasureReceipt.self),
        ]
    }

    /// Copies every record of `source` into this store, ids and sealed values as they
    /// are, in one transaction: a copy that fails leaves nothing behind. Refused
    /// unless this store is empty. Returns the rows copied by table.
    public func copyRecords(from source: any MetadataStore) throws -> [String: Int] {
        try write { target in
            for (table, _) in Self.tablesInCopyOrder where try target.count("SELECT count(*) FROM \(table)") > 0 {
                throw StoreError.invalid(
                    "the target \(engine) database already holds records (table \(table)): a gallery is copied into an empty one only")
            }
            return try source.read { from in
                var copied: [String: Int] = [:]
                for (table, copy) in Self.tablesInCopyOrder { copied[table] = try copy(from, target) }
                return copied
            }
        }
    }

    /// Replaces every record of this store with those of `source`, ids and sealed
    /// values as they are, but for the tables in `keeping`, in one transaction with
    /// `alsoInTransaction` (a restore and its audit entry): a replacement that fails
    /// leaves the store as it was.
    public func replaceRecords(
        from source: any MetadataStore, keeping: Set<String> = [],
        alsoInTransaction: (any MetadataTransaction) throws -> Void = { _ in }
    ) throws -> [String: Int] {
        let copied = try write { target in
            // Children before parents, so no foreign key is left pointing at nothing.
            for (table, _) in Self.tablesInCopyOrder.reversed() where !keeping.contains(table) {
                try target.execute("DELETE FROM \(table)")
            }
            let copied = try source.read { from in
                var copied: [String: Int] = [:]
                for (table, copy) in Self.tablesInCopyOrder where !keeping.contains(table) { copied[table] = try copy(from, target) }
                return copied
            }
            try alsoInTransaction(target)
            return copied
        }
        try restartIdentities()
        return copied
    }

    /// Rows of every table, to compare two stores after a copy.
    public func tableCounts() throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for (table, _) in Self.tablesInCopyOrder { counts[table] = try db.count("SELECT count(*) FROM \(table)") }
            return counts
        }
    }
}

/// Rows inserted many to a statement (`INSERT … VALUES (…), (…)`): a copy of ten
/// million faces into a database across the network waits for one round trip per
/// 500 rows, not per row.
struct RowBatch {
    let table: String
    let target: any MetadataTransaction
    static let rowsPerStatement = 500
    private var columns: [String] = []
    private var values: [SQLValue] = []
    private var rows = 0
    private(set) var inserted = 0

    init(table: String, into target: any MetadataTransaction) {
        self.table = table
        self.target = target
    }

    mutating func add(_ row: [(column: String, value: SQLValue)]) throws {
        let names = row.map(\.column)
        if names != columns { try flush() }
        columns = names
        values += row.map(\.value)
        rows += 1
        if rows == Self.rowsPerStatement { try flush() }
    }

    mutating func finish() throws -> Int {
        try flush()
        return inserted
    }

    private mutating func flush() throws {
        guard rows > 0 else { return }
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        try target.execute(
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES " + Array(repeating: row, count: rows).joined(separator: ", "),
            values)
        inserted += rows
        (values, rows) = ([], 0)
    }
}
