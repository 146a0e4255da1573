import Foundation
import GRDB

extension GalleryStore {
    /// Seals templates stored in the clear by a version before encryption at rest
    /// (embedded stores only: a server store was never written in the clear).
    func sealClearTemplates(in sqlite: SQLiteMetadataStore) throws {
        let keyring = self.keyring
        let sql = "SELECT EXISTS (SELECT 1 FROM face INDEXED BY faceInTheClear WHERE keyID IS NULL)"
        guard try sqlite.pool.read({ db in try Bool.fetchOne(db, sql: sql) ?? false }) else { return }
        try sqlite.pool.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, template FROM face INDEXED BY faceInTheClear WHERE keyID IS NULL")
            for row in rows {
                let sealed = try keyring.seal(row[1])
                try db.execute(
                    sql: "UPDATE face SET template = ?, keyID = ? WHERE id = ?",
                    arguments: [sealed, keyring.currentKeyID, row[0] as Int64])
            }
        }
    }

    /// Re-seals every sealed value (face templates, opt-out and access-request
    /// templates, probe records) with a new current key, in one transaction, then
    /// retires the old keys. The keyring file is written before the database commits
    /// (holding old and new keys), so a crash in between loses nothing.
    @discardableResult
    /// Rows resealed per read during a rotation: `batch` at a time.
    public func rotateKeys(batch: Int = 10_000) throws -> (keyID: String, resealed: Int) {
        precondition(batch > 0)
        let old = keyring
        guard old.path != nil else { throw TemplateKeyring.KeyringError.notRotatable }
        let new = old.addingKey()
        try new.save()
        let count = try database.write { db -> Int in
            var count = 0
            for (table, columns) in [
                ("face", ["template"]), ("suppression", ["template"]), ("accessRequest", ["template", "photo"]),
                ("probe", ["template", "photo"]),
            ] {
                // In batches by id, so ten million templates are never in memory at once
                // (read whole, they took 8 GB).
                var after: Int64 = .min
                while true {
                    let rows = try db.rows(
                        "SELECT id, keyID, \(columns.joined(separator: ", ")) FROM \(table) WHERE id > ? ORDER BY id LIMIT \(batch)",
                        [.integer(after)])
                    for row in rows {
                        let keyID = try row[1].string()
                        var values: [SQLValue] = []
                        for index in columns.indices {
                            let sealed = row[index + 2]
                            values.append(sealed.isNull ? .null : .blob(try new.seal(try new.open(try sealed.data(), keyID: keyID))))
                        }
                        let assignments = columns.map { "\($0) = ?" }.joined(separator: ", ")
                        try db.execute(
                            "UPDATE \(table) SET \(assignments), keyID = ? WHERE id = ?",
                            values + [.text(new.currentKeyID), row[0]])
                        count += 1
                    }
                    guard let last = rows.last, rows.count == batch else { break }
                    after = try last[0].int64()
                }
            }
            return count
        }
        let retired = new.retiringOldKeys()
        try retired.save()
        keyHolder.withLock { $0 = retired }
        return (retired.currentKeyID, count)
    }

    /// Embedded stores: writes the WAL back into the database file and truncates it,
    /// so pages that `secure_delete` zeroed replace the old ones everywhere on disk.
    /// A server database reclaims deleted rows with its own vacuum.
    public func checkpoint() throws {
        guard let sqlite = database as? SQLiteMetadataStore else { return }
        _ = try sqlite.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }
}
