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
            render("search", ["top": 10], for: web)
        }
        page(router, .post, "/search") { web in
            let principal = try web.signedIn
            let form = web.form
            let photo: [UInt8]
            let justification: Justification
            do {
                photo = try form.file("photo", label: "a photo to search with")
                justification = Justification(
                    caseNumber: try form.required("case_number", label: "the case number"),
                    purpose: try form.required("purpose", label: "the purpose"),
                    legalBasis: try form.required("legal_basis", label: "the legal basis"))
            } catch let error as APIError {
                return render("search", searchFormValues(form, error: error.message), for: web, status: error.status)
            }
            let top = Int(form["top"] ?? "") ?? 10
            let face = form["face"].flatMap { Int($0) }
            return try await faceWork { pipeline in
                let found = try governance.search(
                    as: principal, justification: justification, photo: photo, pipeline: pipeline,
                    faceInPhoto: face, top: top)
                return render(
                    "results",
                    try resultsPage(
                        found, justification: justification, photo: photo, principal: principal,
                        limits: pipeline.limits), for: web)
            }
        }
        page(router, .get, "/searches/{entry}/candidates/{face}") { web in
            guard let entry = Int64(try web.parameter("entry")), let faceID = Int64(try web.parameter("face")) else {
                throw APIError(.notFound, .notFound, "no such candidate")
            }
            let principal = try web.signedIn
            return try await blocking {
                let candidate = try governance.reviewCandidate(as: principal, search: entry, face: faceID)
                var values = candidateValues(candidate, search: entry)
                if let picture = try governance.gallery.reviewPicture(of: candidate) {
                    values["picture"] = try WebImages.dataURL(picture, maxSide: 1280, boxes: [candidate.box])
                    values["picture_size"] = "\(picture.width) × \(picture.height)"
                }
                return render("candidate", values, for: web)
            }
        }
    }

    /// The search form filled in again, with what was wrong.
    func searchFormValues(_ form: WebForm, error: String) -> [String: Any] {
        [
            "error": error, "case_number": form["case_number"] ?? "", "purpose": form["purpose"] ?? "",
            "legal_basis": form["legal_basis"] ?? "", "top": form["top"] ?? "10",
        ]
    }

    /// The candidates with their face crops, the probe with the face searched boxed;
    /// showing the crops is logged as a view of the search.
    func resultsPage(
        _ found: Governance.JustifiedSearch, justification: Justification, photo: [UInt8], principal: Principal,
        limits: ImageLimits
    ) throws -> [String: Any] {
        let result = found.result
        let gallery = governance.gallery
        var cards: [[String: Any]] = []
        for candidate in result.candidates {
            var card = candidateValues(candidate, search: found.auditEntry)
            if let crop = try? gallery.reviewCrop(of: candidate, limits: limits) {
                card["crop"] = try WebImages.dataURL(crop, maxSide: 240)
            }
            cards.append(card)
        }
        if !result.candidates.isEmpty {
            try governance.recordView(as: principal, search: found.auditEntry, faces: result.candidates.map(\.faceID), kind: .crops)
        }
        let probe = try Image(data: photo, limits: limits)
        return [
            "entry": found.auditEntry,
            "case_number": justification.caseNumber, "purpose": justification.purpose, "legal_basis": justification.legalBasis,
            "probe": try WebImages.dataURL(probe, maxSide: 480, boxes: [result.probeFace.box]),
            "faces_in_probe": result.facesInProbe,
            "several_faces": result.facesInProbe > 1,
            "warnings": result.warnings,
            "gallery_faces": result.galleryFaces.formatted(),
            "model": result.modelID,
            "candidates": cards,
            "count": cards.count,
            "none": cards.isEmpty,
            "excluded": found.excludedSources.sorted { $0.key < $1.key }.map { ["source": $0.key, "rule": $0.value] },
            "withheld": found.optedOutFacesWithheld,
            "any_withheld": found.optedOutFacesWithheld > 0,
        ]
    }

    /// What a page shows of a candidate: rank, score, band and its provenance.
    func candidateValues(_ candidate: Gallery.Candidate, search entry: Int64) -> [String: Any] {
        var values = Self.provenanceValues(candidate)
        values["entry"] = entry
        values["rank"] = candidate.rank
        values["face_id"] = candidate.faceID
        values["score"] = candidate.score.isNaN ? "–" : String(format: "%.3f", candidate.score)
        values["quality_warnings"] = candidate.qualityWarnings.map(\.explanation)
        return values
    }

    /// Where a face came from, and the band of its score, as every page shows them.
    static func provenanceValues(_ candidate: Gallery.Candidate) -> [String: Any] {
        var values: [String: Any] = [
            "source": candidate.source,
            "origin": candidate.originURI,
            "ingested": PageText.time(candidate.ingestedAt),
            "legal_basis": candidate.legalBasis.rawValue,
            "condition": candidate.specialCategoryCondition.rawValue,
            "jurisdiction": candidate.jurisdiction,
        ]
        if let band = candidate.band {
            values["band"] = band.rawValue
            values["band_text"] = band == .belowThreshold ? "below threshold" : band.rawValue
        }
        if let page = candidate.pageURL { values["page_url"] = page }
        if let captured = candidate.capturedAt { values["captured"] = PageText.time(captured) }
        if let seconds = candidate.frameSeconds { values["video_time"] = String(format: "%.1f s", seconds) }
        if let first = candidate.trackFirstSeconds, let last = candidate.trackLastSeconds {
            values["video_span"] = String(format: "%.1f–%.1f s", first, last)
        }
        return values
    }
}
