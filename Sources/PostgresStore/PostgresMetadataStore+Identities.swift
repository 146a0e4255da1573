import Foundation
import Store

extension PostgresMetadataStore {
    /// Moves each table's id generator past the largest id it holds, after rows were
    /// inserted with their ids (a copied gallery), so the next insert takes a new one.
    public func restartIdentities() throws {
        try write { db in
            for table in try db.rows(
                """
                SELECT table_name FROM information_schema.columns
                WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'
                """
            ).map({ try $0[0].string() }) {
                try db.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT max(id) FROM \(table)), 0) + 1, false)")
            }
        }
    }
}
