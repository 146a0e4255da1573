import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import Store

/// The privacy office's pages: opt-outs to confirm, reject or act on, access requests
/// reviewed face by face beside the requester's photo, reports released only once
/// every candidate is decided, and erasures that end in a receipt. Every decision is
/// Governance's (the same calls as the JSON API); these pages only show and ask.
extension LineupServer {
    func addPrivacyPages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/privacy") { web in
            let principal = try web.signedIn
            let (optOuts, requests, receipts) = try await blocking {
                (try governance.optOuts(as: principal), try governance.accessRequests(as: principal), try governance.receipts())
            }
            var values: [String: Any] = [
                "opt_outs": optOuts.map { PrivacyOfficeValues.optOut($0.0, faces: $0.1) },
                "access_requests": requests.map(PrivacyOfficeValues.accessRequest),
                "receipts": receipts.suffix(20).reversed().map(PrivacyOfficeValues.receipt),
                "has_opt_outs": !optOuts.isEmpty,
                "has_access_requests": !requests.isEmpty,
                "has_receipts": !receipts.isEmpty,
            ]
            if let notice = PrivacyOfficeValues.notice(done: web.query("done"), reference: web.query("reference")) {
                values["notice"] = notice
            }
            return render("privacy", values, for: web)
        }

        page(router, .post, "/privacy/opt-outs/{reference}/{decision}") { web in
            let principal = try web.signedIn
            let reference = try web.parameter("reference")
            let decision = try web.parameter("decision")
            switch decision {
            case "confirm", "reject":
                try await blocking { try governance.reviewOptOut(as: principal, reference: reference, confirm: decision == "confirm") }
                return redirect(to: "/privacy?done=\(decision)&reference=" + PageText.pathSegment(reference))
            case "erase":
                let receipt = try await blocking { try governance.eraseOptedOutFaces(as: principal, reference: reference) }
                return render("receipt", PrivacyOfficeValues.receipt(receipt), for: web)
            default:
                throw APIError(.notFound, .notFound, "an opt-out is confirmed, rejected or erased; '\(decision)' is none of these")
            }
        }

        page(router, .get, "/privacy/access/{reference}") { web in
            try await accessReviewPage(web, reference: try web.parameter("reference"))
        }

        page(router, .post, "/privacy/access/{reference}/decide") { web in
            let principal = try web.signedIn
            let reference = try web.parameter("reference")
            guard let faceID = Int64(try web.form.required("face_id", label: "the face")) else {
                throw APIError(.badRequest, .invalid, "the face is given by its number")
            }
            let confirm: Bool
            switch try web.form.required("decision") {
            case "confirm": confirm = true
            case "reject": confirm = false
            default: throw APIError(.badRequest, .invalid, "a candidate is confirmed or rejected")
            }
            try await blocking { try governance.decideAccess(as: principal, reference: reference, faceID: faceID, confirm: confirm) }
            return redirect(to: "/privacy/access/\(PageText.pathSegment(reference))#candidate-\(faceID)")
        }

        page(router, .post, "/privacy/access/{reference}/report") { web in
            let principal = try web.signedIn
            let reference = try web.parameter("reference")
            do {
                let report = try await blocking { try governance.releaseAccessReport(as: principal, reference: reference) }
                let summary = try await blocking { try governance.accessRequests(as: principal, reference: reference).first }
                return render("access-report", PrivacyOfficeValues.report(report, contact: summary?.contact), for: web)
            } catch let refusal as GovernanceError {
                // Undecided candidates: back to the review, with Governance's reason.
                guard case .invalid = refusal else { throw refusal }
                return try await accessReviewPage(web, reference: reference, refusal: refusal.description)
            }
        }

        page(router, .post, "/privacy/access/{reference}/erase") { web in
            let principal = try web.signedIn
            let reference = try web.parameter("reference")
            let receipt = try await blocking { try governance.eraseAccessRequestFaces(as: principal, reference: reference) }
            return render("receipt", PrivacyOfficeValues.receipt(receipt), for: web)
        }

        page(router, .get, "/privacy/receipts/{reference}") { web in
            let reference = try web.parameter("reference")
            guard let receipt = try await blocking({ try governance.receipt(reference: reference) }) else {
                throw APIError(.notFound, .notFound, "no erasure receipt \(reference)")
            }
            var response = try json(receipt)
            response.headers[.contentDisposition] = "attachment; filename=\"\(PageText.pathSegment(receipt.reference)).json\""
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    /// The side-by-side review of an access request; `refusal` is why the last
    /// action was refused (shown above the candidates, with status 422).
    private func accessReviewPage(_ web: WebRequest, reference: String, refusal: String? = nil) async throws -> Response {
        let principal = try web.signedIn
        /// What the review needs, read and encoded off the event loop.
        struct Loaded: Sendable {
            var candidates: [Governance.AccessCandidateView]
            var crops: [String?]
            var summary: Governance.AccessRequestSummary?
            var requesterPhoto: String?
        }
        let loaded = try await blocking {
            let review = try governance.reviewAccess(as: principal, reference: reference)
            let summary = try governance.accessRequests(as: principal, reference: reference).first
            let photo = try review.photo.flatMap { data in
                try (try? Image(data: [UInt8](data))).map { try WebImages.dataURL($0, maxSide: PrivacyOfficeValues.thumbnailSide) }
            }
            return Loaded(
                candidates: review.candidates, crops: review.candidates.map { crop(of: $0.provenance) },
                summary: summary, requesterPhoto: photo)
        }
        var values: [String: Any] = [
            "reference": reference,
            "candidates": zip(loaded.candidates, loaded.crops).map { PrivacyOfficeValues.candidate($0, crop: $1) },
            "undecided": loaded.candidates.filter { $0.decision == .pending }.count,
            "awaiting": loaded.candidates.contains { $0.decision == .pending },
            "total": loaded.candidates.count,
        ]
        if let summary = loaded.summary {
            values["contact"] = summary.contact
            values["status"] = summary.status.rawValue
            values["received"] = PageText.time(summary.createdAt)
            values["open"] = summary.status == .pending
            if let releasedAt = summary.releasedAt {
                values["released"] = PageText.time(releasedAt) + " by " + (summary.releasedBy ?? "unknown")
            }
        }
        if let photo = loaded.requesterPhoto { values["requester_photo"] = photo }
        if let refusal { values["refusal"] = refusal }
        return render("access-review", values, for: web, status: refusal == nil ? .ok : .unprocessableContent)
    }

    /// A candidate's face cut from its original, as a data URL; nil when the face or
    /// its original is gone.
    private func crop(of candidate: Gallery.Candidate?) -> String? {
        guard let candidate, let face = try? governance.gallery.reviewCrop(of: candidate) else { return nil }
        return try? WebImages.dataURL(face, maxSide: PrivacyOfficeValues.thumbnailSide)
    }
}

/// What the privacy office's templates are given: plain strings, numbers and flags,
/// with absent facts left out so `{{^…}}` shows the placeholder.
private enum PrivacyOfficeValues {
    /// Thumbnails are at most this many pixels on their long side.
    static let thumbnailSide = 320

    static func notice(done: String?, reference: String?) -> String? {
        guard let reference, !reference.isEmpty else { return nil }
        switch done {
        case "confirm": return "Opt-out \(reference) confirmed: its faces stay withheld from every search."
        case "reject": return "Opt-out \(reference) rejected: it withholds nothing now, and its template is erased."
        default: return nil
        }
    }

    static func optOut(_ suppression: Suppression, faces: [Int64]) -> [String: Any] {
        var values: [String: Any] = [
            "reference": suppression.reference,
            "status": suppression.status.rawValue,
            "contact": suppression.contact,
            "received": PageText.time(suppression.createdAt),
            "faces": faces.count,
        ]
        if let reviewer = suppression.reviewedBy, let at = suppression.reviewedAt { values["reviewed"] = "\(reviewer), \(PageText.time(at))" }
        return values
    }

    static func accessRequest(_ request: Governance.AccessRequestSummary) -> [String: Any] {
        [
            "reference": request.reference,
            "status": request.status.rawValue,
            "contact": request.contact,
            "received": PageText.time(request.createdAt),
            "decided": request.decided,
            "undecided": request.undecided,
            "awaiting": request.undecided > 0,
        ]
    }

    static func candidate(_ view: Governance.AccessCandidateView, crop: String?) -> [String: Any] {
        var values: [String: Any] = [
            "face_id": view.faceID,
            "score": String(format: "%.3f", view.score),
            "decision": view.decision.rawValue,
            "is_confirmed": view.decision == .confirmed,
            "is_rejected": view.decision == .rejected,
        ]
        if let crop { values["crop"] = crop }
        if let by = view.decidedBy, let at = view.decidedAt { values["decided"] = "\(by), \(PageText.time(at))" }
        if let provenance = view.provenance { values["provenance"] = LineupServer.provenanceValues(provenance) }
        return values
    }

    static func report(_ report: Governance.AccessReport, contact: String?) -> [String: Any] {
        var values: [String: Any] = [
            "reference": report.reference,
            "released_by": report.releasedBy,
            "released_at": PageText.time(report.releasedAt),
            "faces": report.faces.map { face -> [String: Any] in
                [
                    "face_id": face.faceID,
                    "confirmed_by": face.confirmedBy,
                    "provenance": LineupServer.provenanceValues(face.provenance),
                    "has_searches": !face.searches.isEmpty,
                    "searches": face.searches.map { search -> [String: Any] in
                        [
                            "entry": search.auditEntry, "at": PageText.time(search.at), "organisation": search.organisation ?? "–",
                            "purpose": search.purpose ?? "–", "legal_basis": search.legalBasis ?? "–",
                        ]
                    },
                ]
            },
        ]
        if let contact { values["contact"] = contact }
        return values
    }

    static func receipt(_ receipt: ErasureReceipt) -> [String: Any] {
        [
            "reference": receipt.reference,
            "download": "/privacy/receipts/" + PageText.pathSegment(receipt.reference),
            "scope": receipt.scope,
            "target": receipt.target,
            "faces": receipt.faces,
            "images": receipt.images,
            "files": receipt.files,
            "sources": receipt.sources,
            "reason": receipt.reason,
            "erased_by": receipt.erasedBy,
            "erased_at": PageText.time(receipt.erasedAt),
            "sha256": receipt.sha256,
        ]
    }
}
