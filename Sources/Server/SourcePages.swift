import Foundation
import Store

/// The registered sources and, for admins, the registration form, with what the last
/// form left to say.
struct SourcesPage: PageModel {
    var sources: [SourceRow]
    var hasSources: Bool
    var isAdmin: Bool
    var form: RegistrationForm
    var notice: String?
    var registrationError: String?
    /// A refused upload to a source the list does not show (it has no row to say it at).
    var error: String?
}

/// A source as the list shows it, with its upload form where the account may upload.
struct SourceRow {
    var name: String
    /// The name as one path segment of a link.
    var pathName: String
    var kind: String
    var legalBasis: String
    var condition: String
    var jurisdiction: String
    var retentionDays: Int
    /// The root folder, or a dash for a source without one.
    var root: String
    var createdBy: String
    var createdAt: String
    var licence: String?
    var canUpload: Bool
    /// Why the last upload to this source was refused.
    var uploadError: String?

    init(_ source: Source, canUpload: Bool, uploadError: String?) {
        name = source.name
        pathName = PageText.pathSegment(source.name)
        kind = source.kind.rawValue
        legalBasis = source.legalBasis.rawValue
        condition = source.specialCategoryCondition.rawValue
        jurisdiction = source.jurisdiction
        retentionDays = source.retentionDays
        root = source.root ?? "—"
        createdBy = source.createdBy
        createdAt = PageText.day(source.createdAt)
        if let licence = source.licenceReference, !licence.isEmpty { self.licence = licence }
        self.canUpload = canUpload
        self.uploadError = uploadError
    }
}

/// The registration form's fields and choices; after a refusal, what was typed stays.
struct RegistrationForm {
    var name: String
    var root: String
    var jurisdiction: String
    var retentionDays: String
    var licence: String
    var legalBases: [Choice]
    var conditions: [Choice]
    /// How the photos were collected: no default, the admin states it.
    var collections: [Choice]

    /// An option of a `<select>`.
    struct Choice {
        var value: String
        var selected: Bool
    }

    init(_ form: WebForm, keep: Bool) {
        let typed = { (field: String) in keep ? form[field] ?? "" : "" }
        let basis = keep ? form["legal_basis"] ?? "" : Source.LegalBasis.publicTask.rawValue
        let condition = keep ? form["special_category_condition"] ?? "" : Source.SpecialCategoryCondition.substantialPublicInterest.rawValue
        name = typed("name")
        root = typed("root")
        jurisdiction = typed("jurisdiction")
        retentionDays = keep ? typed("retention_days") : "365"
        licence = typed("licence")
        legalBases = Source.LegalBasis.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == basis) }
        conditions = Source.SpecialCategoryCondition.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == condition) }
        let collection = keep ? form["collection"] ?? "" : ""
        collections = Source.CollectionMethod.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == collection) }
    }
}

/// An ingest job as its page first shows it; `ingest.js` then keeps it current from
/// the API.
struct IngestPage: PageModel {
    var id: String
    /// The job in the API, which the script polls.
    var api: String
    var source: String
    var sourceLink: String
    var folder: String
    var startedBy: String
    var state: String
    var running: Bool
    var percent: Int
    var filesTotal: Int
    var filesDone: Int
    var faces: Int
    var skipped: Int
    var errorCount: Int
    var errors: [UnreadableFile]
    var hasErrors: Bool
    var setAside: [SetAsideFile]
    var hasSetAside: Bool
    var startedAt: String
    var failure: String?
    var finishedAt: String?
    /// How long the ingest took, to a tenth of a second, once it finished.
    var seconds: String?

    /// A file that could not be read, and why.
    struct UnreadableFile {
        var path: String
        var message: String
    }

    /// A file of an archive set aside before the ingest, and why.
    struct SetAsideFile {
        var path: String
        var reason: String
    }

    init(_ job: IngestJobs.Job) {
        id = job.id
        api = job.links.api
        source = job.source
        sourceLink = job.links.source
        folder = job.folder
        startedBy = job.startedBy
        state = job.state.rawValue
        running = job.state == .running || job.state == .queued
        percent = job.percent
        filesTotal = job.filesTotal
        filesDone = job.filesDone
        faces = job.faces
        skipped = job.skipped
        errorCount = job.errorCount
        errors = job.errors.map { UnreadableFile(path: $0.path, message: $0.message) }
        hasErrors = !job.errors.isEmpty
        setAside = job.setAside.map { SetAsideFile(path: $0.path, reason: $0.reason) }
        hasSetAside = !job.setAside.isEmpty
        startedAt = PageText.time(job.startedAt)
        failure = job.failure
        finishedAt = job.finishedAt.map(PageText.time)
        seconds = job.summary.map { String(format: "%.1f", $0.seconds) }
    }
}
