import FaceVision
import Foundation
import Gallery
import Index
import Store

extension Governance {
    /// Registers a source for the admin's organisation, which answers for it.
    public func registerSource(as principal: Principal, _ source: Source) throws -> Source {
        var owned = source
        owned.name = try TextRule.sourceName.check(source.name)
        owned.root = try TextRule.path.named("root").check(source.root)
        owned.licenceReference = try TextRule.licence.check(source.licenceReference)
        _ = try TextRule.code.check(source.jurisdiction)
        guard let collection = source.collectionMethod else {
            throw GovernanceError.badInput(
                "a source states how its photos were collected (collection: "
                    + Source.CollectionMethod.allCases.map(\.rawValue).joined(separator: ", ")
                    + "); untargeted scraping from the internet or CCTV is prohibited and is not one")
        }
        let admin = try require(principal, .admin, for: "registering a source")
        owned.organisationID = admin.organisation.id
        owned.createdBy = admin.name
        owned.createdAt = now()
        let stored = try gallery.store.addSource(owned)
        try audit(
            admin, action: .sourceAdd, target: owned.name,
            details: Self.json([
                "jurisdiction": source.jurisdiction, "legal_basis": source.legalBasis.rawValue,
                "retention_days": String(source.retentionDays), "collection": collection.rawValue,
            ]))
        return stored
    }

    /// The registered sources, for any active account: what a search runs over and
    /// on what grounds is no secret from the people who search or oversee it (who may
    /// act on a source is decided per act). Every entry point lists them here.
    public func sources(as principal: Principal) throws -> [Source] {
        try require(principal, roles: Role.allCases, for: "listing sources")
        return try gallery.store.sources()
    }

    /// The source an admin may ingest from or upload into: their organisation's own
    /// (it answers for the source), and only if the policy lets it ingest from there.
    func ownSource(_ admin: Principal, named rawName: String, for action: String) throws -> Source {
        let name = try TextRule.sourceName.check(rawName)
        let source = try gallery.store.source(named: name)
        guard source.organisationID == admin.organisation.id else {
            throw GovernanceError.forbidden("source '\(name)' belongs to another organisation: only its own admins may \(action) it")
        }
        guard source.collectionMethod != nil else {
            throw GovernanceError.invalid(
                "source '\(name)' does not state how its photos were collected; state it first "
                    + "(lineup source collection \(name) --collected METHOD; one of "
                    + Source.CollectionMethod.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return source
    }

    /// States how a registered source's photos were collected (its organisation's
    /// admins), for a source registered before sources stated it. Once stated it stays:
    /// a source's photos do not change how they were collected.
    public func stateCollection(as principal: Principal, source rawName: String, method rawMethod: String) throws -> Source {
        let name = try TextRule.sourceName.check(rawName)
        let method = try collectionMethod(rawMethod)
        let admin = try require(principal, .admin, for: "stating how a source was collected")
        return try database.write { db in
            guard var source = try Source.named(name, in: db) else { throw GovernanceError.notFound("no source named '\(name)'") }
            guard source.organisationID == admin.organisation.id else {
                throw GovernanceError.forbidden("source '\(name)' belongs to another organisation: only its own admins may state it")
            }
            if let stated = source.collectionMethod {
                throw GovernanceError.invalid("source '\(name)' already states its collection: \(stated.rawValue)")
            }
            source.collectionMethod = method
            try db.update(source)
            try audit(admin, action: .sourceCollection, target: name, details: Self.json(["collection": method.rawValue]), in: db)
            return source
        }
    }

    /// The collection method named `text`, or a 400 saying why it is not one (untargeted
    /// scraping is prohibited and named as such).
    public func collectionMethod(_ text: String) throws -> Source.CollectionMethod {
        let checked = try TextRule.collection.check(text)
        do {
            return try Source.CollectionMethod.parse(checked)
        } catch .invalid(let message) {
            throw GovernanceError.badInput(message)
        } catch {
            throw GovernanceError.badInput(error.description)
        }
    }

    /// Ingests files of a registered source of the admin's own organisation, if the
    /// policy allows ingest from that source for it. Faces of opted-out people are
    /// found, counted and not stored. Each file's faces are logged (`ingest.file`) in
    /// the transaction that stores them, so the log accounts for every face held
    /// even when the process dies mid-run; the run's summary is logged at its end.
    public func ingest(
        as principal: Principal, source name: String, paths: [String], pipelines: [FacePipeline],
        options: Gallery.IngestOptions = .init(),
        progress: (@Sendable (Gallery.IngestProgress) -> Void)? = nil
    ) throws -> Gallery.IngestSummary {
        let paths = try paths.map { try TextRule.path.check($0) }
        let (admin, source) = try admitIngest(as: principal, source: name)
        try closeAbandonedRuns()
        let governed = try governedIngestOptions(options, admin: admin, source: source)
        let summary = try gallery.ingest(source: source, paths: paths, pipelines: pipelines, options: governed, progress: progress)
        try logRun(
            admin, source, run: summary.runID, files: summary.filesIngested, faces: summary.faces,
            withheld: summary.facesWithheld, errors: summary.errors.count)
        return summary
    }

    /// Stores files of an admin's own source whose faces were found and templated
    /// before they reached Lineup (a load from an earlier system; the benchmark's
    /// gallery), many files per transaction, under the same rules as `ingest`: the
    /// policy must allow ingest from the source, opted-out faces are withheld, and
    /// each file's faces are logged (`ingest.file`) in the transaction that stores
    /// them. The load is one run, logged at its end as `ingest`.
    public func ingestPrepared(
        as principal: Principal, source name: String, files: [GalleryStore.FileToStore]
    ) throws -> Gallery.BulkLoadSummary {
        let (admin, source) = try admitIngest(as: principal, source: name)
        guard files.allSatisfy({ $0.file.sourceID == source.id }) else {
            throw GovernanceError.invalid("every file of a load belongs to source '\(source.name)'")
        }
        var run = try gallery.store.startRun(sourceID: source.id!)
        let files = files.map { toStore in
            var inRun = toStore
            inRun.file.runID = run.id
            return inRun
        }
        let summary = try gallery.storePrepared(
            files, source: source, options: try governedIngestOptions(.init(), admin: admin, source: source))
        run.finishedAt = now()
        run.heartbeatAt = run.finishedAt
        (run.filesSeen, run.filesIngested, run.filesSkipped, run.faces) = (files.count, summary.filesStored, summary.filesSkipped, summary.faces)
        try gallery.store.update(run)
        try logRun(admin, source, run: run.id!, files: summary.filesStored, faces: summary.faces, withheld: summary.facesWithheld, errors: 0)
        return summary
    }

    /// The admin and their own source, once the policy allows ingest from it.
    private func admitIngest(as principal: Principal, source name: String) throws -> (Principal, Source) {
        let admin = try require(principal, .admin, for: "ingesting")
        let source = try ownSource(admin, named: name, for: "ingest from")
        _ = try enforce(
            PolicyAct(action: .ingest, organisation: admin.organisation, source: source, date: now()),
            principal: admin, target: "source \(source.name)")
        return (admin, source)
    }

    /// A run's summary entry (`ingest`), logged at its end.
    private func logRun(_ admin: Principal, _ source: Source, run: Int64, files: Int, faces: Int, withheld: Int, errors: Int) throws {
        try audit(
            admin, action: .ingest, target: "source \(source.name)",
            details: Self.json(["errors": errors, "faces": faces, "files": files, "opted_out_withheld": withheld, "run": Int(run)]))
    }

    /// Ingest options under the rules: opted-out faces withheld, and each file stored
    /// (or taken back out) logged in its own transaction.
    private func governedIngestOptions(_ options: Gallery.IngestOptions, admin: Principal, source: Source) throws -> Gallery.IngestOptions {
        let suppressions = try optOutState().templates
        let threshold = optOutThreshold
        var governed = options
        if !suppressions.isEmpty {
            governed.withhold = { @Sendable template in suppressions.contains { dot($0, template.vector) >= threshold } }
        }
        let target = "source \(source.name)"
        governed.recorded = { @Sendable [self] db, file, faces in
            try audit(
                admin, action: .ingestFile, target: target,
                details: Self.json(FileEntry(file: file.id, path: file.path, run: file.runID ?? 0, faces: faces)), in: db)
        }
        governed.provenanceUpdated = { @Sendable [self] db, file in
            try audit(
                admin, action: .ingestProvenance, target: target,
                details: Self.json(FileEntry(file: file.id, path: file.path, run: file.runID ?? 0, faces: [])), in: db)
        }
        governed.withdrawn = { @Sendable [self] file, faces in
            _ = try? audit(
                admin, action: .ingestFileWithdrawn, target: target,
                details: Self.json(FileEntry(file: nil, path: file.path, run: file.runID ?? 0, faces: faces)))
        }
        return governed
    }

    /// What the log says of one file taken in.
    private struct FileEntry: Encodable {
        /// The stored file's id; none once it was taken back out.
        var file: Int64?
        var path: String
        var run: Int64
        var faces: [Int64]
    }

    /// How long a run may go without a heartbeat before it counts as abandoned:
    /// several missed beats, so a busy machine is not mistaken for a dead process.
    public static let abandonedRunAfter: TimeInterval = 300

    /// Closes the runs whose process died (no heartbeat for `abandonedRunAfter`):
    /// each gets the counts of what it had committed, is marked interrupted, and is
    /// logged as `ingest.interrupted`. Its files' faces were logged as they were
    /// stored. Asked at every ingest and by `lineup serve` at start and hourly.
    @discardableResult
    public func closeAbandonedRuns() throws -> [IngestRun] {
        let stale = try gallery.store.abandonedRuns(before: now().addingTimeInterval(-Self.abandonedRunAfter))
        var closed: [IngestRun] = []
        for run in stale {
            let result = try database.write { db -> IngestRun? in
                guard var current = try db.fetchOne(IngestRun.self, id: run.id!), current.finishedAt == nil else { return nil }
                let runID = SQLValue.integer(run.id!)
                current.filesIngested = try db.count(SourceFile.self, "WHERE runID = ?", [runID])
                current.faces = try GalleryStore.faceCount(ofRun: run.id!, in: db)
                current.errors = try db.count(IngestError.self, "WHERE runID = ?", [runID])
                current.finishedAt = current.heartbeatAt ?? current.startedAt
                current.interrupted = true
                try db.update(current)
                let source = try db.fetchOne(Source.self, id: current.sourceID)
                try AuditLog.append(
                    AuditEntry(
                        recordedAt: now(), actor: "ingest-recovery", organisation: nil,
                        action: .ingestInterrupted,
                        target: "source \(source?.name ?? String(current.sourceID))",
                        details: Self.json([
                            "errors": current.errors, "faces": current.faces,
                            "files": current.filesIngested, "run": Int(run.id!),
                        ])), in: db)
                return current
            }
            if let result { closed.append(result) }
        }
        return closed
    }
}
