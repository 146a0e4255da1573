import Foundation
import Governance
import Store

/// The privacy office: opt-outs to review, access requests, and the newest erasure
/// receipts. The `has…` flags open the tables; their placeholders test the lists.
struct PrivacyOfficePage: PageModel {
    var optOuts: [OptOutRow]
    var accessRequests: [AccessRequestRow]
    var receipts: [ReceiptPage]
    var hasOptOuts: Bool
    var hasAccessRequests: Bool
    var hasReceipts: Bool
    /// What the last review did.
    var notice: String?

    /// `receipts` are every receipt, oldest first: the page lists the newest 20.
    init(optOuts: [(Suppression, [Int64])], accessRequests: [Governance.AccessRequestSummary], receipts: [ErasureReceipt]) {
        self.optOuts = optOuts.map { OptOutRow($0.0, faces: $0.1) }
        self.accessRequests = accessRequests.map(AccessRequestRow.init)
        self.receipts = receipts.suffix(20).reversed().map(ReceiptPage.init)
        hasOptOuts = !optOuts.isEmpty
        hasAccessRequests = !accessRequests.isEmpty
        hasReceipts = !receipts.isEmpty
    }

    /// The notice after an opt-out was confirmed or rejected (`?done=…&reference=…`).
    static func notice(done: String?, reference: String?) -> String? {
        guard let reference, !reference.isEmpty else { return nil }
        switch done {
        case "confirm": return "Opt-out \(reference) confirmed: its faces stay withheld from every search."
        case "reject": return "Opt-out \(reference) rejected: it withholds nothing now, and its template is erased."
        default: return nil
        }
    }
}

/// An opt-out in the privacy office's list.
struct OptOutRow {
    var reference: String
    var status: String
    var contact: String
    var received: String
    /// How many stored faces it withholds.
    var faces: Int
    /// `reviewer, time` once reviewed.
    var reviewed: String?

    init(_ suppression: Suppression, faces: [Int64]) {
        reference = suppression.reference
        status = suppression.status.rawValue
        contact = suppression.contact
        received = PageText.time(suppression.createdAt)
        self.faces = faces.count
        if let reviewer = suppression.reviewedBy, let at = suppression.reviewedAt { reviewed = "\(reviewer), \(PageText.time(at))" }
    }
}

/// An access request in the privacy office's list, with how far its review has come.
struct AccessRequestRow {
    var reference: String
    var status: String
    var contact: String
    var received: String
    var decided: Int
    var undecided: Int
    var awaiting: Bool

    init(_ request: Governance.AccessRequestSummary) {
        reference = request.reference
        status = request.status.rawValue
        contact = request.contact
        received = PageText.time(request.createdAt)
        decided = request.decided
        undecided = request.undecided
        awaiting = request.undecided > 0
    }
}

/// An erasure receipt: its own page after an erasure, and a row of the privacy
/// office's recent receipts.
struct ReceiptPage: PageModel {
    var reference: String
    /// Where the receipt downloads as JSON.
    var download: String
    var scope: String
    var target: String
    var faces: Int
    var images: Int
    var files: Int
    var sources: Int
    var reason: String
    var erasedBy: String
    var erasedAt: String
    var sha256: String

    init(_ receipt: ErasureReceipt) {
        reference = receipt.reference
        download = "/privacy/receipts/" + PageText.pathSegment(receipt.reference)
        scope = receipt.scope
        target = receipt.target
        faces = receipt.faces
        images = receipt.images
        files = receipt.files
        sources = receipt.sources
        reason = receipt.reason
        erasedBy = receipt.erasedBy
        erasedAt = PageText.time(receipt.erasedAt)
        sha256 = receipt.sha256
    }
}

/// An access request reviewed side by side: the requester's photo beside each
/// candidate, the request's facts (when its summary could be read) and why the last
/// action was refused.
struct AccessReviewPage: PageModel {
    /// Thumbnails are at most this many pixels on their long side.
    static let thumbnailSide = 320

    var reference: String
    var candidates: [AccessCandidateRow]
    var undecided: Int
    var awaiting: Bool
    var total: Int
    var contact: String?
    var status: String?
    var received: String?
    /// Whether decisions are still taken (the request is pending).
    var open = false
    /// `time by officer` once the report was released.
    var released: String?
    /// The requester's photo as a data URL; nil once erased with the release.
    var requesterPhoto: String?
    var refusal: String?

    /// `crops` are the candidates' faces, in the same order.
    init(
        reference: String, candidates: [Governance.AccessCandidateView], crops: [String?],
        summary: Governance.AccessRequestSummary?, requesterPhoto: String?, refusal: String?
    ) {
        self.reference = reference
        self.candidates = zip(candidates, crops).map { AccessCandidateRow($0, crop: $1) }
        undecided = candidates.filter { $0.decision == .pending }.count
        awaiting = candidates.contains { $0.decision == .pending }
        total = candidates.count
        if let summary {
            contact = summary.contact
            status = summary.status.rawValue
            received = PageText.time(summary.createdAt)
            open = summary.status == .pending
            if let releasedAt = summary.releasedAt { released = PageText.time(releasedAt) + " by " + (summary.releasedBy ?? "unknown") }
        }
        self.requesterPhoto = requesterPhoto
        self.refusal = refusal
    }
}

/// A candidate of an access request with its decision; `provenance` is nil once the
/// face was erased.
struct AccessCandidateRow {
    var faceID: Int64
    var score: String
    var decision: String
    var isConfirmed: Bool
    var isRejected: Bool
    /// The stored face as a data URL; nil when the face or its original is gone.
    var crop: String?
    /// `officer, time` once decided.
    var decided: String?
    var provenance: FaceProvenance?

    init(_ view: Governance.AccessCandidateView, crop: String?) {
        faceID = view.faceID
        score = String(format: "%.3f", view.score)
        decision = view.decision.rawValue
        isConfirmed = view.decision == .confirmed
        isRejected = view.decision == .rejected
        self.crop = crop
        if let by = view.decidedBy, let at = view.decidedAt { decided = "\(by), \(PageText.time(at))" }
        provenance = view.provenance.map(FaceProvenance.init)
    }
}

/// A released access report: every face confirmed as the requester's, with where it
/// came from and the searches that returned it.
struct AccessReportPage: PageModel {
    var reference: String
    var releasedBy: String
    var releasedAt: String
    var faces: [ReportedFace]
    /// Where to send the report, when the request could be read.
    var contact: String?

    init(_ report: Governance.AccessReport, contact: String?) {
        reference = report.reference
        releasedBy = report.releasedBy
        releasedAt = PageText.time(report.releasedAt)
        faces = report.faces.map(ReportedFace.init)
        self.contact = contact
    }
}

/// A face of an access report.
struct ReportedFace {
    var faceID: Int64
    var confirmedBy: String
    var provenance: FaceProvenance
    var hasSearches: Bool
    var searches: [ReportedSearch]

    init(_ face: Governance.AccessReport.ReportedFace) {
        faceID = face.faceID
        confirmedBy = face.confirmedBy
        provenance = FaceProvenance(face.provenance)
        hasSearches = !face.searches.isEmpty
        searches = face.searches.map(ReportedSearch.init)
    }
}

/// A logged search that returned a reported face; a dash where the log has nothing.
struct ReportedSearch {
    /// Its audit entry.
    var entry: Int64
    var at: String
    var organisation: String
    var purpose: String
    var legalBasis: String

    init(_ search: Governance.AccessReport.Appearance) {
        entry = search.auditEntry
        at = PageText.time(search.at)
        organisation = search.organisation ?? "–"
        purpose = search.purpose ?? "–"
        legalBasis = search.legalBasis ?? "–"
    }
}
