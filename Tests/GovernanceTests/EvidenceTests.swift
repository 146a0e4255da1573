import Foundation
import Gallery
import Store
import Testing

@testable import Gallery
@testable import Governance

@Suite struct EvidenceTests {
    /// The face's template as stored (sealed) and in the clear.
    static func templateBytes(_ g: Governance, originURI: String) throws -> (faceID: Int64, sealed: Data, clear: Data) {
        let face = try g.database.read { db in
            try db.row(
                "SELECT face.* FROM face JOIN image ON image.id = face.imageID WHERE image.originURI = ?",
                [.text(originURI)]
            ).map(GalleryFace.init(row:))
        }!
        guard case .sealed(let sealed, let keyID) = face.template else { throw TemplateKeyring.KeyringError.sealedValueDamaged }
        let clear = try #require(try g.gallery.store.openTemplate(sealed, keyID: keyID, face: face.id!))
        return (face.id!, sealed, clear)
    }

    @Test(arguments: [Gallery.IndexKind.exact, .scan, .graph])
    func erasureLeavesNoTraceInAnyFile(kind: Gallery.IndexKind) throws {
        let world = try GovernedWorld(largeGalleryThreshold: kind == .exact ? nil : 1, largeGalleryIndex: kind == .exact ? .scan : kind)
        let cast = try world.cast()
        try world.reopen()  // from here on the index is the kind the threshold picks
        let g = world.governance
        #expect(try g.gallery.indexKind == kind)
        let biden = try Self.templateBytes(g, originURI: "biden.jpg")
        #expect(try world.storeFiles().contains { $0.1.range(of: biden.sealed) != nil }, "the search for traces finds what is there")
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.first?.faceID == biden.faceID)

        if kind == .exact {  // the exact snapshot keeps floats as they are: the check below can see them
            let snapshot = try Data(contentsOf: URL(fileURLWithPath: g.gallery.snapshotPath))
            #expect(try SealedSnapshot(store: g.gallery.store).open(snapshot).range(of: biden.clear.prefix(64)) != nil)
        }
        // A copy of the snapshot, made before the erasure, opens now and not after it.
        try g.gallery.saveIndex()
        let copied = try Data(contentsOf: URL(fileURLWithPath: g.gallery.snapshotPath))
        #expect(try SealedSnapshot(store: g.gallery.store).open(copied).count > 0)
        let imageID = try g.database.read { db in try db.ids("SELECT imageID FROM face WHERE id = ?", [.integer(biden.faceID)]).first }!
        let receipt = try g.erase(as: cast.officer, .image(imageID), reason: "data subject's request")
        #expect(receipt.faces == 1 && receipt.images == 1 && receipt.files == 1 && receipt.scope == "image")

        for (name, bytes) in try world.storeFiles() {
            #expect(bytes.range(of: biden.sealed) == nil, "\(name) still holds the sealed template")
            #expect(bytes.range(of: biden.clear) == nil, "\(name) holds the template in the clear")
            #expect(bytes.range(of: biden.clear.prefix(64)) == nil, "\(name) holds part of the template in the clear")
        }
        #expect(throws: (any Error).self, "the old snapshot's key was retired") { _ = try SealedSnapshot(store: g.gallery.store).open(copied) }
        // Opened with the key, the index snapshot holds no copy either.
        let sealing = SealedSnapshot(store: g.gallery.store)
        let snapshots = try world.storeFiles().filter { ["index-", "scan-", "graph-"].contains(where: $0.0.hasPrefix) }
        #expect(try snapshots.map(\.0) == [g.gallery.snapshotPath.split(separator: "/").last.map(String.init)!])
        for (name, bytes) in snapshots {
            #expect(try sealing.open(bytes).range(of: biden.clear.prefix(64)) == nil, "\(name) holds the template")
        }
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.allSatisfy { $0.faceID != biden.faceID })
        try world.reopen()
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.allSatisfy { $0.faceID != biden.faceID })
        // The file's hash stays, so re-ingest does not take the face back.
        let again = try world.governance.ingest(as: cast.admin, source: "portraits", paths: [], pipelines: [GovernedWorld.pipeline])
        #expect(again.filesSkipped == 4 && again.faces == 0)
        #expect(try world.governance.receipts().map(\.reference) == [receipt.reference])
    }

    @Test(arguments: MetadataEngine.withLocalIndex) func templatesAreSealedAtRestAndKeysRotate(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let obama = try Self.templateBytes(g, originURI: "obama.jpg")
        try g.gallery.store.checkpoint()
        for (name, bytes) in try world.storeFiles() {
            #expect(bytes.range(of: obama.clear.prefix(64)) == nil, "\(name) holds a template in the clear")
        }
        let oldKey = g.gallery.store.keyring.currentKeyID
        let rotated = try g.rotateKeys(as: cast.admin)
        #expect(rotated.keyID != oldKey && rotated.resealed >= 4)
        #expect(g.gallery.store.keyring.keyIDs == [rotated.keyID])
        // The faces' templates stay sealed with their own keys; those keys are rewrapped.
        let keyIDs = try g.database.read { db in Set(try db.rows("SELECT keyID FROM face").map { try $0[0].string() }) }
        #expect(keyIDs == [KeyVault.ownKey])
        #expect(try g.gallery.store.vault.wrappingKeyIDs() == [rotated.keyID])
        // Rows are resealed in batches by id: one at a time reaches every row too.
        let again = try g.gallery.store.rotateKeys(batch: 1)
        #expect(again.resealed == rotated.resealed)
        #expect(try g.gallery.store.vault.wrappingKeyIDs() == [again.keyID])
        try g.gallery.saveIndex()
        #expect(throws: GovernanceError.self) { _ = try g.rotateKeys(as: cast.investigator) }
        try world.reopen()
        #expect(try world.governance.gallery.indexOrigin == "snapshot", "the snapshot opens with the new key")
        #expect(try world.search(cast.investigator, "obama2.jpg").result.candidates.first?.originURI == "obama2.jpg")
    }

    @Test func keyringRefusesWhatItCannotVouchFor() throws {
        let world = try GovernedWorld()
        let keyring = world.governance.gallery.store.keyring
        let sealed = try keyring.seal(Data("template".utf8))
        #expect(try keyring.open(sealed, keyID: keyring.currentKeyID) == Data("template".utf8))
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(throws: TemplateKeyring.KeyringError.sealedValueDamaged) { _ = try keyring.open(altered, keyID: keyring.currentKeyID) }
        #expect(throws: TemplateKeyring.KeyringError.unknownKey("k000000000000")) { _ = try keyring.open(sealed, keyID: "k000000000000") }
        // A keyring given as JSON (an environment variable) opens, but is never rotated: its new key would be lost.
        let json = try Data(contentsOf: URL(fileURLWithPath: world.folder + "/store/keyring.json"))
        let fromEnvironment = try TemplateKeyring.parse(json, path: nil)
        #expect(try fromEnvironment.open(sealed, keyID: keyring.currentKeyID) == Data("template".utf8))
        #expect(throws: TemplateKeyring.KeyringError.notRotatable) { try fromEnvironment.addingKey().save() }
        #expect(throws: TemplateKeyring.KeyringError.self) { _ = try TemplateKeyring.parse(Data("{}".utf8), path: nil) }
        let permissions = try FileManager.default.attributesOfItem(atPath: world.folder + "/store/keyring.json")[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test(arguments: MetadataEngine.available) func auditVerifyNamesTheFirstBadEntry(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast(ingest: false)
        let g = world.governance
        #expect(try g.verifyAudit(as: cast.auditor).isIntact)
        #expect(throws: GovernanceError.self) { _ = try g.verifyAudit(as: cast.investigator) }
        #expect(throws: (any Error).self) { try g.database.write { db in try db.execute("DELETE FROM auditEntry WHERE id = 3") } }
        #expect(throws: (any Error).self) { try g.database.write { db in try db.execute("UPDATE auditEntry SET actor = 'x' WHERE id = 3") } }

        try world.allowAuditTampering()
        func verify() throws -> AuditLog.Verification { try AuditLog.verify(g.database) }
        let snapshot = try g.database.read { db in try db.fetchAll(AuditEntry.self, "ORDER BY id") }
        #expect(snapshot.count >= 6)

        // Deleted: the gap is named.
        try g.database.write { db in try db.delete(AuditEntry.self, ids: [3]) }
        #expect(try verify().firstBadEntry == 4)
        try g.database.write { db in
            var entry = snapshot[2]
            try db.insert(&entry)
        }
        #expect(try verify().isIntact)

        // Reordered: two entries swap places (ids kept).
        try g.database.write { db in
            for (a, b) in [(snapshot[3], snapshot[4]), (snapshot[4], snapshot[3])] {
                var moved = b
                moved.id = a.id
                try db.update(moved)
            }
        }
        #expect(try verify().firstBadEntry == snapshot[3].id)
        try g.database.write { db in for entry in [snapshot[3], snapshot[4]] { try db.update(entry) } }
        #expect(try verify().isIntact)

        // Edited, with its own hash recomputed: the next entry no longer follows it.
        try g.database.write { db in
            var forged = snapshot[1]
            forged.actor = "someone-else"
            forged.hash = AuditLog.hash(of: forged)
            try db.update(forged)
        }
        #expect(try verify().firstBadEntry == snapshot[2].id)
    }

    /// The status runs each engine's own check (SQLite's integrity_check, PostgreSQL's
    /// amcheck) and finds rows pointing at rows that are gone; it is the operator's
    /// admins' and auditors' to read.
    @Test(arguments: MetadataEngine.available) func statusChecksTheDatabase(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        #expect(try g.status(as: cast.auditor, checkingIntegrity: true).integrity == "ok")
        #expect(try g.status(as: cast.auditor).integrity == nil, "plain status does not read the whole database")
        #expect(try g.database.engineIntegrityCheck().ran, "the engine checked itself")
        #expect(throws: GovernanceError.self) { _ = try g.status(as: cast.investigator) }
        // An opt-out's link to a face that is not there (written behind Lineup's back).
        let optOut = try g.requestOptOut(
            photo: GovernedWorld.photo("obama3.jpg"), contact: "b.obama@example.org",
            pipeline: GovernedWorld.pipeline)
        try g.database.write { db in
            let suppression = try #require(try Suppression.withReference(optOut.reference, in: db))
            try SuppressedFace(suppressionID: suppression.id!, faceID: 987_654_321).insert(in: db)
        }
        #expect(try g.status(as: cast.admin, checkingIntegrity: true).integrity == "1 opt-out links to erased faces")
    }

    @Test(arguments: MetadataEngine.available) func retentionErasesExpiredFacesWithReceipts(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        #expect(try g.runRetention(as: cast.officer).isEmpty)
        world.advance(days: 31)
        let receipts = try g.runRetention(as: nil)
        #expect(receipts.count == 1 && receipts[0].faces == 4 && receipts[0].scope == "retention" && receipts[0].erasedBy == "retention-schedule")
        #expect(try g.gallery.store.counts().faces == 0 && (g.gallery.index.countInProcess ?? 0) == 0)
        #expect(try world.search(cast.investigator, "obama.jpg").result.candidates.isEmpty)
        #expect(throws: GovernanceError.self) { _ = try g.runRetention(as: cast.investigator) }
    }

    @Test(arguments: MetadataEngine.available) func searchPhotosAreKeptOnlyForTheConfiguredTime(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast()
        let g = world.governance
        let first = try world.search(cast.investigator, "obama.jpg")
        try g.setProbeKeepHours(as: cast.admin, 24)
        let second = try world.search(cast.investigator, "obama.jpg")
        let probes = try g.database.read { db in try db.fetchAll(ProbeRecord.self, "ORDER BY id") }
        #expect(probes.count == 2 && probes[0].photo == nil && probes[1].photo != nil)
        #expect(probes[0].photoSHA256 == probes[1].photoSHA256)
        let entries = try g.exportAudit(as: cast.auditor).filter { [first.auditEntry, second.auditEntry].contains($0.id!) }
        #expect(entries.allSatisfy { $0.details.contains("template_sha256") && $0.details.contains("photo_sha256") })
        world.advance(days: 2)
        _ = try g.runRetention(as: cast.admin)
        #expect(try g.database.read { db in try db.count(ProbeRecord.self, "WHERE photo IS NOT NULL") } == 0)
    }

    @Test(arguments: MetadataEngine.available) func erasingAJurisdictionRemovesItsSources(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast(jurisdiction: "GB-LND")
        let g = world.governance
        let receipt = try g.erase(as: cast.admin, .jurisdiction("GB"), reason: "withdrawal from the United Kingdom")
        #expect(receipt.sources == 1 && receipt.faces == 4 && receipt.files == 4)
        #expect(try g.gallery.store.sources().isEmpty && (g.gallery.index.countInProcess ?? 0) == 0)
        #expect(throws: GovernanceError.self) { _ = try g.erase(as: cast.investigator, .jurisdiction("GB"), reason: "because") }
    }
}
