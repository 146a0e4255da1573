import Crypto
import Foundation
import GRDB

/// Each face's own template key, in a small SQLite file that really deletes.
///
/// Every face's template is sealed with a data key of its own (AES-256-GCM); the
/// vault keeps that key wrapped by the keyring's current key. Erasing a face deletes
/// its key here, in the same act as its rows, so every copy of its sealed template
/// anywhere (old pages of the gallery's database, PostgreSQL's heap and WAL, a copy or
/// backup made last month) can no longer be opened: crypto-shredding. The vault itself
/// overwrites what it deletes (`secure_delete`) and truncates its WAL after each
/// erasure, so the deleted key is in no file of the vault either.
///
/// The vault also keeps the erasure journal: each erasure's receipt with the faces and
/// sources it took, written before the rows go. A backup restored later, or a
/// gallery whose erasure was cut short, has the journal's erasures replayed before it
/// opens (`Governance.replayErasures`), so no erased face comes back.
///
/// It is the one copy a backup must never hold (a backup holding it would hold the
/// keys of faces erased after it): Lineup's backups leave it out, and it lives beside
/// the keyring (`keys.sqlite`), on the keyring's volume, about 100 bytes a face.
public final class KeyVault: Sendable {
    public let path: String
    let pool: DatabasePool

    /// The key id a face row names for a template sealed with the face's own key.
    public static let ownKey = "face"

    public enum VaultError: Error, CustomStringConvertible, Equatable {
        case missingKey(face: Int64)
        case otherGallery(vault: String, vaultGallery: String, databaseGallery: String)
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .missingKey(let face):
                "face \(face)'s template key is not in the key vault: the face was erased (its key shredded) or the vault is not this gallery's"
            case .otherGallery(let vault, let vaultGallery, let databaseGallery):
                "the key vault \(vault) belongs to gallery \(vaultGallery), but the database is gallery \(databaseGallery): "
                    + "give this gallery's vault (--key-vault or LINEUP_KEY_VAULT)"
            case .unusable(let path, let reason): "cannot use the key vault \(path): \(reason)"
            }
        }
    }

    /// Opens (creating if needed, 0600) the vault at `path`.
    public init(path: String) throws {
        self.path = path
        let files = FileManager.default
        if !files.fileExists(atPath: path) {
            guard files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw VaultError.unusable(path: path, reason: "cannot create the file")
            }
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // A key written is a template that can be opened: every commit reaches the disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1: face keys, erasure journal") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE faceKey (face INTEGER PRIMARY KEY, keyID TEXT NOT NULL, wrapped BLOB NOT NULL);
                        CREATE TABLE erasure (
                            sequence INTEGER PRIMARY KEY, reference TEXT NOT NULL UNIQUE, erasedAt DOUBLE NOT NULL,
                            receipt BLOB NOT NULL, faces BLOB NOT NULL, sources BLOB NOT NULL);
                        CREATE TABLE vault (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                        """)
            }
            // Each index snapshot file is sealed with a key of its own, retired when the
            // next snapshot replaces it: a copy of an old snapshot, which may hold faces
            // erased since, no longer opens.
            migrator.registerMigration("v2: snapshot keys") { db in
                try db.execute(sql: "CREATE TABLE snapshotKey (id TEXT PRIMARY KEY, keyID TEXT NOT NULL, wrapped BLOB NOT NULL)")
            }
            try migrator.migrate(pool)
        } catch {
            throw VaultError.unusable(path: path, reason: String(describing: error))
        }
    }

    // MARK: Face keys

    /// A new data key for one face's template.
    public static func newFaceKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

    /// Stores faces' keys, wrapped by the keyring's current key (a face id written
    /// again gets the new key: a face recorded and rolled back leaves an unused one).
    public func store(_ keys: [(face: Int64, key: SymmetricKey)], keyring: TemplateKeyring) throws {
        guard !keys.isEmpty else { return }
        var wrapper = Wrapper(keyring)
        let wrapped = try keys.map { (face: $0.face, bytes: try wrapper.wrap($0.key, tag: Self.faceTag($0.face))) }
        try pool.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO faceKey (face, keyID, wrapped) VALUES (?, ?, ?)")
            for key in wrapped { try statement.execute(arguments: [key.face, keyring.currentKeyID, key.bytes]) }
        }
    }

    /// The keys of those of `faces` that have one, unwrapped.
    public func keys<C: Collection<Int64>>(of faces: C, keyring: TemplateKeyring) throws -> [Int64: SymmetricKey] {
        var keys: [Int64: SymmetricKey] = [:]
        keys.reserveCapacity(faces.count)
        var wrapper = Wrapper(keyring)
        try pool.read { db in
            for list in Self.lists(faces) {
                let rows = try Row.fetchCursor(db, sql: "SELECT face, keyID, wrapped FROM faceKey WHERE face IN (\(list))")
                while let row = try rows.next() {
                    let face: Int64 = row[0]
                    keys[face] = try wrapper.unwrap(row[2], keyID: row[1], tag: Self.faceTag(face))
                }
            }
        }
        return keys
    }

    /// Deletes faces' keys without an erasure (a file recorded, then withdrawn because
    /// what followed failed).
    public func discardKeys(of faces: [Int64]) throws {
        guard !faces.isEmpty else { return }
        try pool.write { db in
            for list in Self.lists(faces) { try db.execute(sql: "DELETE FROM faceKey WHERE face IN (\(list))") }
        }
    }

    /// How many of `faces` have a key (without unwrapping any).
    public func heldKeys(of faces: [Int64]) throws -> Int {
        try pool.read { db in
            try Self.lists(faces).reduce(0) { held, list in
                held + (try Int.fetchOne(db, sql: "SELECT count(*) FROM faceKey WHERE face IN (\(list))") ?? 0)
            }
        }
    }

    public func keyCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM faceKey") ?? 0 }
    }

    /// Wraps every key not wrapped by `keyring`'s current key with it, `batch` at a
    /// time (a key rotation: the templates stay as they are; `keyring` holds the old
    /// keys too). Returns how many were rewrapped.
    public func rewrap(to keyring: TemplateKeyring, batch: Int = 50_000) throws -> Int {
        var after: Int64 = .min, count = 0
        var wrapper = Wrapper(keyring)
        while true {
            let rows = try pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT face, keyID, wrapped FROM faceKey WHERE face > ? AND keyID <> ? ORDER BY face LIMIT \(batch)",
                    arguments: [after, keyring.currentKeyID])
            }
            guard let last = rows.last else { break }
            let rewrapped = try rows.map { row -> (Int64, Data) in
                let face: Int64 = row[0], tag = Self.faceTag(face)
                return (face, try wrapper.wrap(try wrapper.unwrap(row[2], keyID: row[1], tag: tag), tag: tag))
            }
            try pool.write { db in
                let statement = try db.cachedStatement(sql: "UPDATE faceKey SET keyID = ?, wrapped = ? WHERE face = ?")
                for (face, bytes) in rewrapped { try statement.execute(arguments: [keyring.currentKeyID, bytes, face]) }
            }
            count += rows.count
            after = last[0]
        }
        try pool.write { db in
            for row in try Row.fetchAll(db, sql: "SELECT id, keyID, wrapped FROM snapshotKey WHERE keyID <> ?", arguments: [keyring.currentKeyID]) {
                let id: String = row[0], tag = Self.snapshotTag(id)
                let wrapped = try wrapper.wrap(try wrapper.unwrap(row[2], keyID: row[1], tag: tag), tag: tag)
                try db.execute(
                    sql: "UPDATE snapshotKey SET keyID = ?, wrapped = ? WHERE id = ?", arguments: [keyring.currentKeyID, wrapped, id])
            }
        }
        try checkpoint()
        return count
    }

    /// The key ids that wrap the vault's keys (after a rotation, only the current one).
    public func wrappingKeyIDs() throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT keyID FROM faceKey UNION SELECT keyID FROM snapshotKey ORDER BY keyID")
        }
    }

    // MARK: Snapshot keys

    /// A new key for one snapshot file, and the id its header names.
    public func newSnapshotKey(keyring: TemplateKeyring) throws -> (id: String, key: SymmetricKey) {
        let key = SymmetricKey(size: .bits256)
        let id = "s" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        var wrapper = Wrapper(keyring)
        let wrapped = try wrapper.wrap(key, tag: Self.snapshotTag(id))
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO snapshotKey (id, keyID, wrapped) VALUES (?, ?, ?)", arguments: [id, keyring.currentKeyID, wrapped])
        }
        return (id, key)
    }

    /// The key of the snapshot file whose header names `id`; nil once retired.
    public func snapshotKey(id: String, keyring: TemplateKeyring) throws -> SymmetricKey? {
        guard let row = try pool.read({ db in try Row.fetchOne(db, sql: "SELECT keyID, wrapped FROM snapshotKey WHERE id = ?", arguments: [id]) })
        else { return nil }
        var wrapper = Wrapper(keyring)
        return try wrapper.unwrap(row[1], keyID: row[0], tag: Self.snapshotTag(id))
    }

    /// Deletes every snapshot key but `id`'s (the file just written replaced the
    /// others), then truncates the WAL.
    public func retireSnapshotKeys(keeping id: String) throws {
        let retired = try pool.write { db in
            try db.execute(sql: "DELETE FROM snapshotKey WHERE id <> ?", arguments: [id])
            return db.changesCount
        }
        if retired > 0 { try checkpoint() }
    }

    private static func snapshotTag(_ id: String) -> Data { Data("lineup snapshot key \(id)".utf8) }

    /// A face's data key is wrapped with the face id authenticated, so a wrapped key
    /// moved to another face's row does not open.
    private static func faceTag(_ face: Int64) -> Data {
        withUnsafeBytes(of: face.littleEndian) { Data("lineup face key ".utf8) + Data($0) }
    }

    /// `ids` as SQL lists of at most 4,096, one statement's worth each.
    private static func lists<C: Collection<Int64>>(_ ids: C) -> [String] {
        let ids = Array(ids)
        return stride(from: 0, to: ids.count, by: 4096).map { sqlList(ids[$0..<min(ids.count, $0 + 4096)]) }
    }

    /// Wraps data keys with the keyring's current key and unwraps them with the key
    /// each names, making each keyring key once for a batch, not once per data key.
    private struct Wrapper {
        let keyring: TemplateKeyring
        private var made: [String: SymmetricKey] = [:]

        init(_ keyring: TemplateKeyring) { self.keyring = keyring }

        /// `tag` is authenticated: what the key is for (a face, a snapshot file).
        mutating func wrap(_ key: SymmetricKey, tag: Data) throws -> Data {
            let wrapping = try self.key(keyring.currentKeyID)
            return try key.withUnsafeBytes { try AES.GCM.seal(Data($0), using: wrapping, authenticating: tag).combined! }
        }

        mutating func unwrap(_ wrapped: Data, keyID: String, tag: Data) throws -> SymmetricKey {
            let wrapping = try key(keyID)
            do {
                return SymmetricKey(data: try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: wrapping, authenticating: tag))
            } catch {
                throw TemplateKeyring.KeyringError.sealedValueDamaged
            }
        }

        private mutating func key(_ id: String) throws -> SymmetricKey {
            if let key = made[id] { return key }
            let key = try keyring.symmetricKey(id)
            made[id] = key
            return key
        }
    }

    // MARK: Erasure journal

    /// One erasure as the journal keeps it: the receipt, and what it took by id.
    public struct Erasure: Sendable, Equatable {
        public var receipt: ErasureReceipt
        public var faces: [Int64]
        public var sources: [Int64]

        public init(receipt: ErasureReceipt, faces: [Int64], sources: [Int64]) {
            self.receipt = receipt
            self.faces = faces
            self.sources = sources
        }
    }

    /// Records the erasure in the journal and deletes its faces' keys, in one
    /// transaction, then truncates the WAL: from here the faces' templates, wherever a
    /// copy of them is, cannot be opened.
    public func shred(_ erasure: Erasure) throws {
        var receipt = erasure.receipt
        receipt.id = nil
        let encoded = try JSONEncoder().encode(receipt)
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO erasure (reference, erasedAt, receipt, faces, sources) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    receipt.reference, receipt.erasedAt.timeIntervalSince1970, encoded, Self.pack(erasure.faces),
                    Self.pack(erasure.sources),
                ])
            for list in Self.lists(erasure.faces) {
                try db.execute(sql: "DELETE FROM faceKey WHERE face IN (\(list))")
            }
        }
        try checkpoint()
    }

    /// The receipt references of the journal's erasures, oldest first: what a gallery
    /// opening compares with its receipts, without reading the erasures' face lists.
    public func erasureReferences() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT reference FROM erasure ORDER BY sequence") }
    }

    /// The journal's erasures (those with these references, when given), oldest first.
    public func erasures(references: Set<String>? = nil) throws -> [Erasure] {
        try pool.read { db in
            // A cursor: an erasure's face list (8 bytes a face) is read only when wanted.
            let rows = try Row.fetchCursor(db, sql: "SELECT reference, receipt, faces, sources FROM erasure ORDER BY sequence")
            var erasures: [Erasure] = []
            while let row = try rows.next() {
                guard references?.contains(row[0] as String) ?? true else { continue }
                erasures.append(
                    Erasure(
                        receipt: try JSONDecoder().decode(ErasureReceipt.self, from: row[1] as Data),
                        faces: Self.unpack(row[2]), sources: Self.unpack(row[3])))
            }
            return erasures
        }
    }

    /// Writes the WAL back into the file and truncates it, so the pages `secure_delete`
    /// zeroed replace the old ones everywhere in the vault's files.
    public func checkpoint() throws {
        _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    private static func pack(_ ids: [Int64]) -> Data {
        ids.withUnsafeBufferPointer { buffer in Data(buffer: UnsafeBufferPointer(start: buffer.baseAddress, count: buffer.count)) }
    }

    private static func unpack(_ data: Data) -> [Int64] {
        data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
    }

    // MARK: Gallery identity

    /// The gallery this vault's keys belong to, nil for a new vault.
    public func galleryID() throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM vault WHERE key = 'gallery'") }
    }

    /// Binds the vault to the gallery whose database holds `databaseGallery` (nil: a
    /// new database, which is given the vault's id, or a new one). Refuses a vault of
    /// another gallery, and a vault that holds keys for a database that never had an id
    /// unless `adopting` (a lost database about to be restored from a backup of the
    /// vault's gallery). Returns the gallery's id.
    public func bind(databaseGallery: String?, adopting: Bool = false) throws -> String {
        try pool.write { db in
            let vaultGallery = try String.fetchOne(db, sql: "SELECT value FROM vault WHERE key = 'gallery'")
            switch (vaultGallery, databaseGallery) {
            case (let vault?, let database?) where vault != database:
                throw VaultError.otherGallery(vault: path, vaultGallery: vault, databaseGallery: database)
            case (_?, let database?):
                return database
            case (let vault?, nil):
                // A database without an id is new: it may take a vault that holds no keys yet,
                // never one holding another gallery's.
                let held = try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM faceKey LIMIT 1)") ?? 0
                guard held == 0 || adopting else {
                    throw VaultError.otherGallery(
                        vault: path, vaultGallery: vault,
                        databaseGallery: "a new one (a lost database is brought back with lineup restore)")
                }
                return vault
            case (nil, let database?):
                try db.execute(sql: "INSERT INTO vault (key, value) VALUES ('gallery', ?)", arguments: [database])
                return database
            case (nil, nil):
                let id = "g" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
                try db.execute(sql: "INSERT INTO vault (key, value) VALUES ('gallery', ?)", arguments: [id])
                return id
            }
        }
    }
}
