import Crypto
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

    /// Gives every face an older version sealed with the keyring a key of its own,
    /// `batch` faces a transaction (their keys reach the vault before each commits).
    func giveFacesTheirOwnKeys(batch: Int = 10_000) throws {
        let sealedByKeyring = "FROM face WHERE keyID <> '\(KeyVault.ownKey)'"
        guard try database.read({ db in try db.count("SELECT count(*) FROM (SELECT 1 \(sealedByKeyring) LIMIT 1) AS pending") }) > 0 else {
            return
        }
        let keyring = self.keyring
        var done = false
        while !done {
            done = try database.write { db -> Bool in
                let rows = try db.rows("SELECT id, template, keyID \(sealedByKeyring) ORDER BY id LIMIT \(batch)")
                var keys: [(face: Int64, key: SymmetricKey)] = []
                for row in rows {
                    let id = try row[0].int64(), key = KeyVault.newFaceKey()
                    let clear = try keyring.open(try row[1].data(), keyID: try row[2].string())
                    try db.execute(
                        "UPDATE face SET template = ?, keyID = ? WHERE id = ?",
                        [.blob(try FaceOpener.seal(clear, with: key)), .text(KeyVault.ownKey), .integer(id)])
                    keys.append((id, key))
                }
                try vault.store(keys, keyring: keyring)
                return rows.count < batch
            }
        }
    }

    /// Makes a new current key, wraps every face's key with it (the templates stay as
    /// they are), re-seals the values sealed with the keyring itself (opt-out and
    /// access-request templates, probe records) in one transaction, then retires the
    /// old keys. The keyring file is written first, holding old and new keys, so a
    /// crash on the way loses nothing. Rows are read `batch` at a time.
    @discardableResult
    public func rotateKeys(batch: Int = 10_000) throws -> (keyID: String, resealed: Int) {
        precondition(batch > 0)
        let old = keyring
        guard old.path != nil else { throw TemplateKeyring.KeyringError.notRotatable }
        let new = old.addingKey()
        try new.save()
        // From here new faces' keys are wrapped with the new key; a write that read the
        // keyring before is caught by the second pass, after the reseal.
        keyHolder.withLock { $0 = new }
        var count = try vault.rewrap(to: new)
        count += try database.write { db -> Int in
            var count = 0
            for (table, columns) in [
                ("suppression", ["template"]), ("accessRequest", ["template", "photo"]), ("probe", ["template", "photo"]),
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
        count += try vault.rewrap(to: new)
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

/// Opens faces' templates: those sealed with their own key (the keys of a batch of
/// faces read from the vault in one query) and those an older version sealed with the
/// keyring.
struct FaceOpener {
    private let keys: [Int64: SymmetricKey]
    private let keyring: TemplateKeyring

    init(faces: [Int64], store: GalleryStore) throws {
        keyring = store.keyring
        keys = try store.vault.keys(of: faces, keyring: keyring)
    }

    /// The face's own key; nil when it is gone (the face was erased).
    func key(of face: Int64) -> SymmetricKey? { keys[face] }

    /// The template in the clear; nil when the face's key is gone (it was erased).
    func open(_ sealed: Data, keyID: String, face: Int64) throws -> Data? {
        guard keyID == KeyVault.ownKey else { return try keyring.open(sealed, keyID: keyID) }
        guard let key = keys[face] else { return nil }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
        } catch {
            throw TemplateKeyring.KeyringError.sealedValueDamaged
        }
    }

    static func seal(_ clear: Data, with key: SymmetricKey) throws -> Data {
        try AES.GCM.seal(clear, using: key).combined!
    }
}

extension GalleryStore {
    /// A face's sealed template (as a row of this or any copy of the database holds
    /// it) opened with the face's key from the vault; nil when the vault holds no key
    /// for it: the face was erased.
    public func openTemplate(_ sealed: Data, keyID: String, face: Int64) throws -> Data? {
        try FaceOpener(faces: [face], store: self).open(sealed, keyID: keyID, face: face)
    }
}
