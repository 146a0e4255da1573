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
            return render("ingest", IngestPage(job), for: web)
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
        let rows = sources.map { source in
            SourceRow(
                source, canUpload: isAdmin && source.organisationID == principal.organisation.id && source.root != nil,
                uploadError: uploadError.flatMap { $0.source == source.name ? $0.message : nil })
        }
        var page = SourcesPage(
            sources: rows, hasSources: !sources.isEmpty, isAdmin: isAdmin,
            form: RegistrationForm(web.form, keep: registrationError != nil), notice: notice, registrationError: registrationError)
        if let uploadError, !sources.contains(where: { $0.name == uploadError.source }) {
            page.error = uploadError.message  // an unknown source: no row to show it at
        }
        return render("sources", page, for: web, status: status)
    }
}

/// Reading the registration form.
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
        let collection: Source.CollectionMethod
        do {
            collection = try Source.CollectionMethod.parse(form["collection"] ?? "")
        } catch {
            throw APIError(.badRequest, .invalid, "choose how the photos were collected: \(error.description)")
        }
        return Source(
            name: name, kind: .folder, root: URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path,
            legalBasis: legalBasis, specialCategoryCondition: condition, jurisdiction: jurisdiction,
            retentionDays: retentionDays, licenceReference: licence, createdBy: principal.name, collectionMethod: collection)
    }
}
