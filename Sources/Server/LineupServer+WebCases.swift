import Foundation
import Gallery
import Governance
import Hummingbird

/// The verifier's pages (the queue, one proposal beside its probe, the decision), a
/// case's log as a download, and the public model card and transparency report.
extension LineupServer {
    func addCasePages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/verify") { web in
            let principal = try web.signedIn
            return render("verify-queue", VerifyQueuePage(try await blocking { try governance.verificationQueue(as: principal) }), for: web)
        }
        page(router, .get, "/verify/{review}") { web in
            let principal = try web.signedIn
            let review = try reviewNumber(web)
            return try await blocking { try verifyPage(review, principal: principal, web: web) }
        }
        page(router, .post, "/verify/{review}") { web in
            let principal = try web.signedIn
            let review = try reviewNumber(web)
            guard let decision = web.form["decision"], ["confirm", "reject"].contains(decision) else {
                throw APIError(.badRequest, .invalid, "choose confirm or reject")
            }
            return try await blocking {
                do {
                    let decided = try governance.verifyCandidate(
                        as: principal, review: review, confirm: decision == "confirm", reason: web.form["reason"] ?? "")
                    return try verifyPage(review, principal: principal, web: web, decided: decided)
                } catch let error where APIError.from(error).status.code < 500 {
                    let refusal = APIError.from(error)
                    return try verifyPage(review, principal: principal, web: web, error: refusal.message, status: refusal.status)
                }
            }
        }
        page(router, .get, "/cases/{number}/log") { web in
            let principal = try web.signedIn
            let number = try web.parameter("number")
            let log = try await blocking { try governance.caseLog(as: principal, case: number, organisation: web.query("organisation")) }
            var response = try json(log)
            response.headers[.contentDisposition] = "attachment; filename=\"case-\(PageText.pathSegment(number))-log.json\""
            return response
        }
        page(router, .get, "/model-card") { web in
            render("model-card", ModelCardPage(try await blocking { try governance.modelCard() }), for: web)
        }
        page(router, .get, "/transparency") { web in
            guard let year = web.query("year").flatMap(Int.init) ?? Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: Date()).year
            else { throw APIError(.badRequest, .invalid, "give the year: ?year=2026") }
            let report = try await blocking { try governance.publicAnnualReport(year: year) }
            return render(
                "transparency", TransparencyPage(year: year, organisations: report.organisations, none: report.organisations.isEmpty), for: web)
        }
    }

    private func reviewNumber(_ web: WebRequest) throws -> Int64 {
        guard let id = Int64(try web.parameter("review")) else { throw APIError(.notFound, .notFound, "no such review") }
        return id
    }

    /// One proposal for its verifier; the opening is logged (Governance).
    private func verifyPage(
        _ review: Int64, principal: Principal, web: WebRequest, decided: Governance.ReviewRecord? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let item = try governance.verificationItem(as: principal, review: review)
        var page = VerifyPage(
            review: item.review, caseNumber: item.caseNumber, proposedBy: item.proposedBy, decided: decided.map(ReviewStanding.init),
            error: error)
        page.probeFace = try WebImages.dataURL(jpeg: item.probeFace, maxSide: 240)
        if let candidate = item.candidate {
            page.candidate = CandidateCard(candidate, search: item.search)
            if let face = try governance.gallery.reviewCrop(of: candidate) { page.candidateFace = try WebImages.dataURL(face, maxSide: 240) }
        }
        return render("verify", page, for: web, status: status)
    }
}
