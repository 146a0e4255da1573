import Crypto
import Foundation
import Gallery
import Index
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
                let owners = try GalleryStore.owners(ofFaces: ids, in: db)
                if scope == "face" {
                    let held = Set(owners.map(\.face))
                    let missing = ids.filter { !held.contains($0) }
                    guard missing.isEmpty else {
                        throw GovernanceError.notFound(
                            "no face " + missing.prefix(10).map(String.init).joined(separator: ", ")
                                + (missing.count > 10 ? " (and \(missing.count - 10) more)" : "")
                                + ": nothing was erased")
                    }
                }
                for owner in owners { try requireReach(actor, organisation: owner.organisation, "face \(owner.face)") }
            case .image(let id):
                guard let owner = try GalleryStore.owner(ofImage: id, in: db) else { throw GovernanceError.notFound("no image \(id)") }
                try requireReach(actor, organisation: owner, "image \(id)")
            case .source(let name):
                guard let source = try Source.named(name, in: db) else {
                    throw GovernanceError.notFound("no source named '\(name)'")
                }
                try requireReach(actor, organisation: source.organisationID, "source \(name)")
            case .jurisdiction:
                guard actor.isOperator else {
                    throw GovernanceError.forbidden(
                        "erasing a whole jurisdiction is for the operator's organisation; the roles of "
                            + "\(actor.organisation.name) reach only its own sources")
                }
            }
        }
    }

    func performErasure(_ target: ErasureTarget, actor: String, principal: Principal?, reason: String) throws -> ErasureReceipt {
        var shredded = false
        let written: (ErasureReceipt, [Int64])
        do {
            written = try database.write { db -> (ErasureReceipt, [Int64]) in
                let (receipt, faces, sources) = try erase(target, actor: actor, principal: principal, reason: reason, in: db)
                // The faces' keys go last, just before the rows commit: from here no copy of
                // their templates anywhere can be opened. Should the commit still fail, the
                // journal entry just written finishes the erasure (below, or at next open).
                try gallery.store.vault.shred(KeyVault.Erasure(receipt: receipt, faces: faces, sources: sources))
                shredded = true
                return (receipt, faces)
            }
        } catch {
            if shredded { _ = try? replayErasures() }
            throw error
        }
        var (receipt, faceIDs) = written
        do {
            try gallery.forget(faceIDs: faceIDs)
            if gallery.indexKindKnownNow == .shared, let shared = try gallery.index as? any SharedFaceIndex {
                try shared.purgeRemoved()
            }
            let purgedAt = now()
            try recordPurge(of: [receipt.reference], at: purgedAt)
            receipt.indexPurgedAt = purgedAt
        } catch let error where gallery.indexKindKnownNow == .shared {
            // The metadata store, which every search checks, no longer holds the faces, so
            // none is returned; their templates leave the shared index at the next
            // reconciliation (hourly under `lineup serve`, or `lineup reconcile`).
            try audit(
                principal, action: .eraseIndexPending, target: "receipt \(receipt.reference)",
                details: Self.json(["faces": String(faceIDs.count), "error": String(describing: error)]))
        }
        return receipt
    }

    /// Deletes what `target` names and writes the receipt and the audit entry, in the
    /// caller's transaction; returns the receipt and the faces and sources deleted.
    private func erase(
        _ target: ErasureTarget, actor: String, principal: Principal?, reason: String, in db: any MetadataTransaction
    ) throws -> (ErasureReceipt, faces: [Int64], sources: [Int64]) {
        var deletion: GalleryStore.Deletion, sourceIDs: [Int64] = []
        let scope: String, label: String
        switch target {
        case .faces(let ids, let kind, let name):
            (scope, label) = (kind, name)
            deletion = try GalleryStore.deleteFaces(try GalleryStore.heldFaces(ids, in: db), erasedAt: now(), in: db)
        case .image(let id):
            (scope, label) = ("image", "image \(id)")
            guard try db.fetchOne(GalleryImage.self, id: id) != nil else { throw GovernanceError.notFound("no image \(id)") }
            deletion = try GalleryStore.deleteFaces(
                try GalleryStore.faces(ofImage: id, in: db), alsoImages: [id],
                erasedAt: now(), in: db)
        case .source(let name):
            (scope, label) = ("source", name)
            guard let source = try Source.named(name, in: db) else {
                throw GovernanceError.notFound("no source named '\(name)'")
            }
            deletion = try GalleryStore.deleteSources([source.id!], in: db)
            sourceIDs = [source.id!]
        case .jurisdiction(let code):
            try validate(jurisdiction: code)
            (scope, label) = ("jurisdiction", code)
            let matching = try db.fetchAll(Source.self).filter { PolicyRule.covers(code, $0.jurisdiction) }
            sourceIDs = matching.map { $0.id! }
            deletion = try GalleryStore.deleteSources(sourceIDs, in: db)
        }
        let (faces, images, files) = (deletion.faces, deletion.images, deletion.files)
        var receipt = ErasureReceipt(
            reference: Self.newReference(prefix: "ER"), scope: scope, target: label,
            faces: faces.count, images: images, files: files, sources: sourceIDs.count, reason: reason,
            erasedAt: now(), erasedBy: actor)
        receipt.sha256 = Self.receiptHash(receipt)
        try db.insert(&receipt)
        try AuditLog.append(
            AuditEntry(
                recordedAt: now(), actor: actor, organisation: principal?.organisation.name,
                action: .erase, target: "\(scope) \(label)",
                details: Self.json([
                    "receipt": receipt.reference, "faces": String(faces.count),
                    "images": String(images), "sha256": receipt.sha256,
                ])), in: db)
        return (receipt, faces, sourceIDs)
    }

    /// SHA-256 over the receipt's fields, hex: quoting it proves the receipt unaltered.
    static func receiptHash(_ receipt: ErasureReceipt) -> String {
        var unsigned = receipt
        unsigned.sha256 = ""
        unsigned.id = nil
        unsigned.indexPurgedAt = nil
        unsigned.erasedAt = Date(timeIntervalSince1970: (receipt.erasedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        return AuditLog.hex(Data(SHA256.hash(data: Data(json(unsigned).utf8))))
    }

    public func receipts() throws -> [ErasureReceipt] {
        try database.read { db in try db.fetchAll(ErasureReceipt.self, "ORDER BY id") }
    }

    /// The receipt with `reference`, if there is one.
    public func receipt(reference: String) throws -> ErasureReceipt? {
        try database.read { db in try ErasureReceipt.withReference(reference, in: db) }
    }

    /// Brings the shared index (cluster mode) back in line with the metadata store:
    /// templates of faces no longer held are removed, faces missing are added (admins;
    /// nil is the server's schedule). Logged when it changes anything.
    public func reconcileIndex(as principal: Principal?) throws -> Gallery.Reconciliation {
        if let principal { try requireOperator(principal, .admin, for: "reconciling the index") }
        let result = try gallery.reconcileIndex()
        if result.added + result.removed > 0 {
            try audit(
                principal, action: .indexReconcile, target: "shared index",
                details: Self.json(["added": result.added, "removed": result.removed]))
        }
        return result
    }

    /// Empties the shared index and fills it again from the metadata store (see
    /// `Gallery.rebuildSharedIndex`). Admins; logged with the faces written.
    public func rebuildSharedIndex(as principal: Principal?, progress: (Int) -> Void = { _ in }) throws -> Int {
        if let principal { try requireOperator(principal, .admin, for: "rebuilding the shared index") }
        let written = try gallery.rebuildSharedIndex(progress: progress)
        try audit(principal, action: .indexReconcile, target: "shared index", details: Self.json(["rebuilt": written]))
        return written
    }

    /// Erases the faces whose source's retention period has passed (counted from
    /// ingest), one receipt per source, and search photos past their keeping time.
    /// `principal` nil is the server's schedule acting on its own.
    public func runRetention(as principal: Principal?) throws -> [ErasureReceipt] {
        let actor =
            try principal.map { try requireOperator($0, .admin, .privacyOfficer, for: "running retention").name }
            ?? "retention-schedule"
        let moment = now()
        let expired = try database.read { db in
            try db.fetchAll(Source.self).compactMap { source -> (Source, [Int64])? in
                let cutoff = moment.addingTimeInterval(-Double(source.retentionDays) * 86_400)
                let ids = try GalleryStore.faces(ofSource: source.id!, ingestedBefore: cutoff, in: db)
                return ids.isEmpty ? nil : (source, ids)
            }
        }
        var receipts: [ErasureReceipt] = []
        for (source, ids) in expired {
            receipts.append(
                try performErasure(
                    .faces(ids, scope: "retention", label: "source \(source.name), older than \(source.retentionDays) days"),
                    actor: actor, principal: principal, reason: "retention period passed"))
        }
        try database.write { db in
            try ProbeRecord.forgetPhotos(keptUntil: moment, in: db)
            try AuditLog.append(
                AuditEntry(
                    recordedAt: moment, actor: actor, organisation: principal?.organisation.name,
                    action: .retentionRun, target: "all sources",
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
        try audit(admin, action: .keysRotate, target: result.keyID, details: Self.json(["resealed": result.resealed]))
        return result
    }
}
