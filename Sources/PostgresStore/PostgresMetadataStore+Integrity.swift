import Foundation
import Store

extension PostgresMetadataStore {
    /// PostgreSQL's own check, through its `amcheck` extension: every B-tree index of
    /// the store's schema (`bt_index_check`) and every table's heap (`verify_heapam`).
    /// Without the extension in the database, no check runs and the answer says so
    /// (a superuser installs it with `CREATE EXTENSION amcheck`; scripts/cluster.sh does).
    public func engineIntegrityCheck() throws -> EngineIntegrity {
        try read { db in
            // The extension's schema, named in each call: the store's connections may
            // search the store's own schema only.
            let home = try db.row(
                """
                SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'
                """
            ).map { Self.quoted(try $0[0].string()) }
            guard let home else {
                return EngineIntegrity(
                    ran: false,
                    findings: "the amcheck extension is not installed in this database "
                        + "(a superuser adds it with CREATE EXTENSION amcheck)", method: "amcheck")
            }
            let indexes = try db.rows(
                """
                SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam
                WHERE n.nspname = current_schema() AND a.amname = 'btree' ORDER BY c.relname
                """
            ).map { try $0[0].string() }
            let tables = try db.rows(
                """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname
                """
            ).map { try $0[0].string() }
            var findings: [String] = []
            for index in indexes {
                do {
                    _ = try db.rows("SELECT \(home).bt_index_check(to_regclass(?), true)", [.text(Self.quoted(index))])
                } catch {
                    // The failed statement ends the transaction: report what was found so far.
                    findings.append("index \(index): \(error) (checking stopped there)")
                    return EngineIntegrity(ran: true, findings: findings.joined(separator: "; "), method: "amcheck")
                }
            }
            for table in tables {
                let damaged = try db.rows(
                    "SELECT blkno, msg FROM \(home).verify_heapam(to_regclass(?)) LIMIT 3",
                    [.text(Self.quoted(table))])
                for row in damaged { findings.append("table \(table), block \(try row[0].int64()): \(try row[1].string())") }
            }
            return EngineIntegrity(
                ran: true, findings: findings.isEmpty ? "ok" : findings.joined(separator: "; "),
                method: "amcheck: \(indexes.count) indexes, \(tables.count) tables")
        }
    }

    /// A name as an SQL identifier, for `to_regclass` (the schema is on the search path).
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
