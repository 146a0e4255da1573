import Foundation
import Gallery
import Index
import Store

/// Backups that honour erasure: a backup holds the records with every template
/// sealed by its face's own key and no key; a restore replays, before the gallery
/// opens, every erasure the key vault's journal holds and the backup does not.
extension Governance {
    /// One erasure the journal replayed: its receipt, and what it took out now.
    public struct ReplayedErasure: Sendable, Codable, Equatable {
        public var receipt: String
        public var erasedAt: Date
        public var scope: String
        public var target: String
        public var faces: Int
        public var images: Int
        public var files: Int
        public var sources: Int
    }

    /// Replays into `database` every erasure of `vault`'s journal whose receipt it
    /// does not hold, oldest first: the faces, pictures and sources go as the erasure
    /// took them, the receipt is written as it was issued, and the replay is logged.
    /// Each erasure is one transaction that checks again for its receipt, so two
    /// processes replaying at once replay it once. Returns what was replayed and the
    /// faces removed.
    static func replayErasures(
        from vault: KeyVault, into database: any MetadataStore, at moment: Date
    ) throws -> (replayed: [ReplayedErasure], faces: [Int64]) {
        let references = try vault.erasureReferences()
        guard !references.isEmpty else { return ([], []) }
        let held = try database.read { db in Set(try db.rows("SELECT reference FROM erasureReceipt").map { try $0[0].string() }) }
        let pending = Set(references).subtracting(held)
        guard !pending.isEmpty else { return ([], []) }
        var replayed: [ReplayedErasure] = [], removed: [Int64] = []
        for erasure in try vault.erasures(references: pending) {
            let done = try database.write { db -> (ReplayedErasure, [Int64])? in
                guard try ErasureReceipt.withReference(erasure.receipt.reference, in: db) == nil else { return nil }
                var faces: [Int64] = []
                for start in stride(from: 0, to: erasure.faces.count, by: 10_000) {
                    faces += try GalleryStore.heldFaces(Array(erasure.faces[start..<min(erasure.faces.count, start + 10_000)]), in: db)
                }
                let sources = try db.ids("SELECT id FROM source WHERE id IN (\(sqlList(erasure.sources)))")
                let bySource = try GalleryStore.deleteSources(sources, in: db)
                let goneWithSources = Set(bySource.faces)
                let byFace = try GalleryStore.deleteFaces(
                    faces.filter { !goneWithSources.contains($0) }, erasedAt: erasure.receipt.erasedAt, in: db)
                var receipt = erasure.receipt
                receipt.id = nil
                receipt.indexPurgedAt = nil
                try db.insert(&receipt)
                let result = ReplayedErasure(
                    receipt: receipt.reference, erasedAt: receipt.erasedAt, scope: receipt.scope, target: receipt.target,
                    faces: bySource.faces.count + byFace.faces.count, images: bySource.images + byFace.images,
                    files: bySource.files + byFace.files, sources: sources.count)
                try AuditLog.append(
                    AuditEntry(
                        recordedAt: moment, actor: "erasure-journal", organisation: nil, action: .eraseReplay, target: "receipt \(receipt.reference)",
                        details: json(result)), in: db)
                return (result, bySource.faces + byFace.faces)
            }
            if let (result, faces) = done {
                replayed.append(result)
                removed += faces
            }
        }
        return (replayed, removed)
    }

    /// Finishes any erasure the journal holds and the gallery does not (one whose
    /// commit was cut short after its keys were shredded), and takes its faces out of
    /// the index. Runs when Governance opens and on the server's hourly schedule.
    @discardableResult
    public func replayErasures() throws -> [ReplayedErasure] {
        let (replayed, faces) = try Self.replayErasures(from: gallery.store.vault, into: database, at: now())
        if !faces.isEmpty { try gallery.forget(faceIDs: faces) }
        return replayed
    }

    /// The hourly upkeep of erasure: unfinished erasures replayed; in cluster mode the
    /// shared index compacted for receipts whose templates have not yet left its
    /// files, and the metadata store's deleted rows vacuumed. Returns the receipts
    /// whose templates left the index now.
    public func finishErasures() throws -> [String] {
        try replayErasures()
        var purged: [String] = []
        if gallery.indexKindKnownNow == .shared, let shared = try gallery.index as? any SharedFaceIndex {
            let pending = try database.read { db in
                try db.rows("SELECT reference FROM erasureReceipt WHERE indexPurgedAt IS NULL").map { try $0[0].string() }
            }
            if !pending.isEmpty {
                try shared.purgeRemoved()
                try recordPurge(of: pending, at: now())
                purged = pending
            }
        }
        try database.reclaimDeletedSpace()
        return purged
    }

    // MARK: - Backup and restore

    /// What a backup holds.
    public struct BackupReport: Sendable, Codable, Equatable {
        public var path: String
        public var gallery: String
        public var createdAt: Date
        public var engine: String
        public var faces: Int
        public var receipts: Int
        public var bytes: Int64
        public var sha256: String

        init(path: String, header: GalleryBackup.Header) {
            (self.path, gallery, createdAt, engine) = (path, header.gallery, header.createdAt, header.engine)
            (faces, receipts, bytes, sha256) = (header.faces, header.receipts, header.payloadBytes, header.payloadSHA256)
        }
    }

    /// Writes a backup of the gallery's records to `path` (admins; logged): SQLite's
    /// online backup of an embedded gallery, or one consistent read of a cluster's
    /// PostgreSQL records. Milvus is not in it: a restore rebuilds the shared index
    /// from the records. Keys are not in it either (see `GalleryBackup`).
    public func backup(as principal: Principal, to path: String) throws -> BackupReport {
        let admin = try requireOperator(principal, .admin, for: "making a backup")
        guard !FileManager.default.fileExists(atPath: path) else {
            throw GovernanceError.invalid("\(path) exists: a backup is written to a new file, never over another")
        }
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard directory.isEmpty || (FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue)
        else { throw GovernanceError.badInput("no folder \(directory) to write the backup in") }
        let payload = path + ".records"
        defer { Self.removeDatabaseFiles(at: payload) }
        if let sqlite = database as? SQLiteMetadataStore {
            try sqlite.backup(to: payload)
        } else {
            let copy = try SQLiteMetadataStore(path: payload)
            _ = try copy.copyRecords(from: database)
            try copy.close()
        }
        let header = try GalleryBackup.write(payload: payload, gallery: gallery.store.galleryID, engine: database.engine, to: path)
        try audit(
            admin, action: .backupCreate, target: (path as NSString).lastPathComponent,
            details: Self.json(["faces": String(header.faces), "receipts": String(header.receipts), "sha256": header.payloadSHA256]))
        return BackupReport(path: path, header: header)
    }

    /// What a restore did.
    public struct RestoreReport: Sendable, Codable, Equatable {
        public var backup: BackupReport
        /// The erasures issued after the backup was made, replayed before the gallery opened.
        public var replayed: [ReplayedErasure]
        /// What the gallery holds now.
        public var faces: Int
        public var images: Int
        public var files: Int
        /// Faces written to the index afresh (the local index rebuilt, or the shared one refilled).
        public var indexed: Int
    }

    /// Replaces the gallery's records with a backup's (admins; logged). The backup is
    /// checked whole first (its gallery, its layout and schema, its length and
    /// checksum), then its records are copied aside and every erasure the key vault's
    /// journal holds and the backup does not is replayed there; every face left must
    /// have its key in the vault. Only then are the gallery's records replaced, in one
    /// transaction, and its index rebuilt from them. A backup refused changes nothing.
    /// Stop every other process using the gallery first.
    ///
    /// The audit log is kept as it is: what happened after the backup was made stays
    /// on record, followed by the replayed erasures and the restore. Only a database
    /// that holds no accounts (one lost and made again) takes the backup's log, and is
    /// restored without an account (`principal` nil), as a fresh one is bootstrapped.
    public func restore(as principal: Principal?, from path: String, progress: (Int) -> Void = { _ in }) throws -> RestoreReport {
        let admin = try principal.map { try requireOperator($0, .admin, for: "restoring a backup") }
        let emptyLog = try database.read { db in try db.count(AuditEntry.self) } == 0
        guard try admin != nil || !hasAccounts() else {
            throw GovernanceError.unauthenticated("restoring a backup over a gallery that has accounts is for its admins: give a token")
        }
        let aside = gallery.directory + "/restoring-\(UUID().uuidString.prefix(8)).sqlite"
        defer { Self.removeDatabaseFiles(at: aside) }
        let header: GalleryBackup.Header
        do {
            header = try GalleryBackup.extract(path, gallery: gallery.store.galleryID, to: aside)
        } catch let error as GalleryBackup.BackupError {
            throw GovernanceError.invalid(error.description + "; nothing was changed")
        }
        let records = try SQLiteMetadataStore(path: aside)
        guard try records.read({ db in try Setting.value(.galleryID, in: db) }) == header.gallery else {
            throw GovernanceError.invalid("the backup's records are of another gallery than its header says; nothing was changed")
        }
        let (replayed, _) = try Self.replayErasures(from: gallery.store.vault, into: records, at: now())
        let keyless = try facesWithoutKeys(in: records)
        guard keyless == 0 else {
            throw GovernanceError.invalid(
                "\(keyless) faces of the backup have no key in the key vault \(gallery.store.vault.path): it is not the vault of the gallery the backup was made of; nothing was changed"
            )
        }
        let moment = now()
        _ = try database.replaceRecords(from: records, keeping: emptyLog ? [] : [AuditEntry.tableName]) { db in
            // Rejections the kept log records reach the restored copy too.
            let cases = emptyLog ? [] : try reapplyCaseRejections(in: db)
            // The replays were logged in the backup's log, which a kept log replaces.
            for erasure in replayed where !emptyLog {
                try AuditLog.append(
                    AuditEntry(
                        recordedAt: moment, actor: "erasure-journal", organisation: nil, action: .eraseReplay,
                        target: "receipt \(erasure.receipt)", details: Self.json(erasure)), in: db)
            }
            try AuditLog.append(
                AuditEntry(
                    recordedAt: moment, actor: admin?.name ?? "restore", organisation: admin?.organisation.name, action: .backupRestore,
                    target: (path as NSString).lastPathComponent,
                    details: Self.json([
                        "backupCreatedAt": header.createdAt.formatted(.iso8601), "sha256": header.payloadSHA256,
                        "replayed": replayed.map(\.receipt).joined(separator: " "),
                        "case_rejections_reapplied": cases.joined(separator: " "),
                    ])), in: db)
        }
        try records.close()
        optOutCache.withLock { $0 = nil }
        operatorID.withLock { $0 = nil }
        let indexed =
            gallery.indexKindKnownNow == .shared ? try gallery.rebuildSharedIndex(progress: progress) : try gallery.rebuildLocalIndex()
        try gallery.store.checkpoint()
        let counts = try gallery.store.counts()
        return RestoreReport(
            backup: BackupReport(path: path, header: header),
            replayed: replayed, faces: counts.faces, images: counts.images, files: counts.files, indexed: indexed)
    }

    /// Faces of `records` sealed with their own key whose key the vault does not hold.
    private func facesWithoutKeys(in records: any MetadataStore) throws -> Int {
        var missing = 0, after: Int64 = 0
        while true {
            let ids = try records.read { db in
                try db.ids("SELECT id FROM face WHERE id > ? AND keyID = '\(KeyVault.ownKey)' ORDER BY id LIMIT 10000", [.integer(after)])
            }
            guard let last = ids.last else { return missing }
            missing += ids.count - (try gallery.store.vault.heldKeys(of: ids))
            after = last
        }
    }
}

extension Governance {
    /// Removes a scratch SQLite database with its journal files.
    static func removeDatabaseFiles(at path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Records that the templates of these receipts' erasures left the index's files.
    func recordPurge(of references: [String], at moment: Date) throws {
        try database.write { db in
            try db.execute(
                "UPDATE erasureReceipt SET indexPurgedAt = ? WHERE indexPurgedAt IS NULL AND reference IN (\(references.map { _ in "?" }.joined(separator: ",")))",
                [.date(moment)] + references.map(SQLValue.text))
        }
    }

    /// Whether the database holds any account (a restore over it needs an admin's).
    public func hasAccounts() throws -> Bool {
        try database.read { db in try db.count(Account.self) } > 0
    }
}
