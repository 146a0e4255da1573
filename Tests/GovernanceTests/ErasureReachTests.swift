import Foundation
import GRDB
import Store
import TestSupport
import Testing

@testable import Gallery
@testable import Governance

/// Erasure that reaches every copy: backups restored after an erasure, copies of the
/// database made before it, and rotated keys.
@Suite struct ErasureReachTests {
    /// The faces of the photos whose file name starts with `prefix`.
    static func faces(_ g: Governance, named prefix: String) throws -> [Int64] {
        try g.database.read { db in
            try db.ids(
                "SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.originURI LIKE ? ORDER BY face.id",
                [.text("%" + prefix + "%")])
        }
    }

    static func erasePerson(_ world: GovernedWorld, _ cast: GovernedWorld.Cast, prefix: String) throws -> ErasureReceipt {
        let faces = try faces(world.governance, named: prefix)
        #expect(!faces.isEmpty)
        return try world.governance.erase(as: cast.officer, .faces(faces, scope: "person", label: prefix), reason: "data subject's request")
    }

    @Test(arguments: MetadataEngine.available)
    func aRestoredBackupDoesNotBringBackAFaceErasedAfterIt(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let obama = try Self.faces(g, named: "obama")
        #expect(obama.count == 3)
        let backup = world.folder + "/before.lineup-backup"
        let made = try g.backup(as: cast.admin, to: backup)
        #expect(made.faces == 4 && made.gallery == g.gallery.store.galleryID)
        #expect(throws: GovernanceError.self) { _ = try g.backup(as: cast.investigator, to: world.folder + "/other.lineup-backup") }
        #expect(throws: GovernanceError.self) { _ = try g.backup(as: cast.admin, to: backup) }  // never over another file

        // After the backup: another source is ingested, then the person is erased.
        try FileManager.default.createDirectory(atPath: world.folder + "/more", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: GovernedWorld.samples + "/obama2.jpg", toPath: world.folder + "/more/obama2.jpg")
        _ = try g.registerSource(as: cast.admin, world.source(name: "more", root: world.folder + "/more", jurisdiction: "GB"))
        _ = try g.ingest(as: cast.admin, source: "more", paths: [], pipelines: [GovernedWorld.pipeline])
        let receipt = try Self.erasePerson(world, cast, prefix: "obama")
        #expect(receipt.faces == 4)

        let restored = try g.restore(as: cast.admin, from: backup)
        #expect(restored.replayed.map(\.receipt) == [receipt.reference], "the restore says which erasure it replayed")
        #expect(restored.replayed.first?.faces == 3, "the backup held three of the four faces erased")
        #expect(restored.faces == 1 && restored.images == 1 && restored.files == 1 && restored.indexed == 1)
        #expect(try Self.faces(g, named: "obama").isEmpty)
        #expect(try g.receipts().map(\.reference) == [receipt.reference])
        for photo in ["obama.jpg", "obama2.jpg", "obama3.jpg"] {
            #expect(try world.search(cast.investigator, photo).result.candidates.allSatisfy { !$0.originURI.contains("obama") })
        }
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.first?.originURI == "biden.jpg")
        #expect(try g.database.read { db in try db.count(Source.self) } == 1, "the source made after the backup is not in it")
        #expect(try AuditLog.verify(g.database).isIntact)

        // Counts agree with a gallery that never held the person.
        let never = try GovernedWorld(engine: engine)
        let neverCast = try never.cast(ingest: false)
        try FileManager.default.createDirectory(atPath: never.folder + "/only", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: GovernedWorld.samples + "/biden.jpg", toPath: never.folder + "/only/biden.jpg")
        _ = try never.governance.registerSource(
            as: neverCast.admin, never.source(name: "portraits", root: never.folder + "/only", jurisdiction: "GB"))
        _ = try never.governance.ingest(as: neverCast.admin, source: "portraits", paths: [], pipelines: [GovernedWorld.pipeline])
        let (a, b) = (try g.status(as: cast.admin), try never.governance.status(as: neverCast.admin))
        #expect(a.sources == b.sources && a.files == b.files && a.images == b.images && a.faces == b.faces)
        #expect(a.indexedFaces == b.indexedFaces)

        // A process opening the restored gallery sees the same.
        try world.reopen()
        #expect(try world.governance.replayErasures().isEmpty, "each erasure is replayed once")
        #expect(try Self.faces(world.governance, named: "obama").isEmpty)
        #expect(try world.search(cast.investigator, "obama.jpg").result.candidates.allSatisfy { !$0.originURI.contains("obama") })
    }

    @Test func aBackupThatIsNotThisGallerysWholeOneIsRefusedAndChangesNothing() throws {
        let world = try GovernedWorld()
        let cast = try world.cast()
        let g = world.governance
        let backup = world.folder + "/good.lineup-backup"
        _ = try g.backup(as: cast.admin, to: backup)
        let good = try Data(contentsOf: URL(fileURLWithPath: backup))
        let before = try g.status(as: cast.admin)
        func refused(_ bytes: Data, _ expected: String) throws {
            let path = world.folder + "/bad-\(UUID().uuidString.prefix(6)).lineup-backup"
            try bytes.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: GovernanceError.self) { _ = try g.restore(as: cast.admin, from: path) }
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error")")
            #expect(error?.description.contains("nothing was changed") == true)
            let after = try g.status(as: cast.admin)
            #expect(after.faces == before.faces && after.files == before.files)
        }
        try refused(good.prefix(good.count - 4096), "truncated")
        var altered = good
        altered[altered.count - 10_000] ^= 0x40
        try refused(altered, "checksum")
        try refused(Data("not a backup at all\n".utf8) + good, "not a Lineup backup")
        let text = String(decoding: good.prefix(4096), as: UTF8.self)
        let newer = text.replacingOccurrences(of: "\"format\":1", with: "\"format\":2")
        try refused(Data(newer.utf8) + good.dropFirst(4096), "newer version")
        let newerSchema = text.replacingOccurrences(of: "\"migrations\":[", with: "\"migrations\":[\"v99: from the future\",")
        try refused(Data(newerSchema.utf8) + good.dropFirst(4096), "newer version")

        // Another gallery's backup.
        let other = try GovernedWorld()
        let otherCast = try other.cast()
        let foreign = other.folder + "/other.lineup-backup"
        _ = try other.governance.backup(as: otherCast.admin, to: foreign)
        try refused(try Data(contentsOf: URL(fileURLWithPath: foreign)), "not of this gallery")
        #expect(throws: GovernanceError.self) { _ = try g.restore(as: cast.investigator, from: backup) }
    }

    /// Every face row of a copy of the database: id, sealed template, key id.
    static func sealedRows(ofSQLiteCopy path: String) throws -> [(Int64, Data, String)] {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT id, template, keyID FROM face ORDER BY id").map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Every face row of a `pg_dump` of the world's schema: id, sealed template, key id.
    static func sealedRows(ofPostgresDumpOf world: GovernedWorld) throws -> [(Int64, Data, String)] {
        let schema = try world.governance.database.read { db in try db.scalar("SELECT current_schema()").string() }
        let url = URLComponents(string: MetadataEngine.postgresURL)!
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/pg_dump")
        process.arguments = [
            "--host", url.host!, "--port", String(url.port!), "--username", url.user!, "--data-only", "--table", "\(schema).face",
            String(url.path.dropFirst()),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let dump = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var lines = dump.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        guard let start = lines.firstIndex(where: { $0.hasPrefix("COPY ") && $0.contains(".face ") }) else { return [] }
        let columns = lines[start].components(separatedBy: "(")[1].components(separatedBy: ")")[0]
            .components(separatedBy: ", ").map { $0.lowercased() }
        let (id, template, keyID) = (columns.firstIndex(of: "id")!, columns.firstIndex(of: "template")!, columns.firstIndex(of: "keyid")!)
        lines = lines[(start + 1)...]
        var rows: [(Int64, Data, String)] = []
        for line in lines {
            guard line != "\\." else { break }
            let fields = line.components(separatedBy: "\t")
            // bytea in COPY's text form: \\x and hex digits.
            let hex = Array(fields[template].dropFirst(3).utf8)
            let bytes = Data(stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! })
            rows.append((Int64(fields[id])!, bytes, fields[keyID]))
        }
        return rows
    }

    @Test(arguments: MetadataEngine.withLocalIndex)
    func aCopyMadeBeforeAnErasureCannotOpenTheErasedTemplates(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let copy: [(Int64, Data, String)]
        switch engine {
        case .sqlite:
            try g.gallery.store.checkpoint()
            let path = world.folder + "/copied.sqlite"
            try FileManager.default.copyItem(atPath: world.folder + "/store/gallery.sqlite", toPath: path)
            copy = try Self.sealedRows(ofSQLiteCopy: path)
        case .postgres, .cluster:
            copy = try Self.sealedRows(ofPostgresDumpOf: world)
        }
        #expect(copy.count == 4)
        let store = g.gallery.store
        for (face, sealed, keyID) in copy {
            #expect(try store.openTemplate(sealed, keyID: keyID, face: face)?.count == 512, "every template of the copy opens before")
        }
        let erased = Set(try Self.faces(g, named: "obama"))
        _ = try Self.erasePerson(world, cast, prefix: "obama")
        for (face, sealed, keyID) in copy {
            if erased.contains(face) {
                #expect(try store.openTemplate(sealed, keyID: keyID, face: face) == nil, "face \(face) was erased: its key is gone")
                // Not with the keyring either: the template was never sealed with it.
                #expect(throws: TemplateKeyring.KeyringError.self) { _ = try store.keyring.open(sealed, keyID: store.keyring.currentKeyID) }
            } else {
                #expect(try store.openTemplate(sealed, keyID: keyID, face: face)?.count == 512, "face \(face) was not erased")
            }
        }
        // The vault's files hold no trace of the erased keys' rows.
        #expect(try store.vault.keys(of: Array(erased), keyring: store.keyring).isEmpty)
        #expect(try store.vault.keyCount() == 1)
    }

    @Test(arguments: MetadataEngine.withLocalIndex)
    func aRotationLeavesNoOldKeyAbleToOpenAnything(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let store = g.gallery.store
        let keyringFile = world.folder + "/store/keyring.json"
        let old = try TemplateKeyring.open(path: keyringFile)
        let faces = try Self.faces(g, named: ".jpg")
        #expect(try store.vault.keys(of: faces, keyring: old).count == 4)
        let wrappedBefore = try DatabaseQueue(path: store.vault.path).read { db in try Data.fetchAll(db, sql: "SELECT wrapped FROM faceKey") }

        let rotated = try g.rotateKeys(as: cast.admin)
        #expect(rotated.keyID != old.currentKeyID)
        // The old keyring, kept by someone before the rotation, unwraps no face's key.
        #expect(throws: TemplateKeyring.KeyringError.unknownKey(rotated.keyID)) { _ = try store.vault.keys(of: faces, keyring: old) }
        let vaultBytes = try Data(contentsOf: URL(fileURLWithPath: store.vault.path))
        for wrapped in wrappedBefore { #expect(vaultBytes.range(of: wrapped) == nil, "the vault still holds a key wrapped by the old one") }
        let wal = store.vault.path + "-wal"
        let walBytes = FileManager.default.fileExists(atPath: wal) ? try Data(contentsOf: URL(fileURLWithPath: wal)) : Data()
        #expect(walBytes.isEmpty, "the vault's WAL is truncated")
        // Nor does it open the snapshot, which the rotation resealed.
        #expect(try TemplateKeyring.open(path: keyringFile).keyIDs == [rotated.keyID])
        // Everything opens with the new one.
        #expect(try store.templates(faceIDs: faces).count == 4)
        try world.reopen()
        #expect(try world.governance.gallery.indexOrigin == "snapshot")
        #expect(try world.search(cast.investigator, "obama2.jpg").result.candidates.first?.originURI == "obama2.jpg")
    }

    @Test(arguments: MetadataEngine.withLocalIndex)
    func facesAnEarlierVersionSealedWithTheKeyringGetKeysOfTheirOwn(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let store = g.gallery.store
        // As a version before per-face keys stored them: sealed with the keyring's key.
        let faces = try Self.faces(g, named: ".jpg")
        let clear = try faces.map { face -> (Int64, Data) in
            let sealed = try g.database.read { db in try db.row("SELECT template, keyID FROM face WHERE id = ?", [.integer(face)])! }
            return (face, try #require(try store.openTemplate(try sealed[0].data(), keyID: try sealed[1].string(), face: face)))
        }
        try g.database.write { db in
            for (face, template) in clear {
                try db.execute(
                    "UPDATE face SET template = ?, keyID = ? WHERE id = ?",
                    [.blob(try store.keyring.seal(template)), .text(store.keyring.currentKeyID), .integer(face)])
            }
        }
        try store.vault.discardKeys(of: faces)
        try world.reopen()
        let reopened = world.governance
        let keyIDs = try reopened.database.read { db in Set(try db.rows("SELECT keyID FROM face").map { try $0[0].string() }) }
        #expect(keyIDs == [KeyVault.ownKey])
        #expect(try reopened.gallery.store.vault.keyCount() == 4)
        #expect(
            try reopened.gallery.store.templates(faceIDs: faces).mapValues { $0.withUnsafeBytes { Data($0) } }
                == Dictionary(uniqueKeysWithValues: clear))
        #expect(try world.search(cast.investigator, "obama2.jpg").result.candidates.first?.originURI == "obama2.jpg")
    }

    @Test(arguments: MetadataEngine.available)
    func theHourlyUpkeepVacuumsAndCompactsWhatAnErasureLeft(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let receipt = try Self.erasePerson(world, cast, prefix: "biden")
        #expect(receipt.indexPurgedAt != nil, "the erasure's own purge: the snapshot rewritten, or Milvus compacted")
        // As if Milvus had been unreachable at the erasure: the upkeep compacts and records it.
        try g.database.write { db in try db.execute("UPDATE erasureReceipt SET indexPurgedAt = NULL") }
        let purged = try g.finishErasures()  // PostgreSQL's VACUUM runs outside any transaction
        if engine == .cluster {
            #expect(purged == [receipt.reference])
            #expect(try g.receipt(reference: receipt.reference)?.indexPurgedAt != nil)
            #expect(try g.status(as: cast.admin).erasuresPendingPurge == 0)
        } else {
            #expect(purged.isEmpty, "an index in this process rewrote its snapshot at the erasure")
        }
        #expect(try g.finishErasures().isEmpty)
    }

    @Test func anErasureCutShortAfterItsKeysWentIsFinishedWhenTheGalleryOpens() throws {
        let world = try GovernedWorld()
        let cast = try world.cast()
        let g = world.governance
        let biden = try Self.faces(g, named: "biden")
        // The keys are shredded and journalled, then the rows' commit fails (simulated
        // by shredding without the rows): the next open finishes the erasure.
        var receipt = ErasureReceipt(
            reference: "ER-CUT-SHORT", scope: "person", target: "biden", faces: 1, images: 1, files: 1, sources: 0,
            reason: "data subject's request", erasedAt: Date(), erasedBy: "dpo")
        receipt.sha256 = Governance.receiptHash(receipt)
        try g.gallery.store.vault.shred(KeyVault.Erasure(receipt: receipt, faces: biden, sources: []))
        try world.reopen()
        #expect(try Self.faces(world.governance, named: "biden").isEmpty)
        #expect(try world.governance.receipts().map(\.reference) == ["ER-CUT-SHORT"])
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.allSatisfy { $0.originURI != "biden.jpg" })
        let replays = try world.governance.database.read { db in try db.count(AuditEntry.self, "WHERE action = 'erase.replay'") }
        #expect(replays == 1)
    }
}
