import Foundation

extension MetadataStore {
    /// Every table, parents before children, as its record type (or as plain rows for
    /// the two tables without an id): the order a copy inserts in.
    static var tablesInCopyOrder: [(name: String, copy: (any MetadataTransaction, any MetadataTransaction) throws -> Int)] {
        func records<R: StoredRecord>(_ type: R.Type) -> (String, (any MetadataTransaction, any MetadataTransaction) throws -> Int) {
            (
                R.tableName,
                { from, to in
                    var count = 0
                    try from.forEachRow("SELECT * FROM \(R.tableName) ORDER BY id", []) { row in
                        // Read as the record, so each value reaches the target in its type (dates
                        // kept by SQLite as text go to PostgreSQL as timestamps); ids are kept.
                        var record = try R(row: row)
                        try to.insert(&record)
                        count += 1
                    }
                    return count
                }
            )
        }
        func rows(_ table: String, _ columns: [String]) -> (String, (any MetadataTransaction, any MetadataTransaction) throws -> Int) {
            (
                table,
                { from, to in
                    var count = 0
                    let marks = columns.map { _ in "?" }.joined(separator: ", ")
                    try from.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(table)", []) { row in
                        try to.execute("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(marks))", row.values)
                        count += 1
                    }
                    return count
                }
            )
        }
        return [
            records(Organisation.self), records(Account.self), records(AccessToken.self), records(Source.self),
            records(IngestRun.self), records(IngestError.self), records(SourceFile.self), records(GalleryImage.self),
            records(GalleryFace.self), records(AuditEntry.self), records(PolicyRuleRecord.self), rows("setting", ["key", "value"]),
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

    /// Rows of every table, to compare two stores after a copy.
    public func tableCounts() throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for (table, _) in Self.tablesInCopyOrder { counts[table] = try db.count("SELECT count(*) FROM \(table)") }
            return counts
        }
    }
}
