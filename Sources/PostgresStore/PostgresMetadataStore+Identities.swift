import Foundation
import Store

extension PostgresMetadataStore {
    /// VACUUM of the tables erasures delete from: the dead rows' space is marked free
    /// for new rows, which overwrite the old bytes in time (a VACUUM FULL, which
    /// rewrites the files, locks them; see README, Backups and erasure). VACUUM cannot
    /// run in a transaction: it is sent on a connection of its own.
    public func reclaimDeletedSpace() throws {
        let lease = try pool.take()
        let connection = PostgresTransaction(connection: lease.connection, endpoint: pool.endpoint)
        defer {
            connection.isOpen = false
            pool.giveBack(lease.connection, healthy: !connection.connectionFailed)
        }
        try connection.command("VACUUM face, image, publication, sourceFile, suppressedFace, suppression, accessRequest, accessCandidate, probe")
    }

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
