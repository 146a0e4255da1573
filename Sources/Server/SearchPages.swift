import Foundation
import Gallery
import Governance

/// The search form; after a refusal it is filled in again with what was typed and
/// what was wrong.
struct SearchFormPage: PageModel {
    var error: String?
    var caseNumber = ""
    var purpose = ""
    var legalBasis = ""
    /// How many candidates to show, as typed (ten unless changed).
    var top = "10"
    /// Most photos one search takes.
    var maxPhotos = Governance.maxProbePhotos

    init() {}

    init(refilling form: WebForm, error: String) {
        self.error = error
        caseNumber = form["case_number"] ?? ""
        purpose = form["purpose"] ?? ""
        legalBasis = form["legal_basis"] ?? ""
        top = form["top"] ?? "10"
    }
}

/// A search's answer: the probe with the face searched outlined, the justification
/// it was logged with, and the candidates for human review.
struct SearchResultsPage: PageModel {
    /// The audit entry that records the search.
    var entry: Int64
    var caseNumber: String
    var purpose: String
    var legalBasis: String
    /// The photo searched with, as a data URL.
    var probe: String
    /// The other photos of a fused probe, as data URLs (none for one photo).
    var otherProbes: [String]
    var fused: Bool
    var probePhotos: Int
    var facesInProbe: Int
    var severalFaces: Bool
    var warnings: [String]
    /// How many faces were compared, written with grouping separators.
    var galleryFaces: String
    var model: String
    var candidates: [CandidateCard]
    var count: Int
    var none: Bool
    var excluded: [ExcludedSource]
    /// Candidates left out because the person opted out.
    var withheld: Int
    var anyWithheld: Bool

    init(
        _ found: Governance.JustifiedSearch, justification: Justification, probe: String, otherProbes: [String] = [],
        candidates: [CandidateCard]
    ) {
        let result = found.result
        entry = found.auditEntry
        caseNumber = justification.caseNumber
        purpose = justification.purpose
        legalBasis = justification.legalBasis
        self.probe = probe
        self.otherProbes = otherProbes
        fused = result.probePhotos > 1
        probePhotos = result.probePhotos
        facesInProbe = result.facesInProbe
        severalFaces = result.facesInProbe > 1 && result.probePhotos == 1
        warnings = result.warnings
        galleryFaces = result.galleryFaces.formatted()
        model = result.modelID
        self.candidates = candidates
        count = candidates.count
        none = candidates.isEmpty
        excluded = ExcludedSource.list(found.excludedSources)
        withheld = found.optedOutFacesWithheld
        anyWithheld = found.optedOutFacesWithheld > 0
    }
}

/// A source a policy rule left out of a search, with the rule.
struct ExcludedSource {
    var source: String
    var rule: String

    /// The sources in name order, from Governance's source-to-rule map.
    static func list(_ excluded: [String: String]) -> [ExcludedSource] {
        excluded.sorted { $0.key < $1.key }.map { ExcludedSource(source: $0.key, rule: $0.value) }
    }
}

/// What a page shows of a candidate: rank, score and the search it came from, its
/// provenance, and the crop of its face where the results show one.
struct CandidateCard {
    /// The audit entry of the search that returned it.
    var entry: Int64
    var rank: Int
    var faceID: Int64
    /// The score to three decimals, or a dash when there is none.
    var score: String
    var qualityWarnings: [String]
    var provenance: FaceProvenance
    /// The face cut from its original, as a data URL; nil when the original is gone.
    var crop: String?

    init(_ candidate: Gallery.Candidate, search entry: Int64, crop: String? = nil) {
        self.entry = entry
        rank = candidate.rank
        faceID = candidate.faceID
        score = candidate.score.isNaN ? "–" : String(format: "%.3f", candidate.score)
        qualityWarnings = candidate.qualityWarnings.map(\.explanation)
        provenance = FaceProvenance(candidate)
        self.crop = crop
    }
}

/// One candidate opened for review: its facts and the whole picture it was found in.
struct CandidatePage: PageModel {
    var candidate: CandidateCard
    /// The picture with the face outlined, as a data URL; nil when the original is gone.
    var picture: String?
    /// `width × height` of the picture as held at the source.
    var pictureSize: String?
    /// The face the search was made with, beside the candidate's (while the case keeps it).
    var probeFace: String?
    var candidateFace: String?
    /// The candidate's two-person review, once proposed.
    var review: ReviewStanding?
    /// Whether the form to propose it as a possible match shows.
    var canPropose = false
    var error: String?
}

/// Where a face came from, and the band of its score, as every page shows them.
struct FaceProvenance {
    var source: String
    var origin: String
    var ingested: String
    var legalBasis: String
    var condition: String
    var jurisdiction: String
    var band: String?
    var bandText: String?
    /// Where the picture was published, pages first in address order.
    var published: [PlaceText]
    /// The first page that showed it, for the results' short form.
    var firstPage: PlaceText?
    /// `and 2 more pages`, when there are more.
    var morePlaces: String?
    var captured: String?
    /// Where in its video the frame is, `12.5 s`.
    var videoTime: String?
    /// When the face's track is in view, `10.0–14.5 s`.
    var videoSpan: String?

    init(_ candidate: Gallery.Candidate) {
        source = candidate.source
        origin = candidate.originURI
        ingested = PageText.time(candidate.ingestedAt)
        legalBasis = candidate.legalBasis.rawValue
        condition = candidate.specialCategoryCondition.rawValue
        jurisdiction = candidate.jurisdiction
        band = candidate.band?.rawValue
        bandText = candidate.band.map { $0 == .belowThreshold ? "below threshold" : $0.rawValue }
        published = candidate.published.map(PlaceText.init)
        firstPage = published.first { $0.page != nil }
        let others = candidate.published.filter { $0.pageURL != nil }.count - 1
        morePlaces = others > 0 ? "and \(others) more page\(others == 1 ? "" : "s")" : nil
        captured = candidate.capturedAt.map(PageText.time)
        videoTime = candidate.frameSeconds.map { String(format: "%.1f s", $0) }
        if let first = candidate.trackFirstSeconds, let last = candidate.trackLastSeconds {
            videoSpan = String(format: "%.1f–%.1f s", first, last)
        }
    }
}

/// One place of publication as the pages show it. An address becomes a link only when
/// it is http or https: an archive's record may name anything, and a `javascript:`
/// address must never be clickable.
struct PlaceText {
    var page: String?
    var pageLink: String?
    var title: String?
    var image: String?
    var imageLink: String?
    var captured: String?
    var credit: String?
    var recordedFrom: String

    init(_ place: Gallery.Place) {
        page = place.pageURL
        pageLink = place.pageURL.flatMap(PageText.webLink)
        title = place.pageTitle
        image = place.imageURL
        imageLink = place.imageURL.flatMap(PageText.webLink)
        captured = place.capturedAt.map(PageText.time)
        credit = place.credit
        recordedFrom = place.recordedFrom == .webArchive ? "web archive" : "manifest"
    }
}
