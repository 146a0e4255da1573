import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird

/// The investigator's pages: the search form (photo, the faces found in it, the
/// justification), the candidates for human review, and one candidate opened.
extension LineupServer {
    func addSearchPages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/search") { web in
            render("search", SearchFormPage(), for: web)
        }
        page(router, .post, "/search") { web in
            let principal = try web.signedIn
            let form = web.form
            let photos: [[UInt8]]
            let justification: Justification
            do {
                photos = try form.files("photo", label: "a photo to search with")
                justification = Justification(
                    caseNumber: try form.required("case_number", label: "the case number"),
                    purpose: try form.required("purpose", label: "the purpose"),
                    legalBasis: try form.required("legal_basis", label: "the legal basis"))
            } catch let error as APIError {
                return render("search", SearchFormPage(refilling: form, error: error.message), for: web, status: error.status)
            }
            let request: Governance.SearchRequest
            do {
                // A face is picked only in one photo; several are each searched by their most prominent.
                request = Governance.SearchRequest(
                    faceNumber: photos.count == 1 ? try form.integer("face") : nil, top: try form.integer("top") ?? 10,
                    belowThreshold: try form.boolean("below_threshold"))
            } catch let error as APIError {
                return render("search", SearchFormPage(refilling: form, error: error.message), for: web, status: error.status)
            }
            return try await faceWork { pipeline in
                let found = try governance.search(
                    as: principal, justification: justification, photos: photos, pipeline: pipeline, request)
                return render(
                    "results",
                    try resultsPage(
                        found, justification: justification, photos: photos, principal: principal,
                        limits: pipeline.limits), for: web)
            }
        }
        page(router, .get, "/searches") { web in
            let principal = try web.signedIn
            let before = web.query("before").flatMap { Int64($0) }
            return try await blocking {
                let searches = try governance.pastSearches(as: principal, limit: 50, before: before)
                return render(
                    "searches",
                    PastSearchesPage(
                        searches: searches.map(PastSearchRow.init), none: searches.isEmpty,
                        older: searches.count == 50 ? searches.last?.auditEntry : nil), for: web)
            }
        }
        page(router, .get, "/searches/{entry}") { web in
            guard let entry = Int64(try web.parameter("entry")) else { throw APIError(.notFound, .notFound, "no such search") }
            let principal = try web.signedIn
            return try await blocking {
                let past = try governance.pastResults(as: principal, search: entry)
                var cards: [CandidateCard] = []
                for candidate in past.candidates {
                    let crop = try (try? governance.gallery.reviewCrop(of: candidate)).map { try WebImages.dataURL($0, maxSide: 240) }
                    cards.append(CandidateCard(candidate, search: entry, crop: crop))
                }
                if !past.candidates.isEmpty {
                    try governance.recordView(as: principal, search: entry, faces: past.candidates.map(\.faceID), kind: .crops)
                }
                let probe = try WebImages.dataURL(jpeg: past.probeFace, maxSide: 240)
                return render("results", SearchResultsPage(past: past, probe: probe, candidates: cards), for: web)
            }
        }
        page(router, .get, "/searches/{entry}/candidates/{face}") { web in
            guard let entry = Int64(try web.parameter("entry")), let faceID = Int64(try web.parameter("face")) else {
                throw APIError(.notFound, .notFound, "no such candidate")
            }
            let principal = try web.signedIn
            return try await blocking { try candidatePage(search: entry, face: faceID, principal: principal, web: web) }
        }
        page(router, .post, "/searches/{entry}/candidates/{face}/propose") { web in
            guard let entry = Int64(try web.parameter("entry")), let faceID = Int64(try web.parameter("face")) else {
                throw APIError(.notFound, .notFound, "no such candidate")
            }
            let principal = try web.signedIn
            return try await blocking {
                do {
                    _ = try governance.proposeCandidate(as: principal, search: entry, face: faceID, reason: web.form["reason"] ?? "")
                } catch let error where APIError.from(error).status.code < 500 {
                    let refusal = APIError.from(error)
                    return try candidatePage(
                        search: entry, face: faceID, principal: principal, web: web, error: refusal.message, status: refusal.status)
                }
                return redirect(to: "/searches/\(entry)/candidates/\(faceID)")
            }
        }
    }

    /// One candidate opened by the investigator who searched: the probe face beside the
    /// candidate's, the whole picture, its provenance and its two-person review.
    func candidatePage(
        search entry: Int64, face faceID: Int64, principal: Principal, web: WebRequest, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let candidate = try governance.reviewCandidate(as: principal, search: entry, face: faceID)
        var page = CandidatePage(candidate: CandidateCard(candidate, search: entry))
        if let picture = try governance.gallery.reviewPicture(of: candidate) {
            page.picture = try WebImages.dataURL(picture, maxSide: 1280, boxes: [candidate.box])
            page.pictureSize = "\(picture.width) × \(picture.height)"
            page.candidateFace = try WebImages.dataURL(try Gallery.faceCrop(candidate.box, in: picture), maxSide: 240)
        }
        let standing = try governance.candidateStanding(as: principal, search: entry, face: faceID)
        page.probeFace = try WebImages.dataURL(jpeg: standing.probeFace, maxSide: 240)
        page.review = standing.review.map(ReviewStanding.init)
        page.canPropose = standing.review == nil
        page.error = error
        let faces = try governance.returnedFaces(as: principal, search: entry)
        if let index = faces.firstIndex(of: faceID) {
            page.position = index + 1
            page.of = faces.count
            page.previous = index > 0 ? faces[index - 1] : nil
            page.next = index + 1 < faces.count ? faces[index + 1] : nil
        }
        return render("candidate", page, for: web, status: status)
    }

    /// The candidates with their face crops, the probe with the face searched boxed;
    /// showing the crops is logged as a view of the search.
    func resultsPage(
        _ found: Governance.JustifiedSearch, justification: Justification, photos: [[UInt8]], principal: Principal,
        limits: ImageLimits
    ) throws -> SearchResultsPage {
        let result = found.result
        let gallery = governance.gallery
        var cards: [CandidateCard] = []
        for candidate in result.candidates {
            var crop: String?
            if let face = try? gallery.reviewCrop(of: candidate, limits: limits) { crop = try WebImages.dataURL(face, maxSide: 240) }
            cards.append(CandidateCard(candidate, search: found.auditEntry, crop: crop))
        }
        if !result.candidates.isEmpty {
            try governance.recordView(as: principal, search: found.auditEntry, faces: result.candidates.map(\.faceID), kind: .crops)
        }
        let probe = try Image(data: photos[0], limits: limits)
        return SearchResultsPage(
            found, justification: justification, probe: try WebImages.dataURL(probe, maxSide: 480, boxes: [result.probeFace.box]),
            otherProbes: try photos.dropFirst().map { try WebImages.dataURL(Image(data: $0, limits: limits), maxSide: 160) },
            candidates: cards)
    }
}
