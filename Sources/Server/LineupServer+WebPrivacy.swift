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
            var office = PrivacyOfficePage(optOuts: optOuts, accessRequests: requests, receipts: receipts)
            office.notice = PrivacyOfficePage.notice(done: web.query("done"), reference: web.query("reference"))
            return render("privacy", office, for: web)
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
                return render("receipt", ReceiptPage(receipt), for: web)
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
                return render("access-report", AccessReportPage(report, contact: summary?.contact), for: web)
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
            return render("receipt", ReceiptPage(receipt), for: web)
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
                try (try? Image(data: [UInt8](data))).map { try WebImages.dataURL($0, maxSide: AccessReviewPage.thumbnailSide) }
            }
            return Loaded(
                candidates: review.candidates, crops: review.candidates.map { crop(of: $0.provenance) },
                summary: summary, requesterPhoto: photo)
        }
        let review = AccessReviewPage(
            reference: reference, candidates: loaded.candidates, crops: loaded.crops, summary: loaded.summary,
            requesterPhoto: loaded.requesterPhoto, refusal: refusal)
        return render("access-review", review, for: web, status: refusal == nil ? .ok : .unprocessableContent)
    }

    /// A candidate's face cut from its original, as a data URL; nil when the face or
    /// its original is gone.
    private func crop(of candidate: Gallery.Candidate?) -> String? {
        guard let candidate, let face = try? governance.gallery.reviewCrop(of: candidate) else { return nil }
        return try? WebImages.dataURL(face, maxSide: AccessReviewPage.thumbnailSide)
    }
}
