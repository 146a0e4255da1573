import Foundation
import Gallery
import Governance
import Hummingbird
import Store

/// The sources pages: every account sees the registered sources and their legal
/// facts; admins register sources and upload photos, zip archives and videos into
/// their organisation's, then follow the ingest live. Every act is Governance's,
/// through the same calls as the JSON API.
extension LineupServer {
    func addSourcePages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/sources") { web in
            let registered = web.query("registered")
            return try await sourcesPage(
                web,
                notice: registered.map {
                    "Source \($0) registered. Upload its files below, "
                        + "or ingest what is already in its folder."
                })
        }

        page(router, .post, "/sources") { web in
            let principal = try web.signedIn
            do {
                let source = try await blocking { try SourceRegistration.source(from: web.form, by: principal) }
                let stored = try await blocking { try governance.registerSource(as: principal, source) }
                return redirect(to: "/sources?registered=" + PageText.pathSegment(stored.name) + "#source-" + PageText.pathSegment(stored.name))
            } catch {
                let refusal = APIError.from(error)
                guard refusal.status.code < 500 else { throw error }
                return try await sourcesPage(web, registrationError: refusal.message, status: refusal.status)
            }
        }

        page(router, .post, "/sources/{name}/uploads") { web in
            let principal = try web.signedIn
            let name = try web.parameter("name")
            do {
                let source = try await blocking { try governance.sourceForUpload(as: principal, source: name) }
                let job = try await startUpload(web.form.files["files"] ?? [], into: source, as: principal)
                return redirect(to: job.links.page)
            } catch {
                let refusal = APIError.from(error)
                guard refusal.status.code < 500 else { throw error }
                return try await sourcesPage(web, uploadError: (name, refusal.message), status: refusal.status)
            }
        }

        page(router, .get, "/ingests/{job}") { web in
            let job = try ingestJob(try web.parameter("job"), for: try web.signedIn)
            return render("ingest", IngestPageValues.values(job), for: web)
        }
    }

    /// The sources page, with what the last form left to say.
    func sourcesPage(
        _ web: WebRequest, notice: String? = nil, registrationError: String? = nil,
        uploadError: (source: String, message: String)? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let principal = try web.signedIn
        let sources = try await blocking { try governance.sources(as: principal) }
        let isAdmin = principal.has(.admin)
        var values: [String: Any] = [
            "sources": sources.map { source -> [String: Any] in
                var row = SourceRegistration.row(source)
                row["can_upload"] = isAdmin && source.organisationID == principal.organisation.id && source.root != nil
                if let uploadError, uploadError.source == source.name { row["upload_error"] = uploadError.message }
                return row
            },
            "has_sources": !sources.isEmpty,
            "is_admin": isAdmin,
            "form": SourceRegistration.formValues(web.form, keep: registrationError != nil),
        ]
        if let notice { values["notice"] = notice }
        if let registrationError { values["registration_error"] = registrationError }
        if let uploadError, !sources.contains(where: { $0.name == uploadError.source }) {
            values["error"] = uploadError.message  // an unknown source: no row to show it at
        }
        return render("sources", values, for: web, status: status)
    }
}

/// Reading the registration form and showing sources.
enum SourceRegistration {
    /// The source the form describes, or a 400/422 naming what is wrong.
    static func source(from form: WebForm, by principal: Principal) throws -> Source {
        let name = try form.required("name")
        let root = try form.required("root", label: "the root folder")
        guard let legalBasis = Source.LegalBasis(rawValue: form["legal_basis"] ?? "") else {
            throw APIError(.badRequest, .invalid, "choose the legal basis (GDPR Art. 6)")
        }
        guard let condition = Source.SpecialCategoryCondition(rawValue: form["special_category_condition"] ?? "") else {
            throw APIError(.badRequest, .invalid, "choose the special-category condition (GDPR Art. 9(2))")
        }
        let jurisdiction = try form.required("jurisdiction")
        guard let retentionDays = Int(try form.required("retention_days", label: "the retention period")), retentionDays > 0 else {
            throw APIError(.badRequest, .invalid, "the retention period is a whole number of days, at least 1")
        }
        var isFolder: ObjCBool = false
        guard root.hasPrefix("/"), FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw APIError(.unprocessableContent, .invalid, "the root \(root) is not a folder on the server (give its absolute path)")
        }
        let licence = form["licence"].flatMap { $0.isEmpty ? nil : $0 }
        return Source(
            name: name, kind: .folder, root: URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path,
            legalBasis: legalBasis, specialCategoryCondition: condition, jurisdiction: jurisdiction,
            retentionDays: retentionDays, licenceReference: licence, createdBy: principal.name)
    }

    /// A source as the page shows it.
    static func row(_ source: Source) -> [String: Any] {
        var row: [String: Any] = [
            "name": source.name,
            "path_name": PageText.pathSegment(source.name),
            "kind": source.kind.rawValue,
            "legal_basis": source.legalBasis.rawValue,
            "condition": source.specialCategoryCondition.rawValue,
            "jurisdiction": source.jurisdiction,
            "retention_days": source.retentionDays,
            "root": source.root ?? "—",
            "created_by": source.createdBy,
            "created_at": PageText.day(source.createdAt),
        ]
        if let licence = source.licenceReference, !licence.isEmpty { row["licence"] = licence }
        return row
    }

    /// The form's fields and choices; after a refusal, what was typed stays.
    static func formValues(_ form: WebForm, keep: Bool) -> [String: Any] {
        let typed = { (field: String) in keep ? form[field] ?? "" : "" }
        let basis = keep ? form["legal_basis"] ?? "" : Source.LegalBasis.publicTask.rawValue
        let condition = keep ? form["special_category_condition"] ?? "" : Source.SpecialCategoryCondition.substantialPublicInterest.rawValue
        return [
            "name": typed("name"), "root": typed("root"), "jurisdiction": typed("jurisdiction"),
            "retention_days": keep ? typed("retention_days") : "365", "licence": typed("licence"),
            "legal_bases": Source.LegalBasis.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == basis] },
            "conditions": Source.SpecialCategoryCondition.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == condition] },
        ]
    }
}

/// An ingest job as its page shows it; `ingest.js` then keeps it current from the API.
enum IngestPageValues {
    static func values(_ job: IngestJobs.Job) -> [String: Any] {
        var values: [String: Any] = [
            "id": job.id,
            "api": job.links.api,
            "source": job.source,
            "source_link": job.links.source,
            "folder": job.folder,
            "started_by": job.startedBy,
            "state": job.state.rawValue,
            "running": job.state == .running || job.state == .queued,
            "percent": job.percent,
            "files_total": job.filesTotal,
            "files_done": job.filesDone,
            "faces": job.faces,
            "skipped": job.skipped,
            "error_count": job.errorCount,
            "errors": job.errors.map { ["path": $0.path, "message": $0.message] },
            "has_errors": !job.errors.isEmpty,
            "set_aside": job.setAside.map { ["path": $0.path, "reason": $0.reason] },
            "has_set_aside": !job.setAside.isEmpty,
            "started_at": PageText.time(job.startedAt),
        ]
        if let failure = job.failure { values["failure"] = failure }
        if let finished = job.finishedAt { values["finished_at"] = PageText.time(finished) }
        if let summary = job.summary { values["seconds"] = String(format: "%.1f", summary.seconds) }
        return values
    }
}
