import Crypto
import Foundation
import Gallery
import Store

extension Governance {
    /// What to erase.
    public enum ErasureTarget: Sendable, Equatable {
        /// Faces by id (a person: the confirmed faces of an access request or an opt-out).
        case faces([Int64], scope: String, label: String)
        /// One picture and its faces.
        case image(Int64)
        /// A source and everything taken from it.
        case source(String)
        /// Every source collected in a jurisdiction (`GB`, or `US` for all US states).
        case jurisdiction(String)
    }

    /// Erases, then returns the receipt (privacy officers and admins). Rows go in one
    /// transaction with the receipt and the audit entry; SQLite overwrites the freed
    /// bytes (`secure_delete`); the index drops the faces and overwrites their vectors,
    /// its snapshot is rewritten without them, and the WAL is checkpointed and
    /// truncated. A picture whose every face is erased goes too; its file's content
    /// hash stays, so re-ingesting the file does not bring the faces back.
    ///
    /// The operator's privacy officers and admins erase anything; another
    /// organisation's erase only what came from their own organisation's sources, and
    /// never a whole jurisdiction. Faces named by id must all be held: an unknown id
    /// is a 404 and nothing is erased.
    public func erase(as principal: Principal, _ target: ErasureTarget, reason rawReason: String) throws -> ErasureReceipt {
        guard rawReason.trimmingCharacters(in: .whitespaces).count >= 2 else { throw GovernanceError.invalid("an erasure states its reason") }
        let reason = try TextRule.reason.check(rawReason)
        var target = target
        switch target {
        case .source(let name): target = .source(try TextRule.sourceName.check(name))
        case .jurisdiction(let code): _ = try TextRule.code.check(code)
        case .faces(let ids, _, _) where ids.count > 100_000: throw GovernanceError.badInput("erase at most 100,000 faces at once")
        default: break
        }
        let actor = try require(principal, .privacyOfficer, .admin, for: "erasing")
        try checkReach(actor, of: target)
        return try performErasure(target, actor: actor.name, principal: actor, reason: reason)
    }

    /// Refuses an erasure of anything the principal's roles do not reach, and one of
    /// faces by id that are not all held.
    private func checkReach(_ actor: Principal, of target: ErasureTarget) throws {
        try database.read { db in
            switch target {
            case .faces(let ids, let scope, _):
                let owners = try db.rows("""
                    SELECT face.id, source.organisationID FROM face JOIN image ON image.id = face.imageID
                    JOIN source ON source.id = image.sourceID WHERE face.id IN (\(sqlList(ids)))
                    """)
                if scope == "face" {
                    let held = Set(try owners.map { try $0[0].int64() })
                    let missing = ids.filter { !held.contains($0) }
                    guard missing.isEmpty else {
                        throw GovernanceError.notFound("no face " + missing.prefix(10).map(String.init).joined(separator: ", ")
                                                       + (missing.count > 10 ? " (and \(missing.count - 10) more)" : "")
                                                       + ": nothing was erased")
                    }
                }
                for owner in owners {
                    let organisation = owner[1].isNull ? nil : try owner[1].int64()
                    try requireReach(actor, organisation: organisation, "face \(try owner[0].int64())")
                }
            case .image(let id):
                let owner = try db.scalar("SELECT source.organisationID FROM image JOIN source ON source.id = image.sourceID WHERE image.id = ?",
                                          [.integer(id)])
                if try db.fetchOne(GalleryImage.self, id: id) == nil { throw GovernanceError.notFound("no image \(id)") }
                try requireReach(actor, organisation: owner.isNull ? nil : try owner.int64(), "image \(id)")
            case .source(let name):
                guard let source = try db.fetchOne(Source.self, "WHERE name = ?", [SQLValue(name)]) else {
                    throw GovernanceError.notFound("no source named '\(name)'")
                }
                try requireReach(actor, organisation: source.organisationID, "source \(name)")
            case .jurisdiction:
                guard actor.isOperator else {
                    throw GovernanceError.forbidden("erasing a whole jurisdiction is for the operator's organisation; the roles of "
                                                    + "\(actor.organisation.name) reach only its own sources")
                }
            }
        }
    }

    func performErasure(_ target: ErasureTarget, actor: String, principal: Principal?, reason: String) throws -> ErasureReceipt {
        let (receipt, faceIDs) = try database.write { db -> (ErasureReceipt, [Int64]) in
            var faces: [Int64] = [], images = 0, files = 0, sources = 0
            let scope: String, label: String
            switch target {
            case .faces(let ids, let kind, let name):
                (scope, label) = (kind, name)
                faces = try db.ids("SELECT id FROM face WHERE id IN (\(sqlList(ids)))")
                (images, files) = try deleteFaces(faces, in: db)
            case .image(let id):
                (scope, label) = ("image", "image \(id)")
                guard try db.fetchOne(GalleryImage.self, id: id) != nil else { throw GovernanceError.notFound("no image \(id)") }
                faces = try db.ids("SELECT id FROM face WHERE imageID = ?", [.integer(id)])
                (images, files) = try deleteFaces(faces, alsoImages: [id], in: db)
            case .source(let name):
                (scope, label) = ("source", name)
                guard let source = try db.fetchOne(Source.self, "WHERE name = ?", [SQLValue(name)]) else {
                    throw GovernanceError.notFound("no source named '\(name)'")
                }
                (faces, images, files) = try deleteSources([source.id!], in: db)
                sources = 1
            case .jurisdiction(let code):
                try validate(jurisdiction: code)
                (scope, label) = ("jurisdiction", code)
                let matching = try db.fetchAll(Source.self).filter { PolicyRule.covers(code, $0.jurisdiction) }
                (faces, images, files) = try deleteSources(matching.map { $0.id! }, in: db)
                sources = matching.count
            }
            var receipt = ErasureReceipt(reference: Self.newReference(prefix: "ER"), scope: scope, target: label,
                                         faces: faces.count, images: images, files: files, sources: sources, reason: reason,
                                         erasedAt: now(), erasedBy: actor)
            receipt.sha256 = Self.receiptHash(receipt)
            try db.insert(&receipt)
            try AuditLog.append(AuditEntry(recordedAt: now(), actor: actor, organisation: principal?.organisation.name,
                                           action: "erase", target: "\(scope) \(label)",
                                           details: Self.json(["receipt": receipt.reference, "faces": String(faces.count),
                                                               "images": String(images), "sha256": receipt.sha256])), in: db)
            return (receipt, faces)
        }
        do {
            try gallery.forget(faceIDs: faceIDs)
        } catch let error where gallery.indexKind == .shared {
            // The metadata store, which every search checks, no longer holds the faces, so
            // none is returned; their templates leave the shared index at the next
            // reconciliation (hourly under `lineup serve`, or `lineup reconcile`).
            try audit(principal, action: "erase.index-pending", target: "receipt \(receipt.reference)",
                      details: Self.json(["faces": String(faceIDs.count), "error": String(describing: error)]))
        }
        return receipt
    }

    /// Deletes faces (and the listed images, and pictures left with no face); marks
    /// files left with no picture as erased. Returns the pictures and files affected.
    private func deleteFaces(_ faces: [Int64], alsoImages: [Int64] = [], in db: any MetadataTransaction) throws -> (images: Int, files: Int) {
        guard !faces.isEmpty || !alsoImages.isEmpty else { return (0, 0) }
        let imageIDs = Set(try db.ids("SELECT imageID FROM face WHERE id IN (\(sqlList(faces)))") + alsoImages)
        let fileIDs = Set(try db.ids("SELECT fileID FROM image WHERE id IN (\(sqlList(imageIDs)))"))
        try db.delete(GalleryFace.self, ids: faces)
        try db.execute("DELETE FROM suppressedFace WHERE faceID IN (\(sqlList(faces)))")
        var images = 0
        for id in imageIDs {
            let emptied = try db.count(GalleryFace.self, "WHERE imageID = ?", [SQLValue(id)]) == 0
            if alsoImages.contains(id) || emptied { images += try db.delete(GalleryImage.self, ids: [id]) }
        }
        var files = 0
        for id in fileIDs where try db.count(GalleryImage.self, "WHERE fileID = ?", [SQLValue(id)]) == 0 {
            try db.execute("UPDATE sourceFile SET erasedAt = ?, faceCount = 0 WHERE id = ?", [.date(now()), .integer(id)])
            files += 1
        }
        return (images, files)
    }

    /// Deletes sources with their files, pictures, faces and ingest records.
    private func deleteSources(_ ids: [Int64], in db: any MetadataTransaction) throws -> (faces: [Int64], images: Int, files: Int) {
        guard !ids.isEmpty else { return ([], 0, 0) }
        let list = sqlList(ids)
        let faces = try db.ids("SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID IN (\(list))")
        let images = try db.count(GalleryImage.self, "WHERE sourceID IN (\(list))")
        let files = try db.count(SourceFile.self, "WHERE sourceID IN (\(list))")
        try db.delete(GalleryFace.self, ids: faces)
        if !faces.isEmpty {
            try db.execute("DELETE FROM suppressedFace WHERE faceID IN (\(sqlList(faces)))")
        }
        try db.delete(Source.self, ids: ids)
        return (faces, images, files)
    }

    /// SHA-256 over the receipt's fields, hex: quoting it proves the receipt unaltered.
    static func receiptHash(_ receipt: ErasureReceipt) -> String {
        var unsigned = receipt
        unsigned.sha256 = ""
        unsigned.id = nil
        unsigned.erasedAt = Date(timeIntervalSince1970: (receipt.erasedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        return AuditLog.hex(Data(SHA256.hash(data: Data(json(unsigned).utf8))))
    }

    public func receipts() throws -> [ErasureReceipt] {
        try database.read { db in try db.fetchAll(ErasureReceipt.self, "ORDER BY id") }
    }

    /// The receipt with `reference`, if there is one.
    public func receipt(reference: String) throws -> ErasureReceipt? {
        try database.read { db in try db.fetchOne(ErasureReceipt.self, "WHERE reference = ?", [SQLValue(reference)]) }
    }

    /// Brings the shared index (cluster mode) back in line with the metadata store:
    /// templates of faces no longer held are removed, faces missing are added (admins;
    /// nil is the server's schedule). Logged when it changes anything.
    public func reconcileIndex(as principal: Principal?) throws -> Gallery.Reconciliation {
        if let principal { try requireOperator(principal, .admin, for: "reconciling the index") }
        let result = try gallery.reconcileIndex()
        if result.added + result.removed > 0 {
            try audit(principal, action: "index.reconcile", target: "shared index",
                      details: Self.json(["added": result.added, "removed": result.removed]))
        }
        return result
    }

    /// Erases the faces whose source's retention period has passed (counted from
    /// ingest), one receipt per source, and search photos past their keeping time.
    /// `principal` nil is the server's schedule acting on its own.
    public func runRetention(as principal: Principal?) throws -> [ErasureReceipt] {
        let actor = try principal.map { try requireOperator($0, .admin, .privacyOfficer, for: "running retention").name }
            ?? "retention-schedule"
        let moment = now()
        let expired = try database.read { db in
            try db.fetchAll(Source.self).compactMap { source -> (Source, [Int64])? in
                let cutoff = moment.addingTimeInterval(-Double(source.retentionDays) * 86_400)
                let ids = try db.ids("""
                    SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID = ? AND image.ingestedAt < ?
                    """, [SQLValue(source.id), .date(cutoff)])
                return ids.isEmpty ? nil : (source, ids)
            }
        }
        var receipts: [ErasureReceipt] = []
        for (source, ids) in expired {
            receipts.append(try performErasure(.faces(ids, scope: "retention", label: "source \(source.name), older than \(source.retentionDays) days"),
                                               actor: actor, principal: principal, reason: "retention period passed"))
        }
        try database.write { db in
            try db.execute("UPDATE probe SET photo = NULL, photoKeptUntil = NULL WHERE photoKeptUntil IS NOT NULL AND photoKeptUntil <= ?",
                           [.date(moment)])
            try AuditLog.append(AuditEntry(recordedAt: moment, actor: actor, organisation: principal?.organisation.name,
                                           action: "retention.run", target: "all sources",
                                           details: Self.json(["receipts": receipts.map(\.reference)])), in: db)
        }
        try gallery.store.checkpoint()
        return receipts
    }

    /// Re-seals every template with a new key and retires the old ones (admins).
    public func rotateKeys(as principal: Principal) throws -> (keyID: String, resealed: Int) {
        let admin = try requireOperator(principal, .admin, for: "rotating keys")
        let result = try gallery.store.rotateKeys()
        try gallery.saveIndex()
        try audit(admin, action: "keys.rotate", target: result.keyID, details: Self.json(["resealed": result.resealed]))
        return result
    }
}
