import Crypto
import Foundation
import Gallery
import GRDB
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
    public func erase(as principal: Principal, _ target: ErasureTarget, reason: String) throws -> ErasureReceipt {
        let actor = try require(principal, .privacyOfficer, .admin, for: "erasing")
        guard reason.trimmingCharacters(in: .whitespaces).count >= 2 else { throw GovernanceError.invalid("an erasure states its reason") }
        return try performErasure(target, actor: actor.name, principal: actor, reason: reason)
    }

    func performErasure(_ target: ErasureTarget, actor: String, principal: Principal?, reason: String) throws -> ErasureReceipt {
        let (receipt, faceIDs) = try database.write { db -> (ErasureReceipt, [Int64]) in
            var faces: [Int64] = [], images = 0, files = 0, sources = 0
            let scope: String, label: String
            switch target {
            case .faces(let ids, let kind, let name):
                (scope, label) = (kind, name)
                faces = try Int64.fetchAll(db, GalleryFace.filter(keys: ids).select(Column("id")))
                (images, files) = try deleteFaces(faces, in: db)
            case .image(let id):
                (scope, label) = ("image", "image \(id)")
                guard try GalleryImage.fetchOne(db, key: id) != nil else { throw GovernanceError.notFound("no image \(id)") }
                faces = try Int64.fetchAll(db, sql: "SELECT id FROM face WHERE imageID = ?", arguments: [id])
                (images, files) = try deleteFaces(faces, alsoImages: [id], in: db)
            case .source(let name):
                (scope, label) = ("source", name)
                guard let source = try Source.filter(Column("name") == name).fetchOne(db) else {
                    throw GovernanceError.notFound("no source named '\(name)'")
                }
                (faces, images, files) = try deleteSources([source.id!], in: db)
                sources = 1
            case .jurisdiction(let code):
                try validate(jurisdiction: code)
                (scope, label) = ("jurisdiction", code)
                let matching = try Source.fetchAll(db).filter { PolicyRule.covers(code, $0.jurisdiction) }
                (faces, images, files) = try deleteSources(matching.map { $0.id! }, in: db)
                sources = matching.count
            }
            var receipt = ErasureReceipt(reference: Self.newReference(prefix: "ER"), scope: scope, target: label,
                                         faces: faces.count, images: images, files: files, sources: sources, reason: reason,
                                         erasedAt: now(), erasedBy: actor)
            receipt.sha256 = Self.receiptHash(receipt)
            try receipt.insert(db)
            try AuditLog.append(AuditEntry(recordedAt: now(), actor: actor, organisation: principal?.organisation.name,
                                           action: "erase", target: "\(scope) \(label)",
                                           details: Self.json(["receipt": receipt.reference, "faces": String(faces.count),
                                                               "images": String(images), "sha256": receipt.sha256])), in: db)
            return (receipt, faces)
        }
        try gallery.forget(faceIDs: faceIDs)
        return receipt
    }

    /// Deletes faces (and the listed images, and pictures left with no face); marks
    /// files left with no picture as erased. Returns the pictures and files affected.
    private func deleteFaces(_ faces: [Int64], alsoImages: [Int64] = [], in db: Database) throws -> (images: Int, files: Int) {
        guard !faces.isEmpty || !alsoImages.isEmpty else { return (0, 0) }
        let imageIDs = Set(try Int64.fetchAll(db, GalleryFace.filter(keys: faces).select(Column("imageID"))) + alsoImages)
        let fileIDs = Set(try Int64.fetchAll(db, GalleryImage.filter(keys: imageIDs).select(Column("fileID"))))
        try GalleryFace.deleteAll(db, keys: faces)
        try db.execute(sql: "DELETE FROM suppressedFace WHERE faceID IN (\(faces.map(String.init).joined(separator: ",")))")
        var images = 0
        for id in imageIDs {
            let emptied = try GalleryFace.filter(Column("imageID") == id).fetchCount(db) == 0
            if alsoImages.contains(id) || emptied { images += try GalleryImage.deleteOne(db, key: id) ? 1 : 0 }
        }
        var files = 0
        for id in fileIDs where try GalleryImage.filter(Column("fileID") == id).fetchCount(db) == 0 {
            try db.execute(sql: "UPDATE sourceFile SET erasedAt = ?, faceCount = 0 WHERE id = ?", arguments: [now(), id])
            files += 1
        }
        return (images, files)
    }

    /// Deletes sources with their files, pictures, faces and ingest records.
    private func deleteSources(_ ids: [Int64], in db: Database) throws -> (faces: [Int64], images: Int, files: Int) {
        guard !ids.isEmpty else { return ([], 0, 0) }
        let list = ids.map(String.init).joined(separator: ",")
        let faces = try Int64.fetchAll(db, sql: """
            SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID IN (\(list))
            """)
        let images = try GalleryImage.filter(ids.contains(Column("sourceID"))).fetchCount(db)
        let files = try SourceFile.filter(ids.contains(Column("sourceID"))).fetchCount(db)
        try GalleryFace.deleteAll(db, keys: faces)
        if !faces.isEmpty {
            try db.execute(sql: "DELETE FROM suppressedFace WHERE faceID IN (\(faces.map(String.init).joined(separator: ",")))")
        }
        try Source.deleteAll(db, keys: ids)
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
        try database.read { db in try ErasureReceipt.order(Column("id")).fetchAll(db) }
    }

    /// The receipt with `reference`, if there is one.
    public func receipt(reference: String) throws -> ErasureReceipt? {
        try database.read { db in try ErasureReceipt.filter(Column("reference") == reference).fetchOne(db) }
    }

    /// Erases the faces whose source's retention period has passed (counted from
    /// ingest), one receipt per source, and search photos past their keeping time.
    /// `principal` nil is the server's schedule acting on its own.
    public func runRetention(as principal: Principal?) throws -> [ErasureReceipt] {
        let actor = try principal.map { try require($0, .admin, .privacyOfficer, for: "running retention").name } ?? "retention-schedule"
        let moment = now()
        let expired = try database.read { db in
            try Source.fetchAll(db).compactMap { source -> (Source, [Int64])? in
                let cutoff = moment.addingTimeInterval(-Double(source.retentionDays) * 86_400)
                let ids = try Int64.fetchAll(db, sql: """
                    SELECT face.id FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID = ? AND image.ingestedAt < ?
                    """, arguments: [source.id!, cutoff])
                return ids.isEmpty ? nil : (source, ids)
            }
        }
        var receipts: [ErasureReceipt] = []
        for (source, ids) in expired {
            receipts.append(try performErasure(.faces(ids, scope: "retention", label: "source \(source.name), older than \(source.retentionDays) days"),
                                               actor: actor, principal: principal, reason: "retention period passed"))
        }
        try database.write { db in
            try db.execute(sql: "UPDATE probe SET photo = NULL, photoKeptUntil = NULL WHERE photoKeptUntil IS NOT NULL AND photoKeptUntil <= ?",
                           arguments: [moment])
            try AuditLog.append(AuditEntry(recordedAt: moment, actor: actor, organisation: principal?.organisation.name,
                                           action: "retention.run", target: "all sources",
                                           details: Self.json(["receipts": receipts.map(\.reference)])), in: db)
        }
        try gallery.store.checkpoint()
        return receipts
    }

    /// Re-seals every template with a new key and retires the old ones (admins).
    public func rotateKeys(as principal: Principal) throws -> (keyID: String, resealed: Int) {
        let admin = try require(principal, .admin, for: "rotating keys")
        let result = try gallery.store.rotateKeys()
        try gallery.saveIndex()
        try audit(admin, action: "keys.rotate", target: result.keyID, details: Self.json(["resealed": result.resealed]))
        return result
    }
}
