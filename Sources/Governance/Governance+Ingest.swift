import Foundation
import Gallery
import Store
import Vision

extension Governance {
    /// Registers a source for the admin's organisation, which answers for it.
    public func registerSource(as principal: Principal, _ source: Source) throws -> Source {
        let admin = try require(principal, .admin, for: "registering a source")
        var owned = source
        owned.organisationID = admin.organisation.id
        owned.createdBy = admin.name
        owned.createdAt = now()
        let stored = try gallery.store.addSource(owned)
        try audit(admin, action: "source.add", target: source.name,
                  details: Self.json(["jurisdiction": source.jurisdiction, "legal_basis": source.legalBasis.rawValue,
                                      "retention_days": String(source.retentionDays)]))
        return stored
    }

    /// Ingests files of a registered source (admins), if the policy allows ingest
    /// from that source for the admin's organisation. Faces of opted-out people are
    /// found, counted and not stored.
    public func ingest(as principal: Principal, source name: String, paths: [String], pipelines: [FacePipeline],
                       options: Gallery.IngestOptions = .init(),
                       progress: (@Sendable (Gallery.IngestProgress) -> Void)? = nil) throws -> Gallery.IngestSummary {
        let admin = try require(principal, .admin, for: "ingesting")
        let source = try gallery.store.source(named: name)
        _ = try enforce(PolicyAct(action: .ingest, organisation: admin.organisation, source: source, date: now()),
                        principal: admin, target: "source \(name)")
        let suppressions = try suppressionTemplates()
        let threshold = optOutThreshold
        var governed = options
        if !suppressions.isEmpty {
            governed.withhold = { @Sendable template in suppressions.contains { dot($0, template.vector) >= threshold } }
        }
        let summary = try gallery.ingest(source: source, paths: paths, pipelines: pipelines, options: governed, progress: progress)
        try audit(admin, action: "ingest", target: "source \(name)",
                  details: Self.json(["errors": summary.errors.count, "faces": summary.faces, "files": summary.filesIngested,
                                      "opted_out_withheld": summary.facesWithheld, "run": Int(summary.runID)]))
        return summary
    }
}
