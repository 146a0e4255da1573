import FaceVision
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
    /// How many candidates to look at, as typed (ten unless changed).
    var top = "10"
    /// Whether candidates below the credible threshold are asked for too.
    var belowThreshold = false
    /// Most photos one search takes.
    var maxPhotos = Governance.maxProbePhotos

    init() {}

    init(refilling form: WebForm, error: String) {
        self.error = error
        caseNumber = form["case_number"] ?? ""
        purpose = form["purpose"] ?? ""
        legalBasis = form["legal_basis"] ?? ""
        top = form["top"] ?? "10"
        belowThreshold = (try? form.boolean("below_threshold")) ?? false
    }
}

/// A search's answer: the probe with the face searched outlined, the justification
/// it was logged with, the rule that chose what is shown, the candidates for human
/// review, and the legend of every band. The same page shows a past search again
/// (from the audit log), with the probe face kept for the case instead of the photo.
struct SearchResultsPage: PageModel {
    /// The audit entry that records the search.
    var entry: Int64
    var caseNumber: String
    var purpose: String
    var legalBasis: String
    /// The photo searched with (or, for a past search, the face kept), as a data URL.
    var probe: String?
    /// The other photos of a fused probe, as data URLs (none for one photo).
    var otherProbes: [String] = []
    var fused = false
    var probePhotos = 1
    var facesInProbe = 1
    var severalFaces = false
    var warnings: [String] = []
    /// How many faces were compared, written with grouping separators.
    var galleryFaces: String
    var model: String?
    var candidates: [CandidateCard]
    var count: Int
    var none: Bool
    var excluded: [ExcludedSource] = []
    /// Candidates left out because the person opted out.
    var withheld: Int
    var anyWithheld: Bool
    /// The rule that chose the candidates shown, in words.
    var shownRule: String
    /// Candidates among the top that scored below the credible threshold, not shown.
    var belowNotShown: Int
    var anyBelowNotShown: Bool
    var belowShown: Bool
    /// Every band with its scores at this gallery size.
    var legend: [BandLegendRow]
    /// A past search read back: when it was made, and faces gone since.
    var when: String?
    var gone = 0
    var anyGone = false

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
        shownRule = Self.rule(found.credibleThreshold.band, shownBelow: found.belowThresholdShown, faces: result.galleryFaces)
        belowNotShown = found.belowThresholdNotShown
        anyBelowNotShown = found.belowThresholdNotShown > 0
        belowShown = found.belowThresholdShown
        legend = found.bands.map(BandLegendRow.init)
    }

    init(past: Governance.PastResults, probe: String?, candidates: [CandidateCard]) {
        entry = past.search.auditEntry
        caseNumber = past.search.caseNumber ?? "–"
        purpose = past.search.purpose ?? "–"
        legalBasis = past.legalBasis ?? "–"
        self.probe = probe
        galleryFaces = past.galleryFaces.formatted()
        self.candidates = candidates
        count = candidates.count
        none = candidates.isEmpty
        withheld = past.optedOutFacesWithheld
        anyWithheld = past.optedOutFacesWithheld > 0
        belowShown = past.search.belowThresholdShown
        shownRule = Self.rule(past.credibleBand ?? .possible, shownBelow: belowShown, faces: past.galleryFaces)
        belowNotShown = past.belowThresholdNotShown
        anyBelowNotShown = past.belowThresholdNotShown > 0
        legend = past.bands.map(BandLegendRow.init)
        when = PageText.time(past.search.at)
        gone = past.gone
        anyGone = past.gone > 0
    }

    /// `Shown: candidates possible or stronger in a search of 5,467 faces.`
    static func rule(_ band: ConfidenceBand, shownBelow: Bool, faces: Int) -> String {
        shownBelow
            ? "every candidate of the top asked for, below the threshold too, as you asked (the audit log records it)"
            : "candidates \(band.words) or stronger in a search of \(faces.formatted()) faces (the threshold the operator set)"
    }
}

/// One band of the results' legend: its name, its scores under the page's rule, its meaning.
struct BandLegendRow {
    var band: String
    var words: String
    var scores: String
    var meaning: String

    init(_ rule: BandRule) {
        band = rule.band.rawValue
        words = rule.band.words
        scores =
            switch (rule.leastScore, rule.belowScore) {
            case (let least?, let below?): String(format: "%.3f to %.3f", least, below)
            case (let least?, nil): String(format: "%.3f and above", least)
            case (nil, let below?): String(format: "below %.3f", below)
            case (nil, nil): "any"
            }
        meaning = rule.meaning
    }
}

/// One of the investigator's past searches in their list.
struct PastSearchRow {
    var entry: Int64
    var when: String
    var caseNumber: String
    var purpose: String
    var candidates: Int
    var belowShown: Bool

    init(_ search: Governance.PastSearch) {
        entry = search.auditEntry
        when = PageText.time(search.at)
        caseNumber = search.caseNumber ?? "–"
        purpose = search.purpose ?? "–"
        candidates = search.candidates
        belowShown = search.belowThresholdShown
    }
}

/// The investigator's own past searches, newest first.
struct PastSearchesPage: PageModel {
    var searches: [PastSearchRow]
    var none: Bool
    /// The entry to list from for the next page, when there may be more.
    var older: Int64?
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
        score = candidate.score.isNaN ? "–" : String(format: "%.3f", min(candidate.score, 1))
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
    /// Its place among the search's candidates, and its neighbours' face ids.
    var position: Int?
    var of: Int?
    var previous: Int64?
    var next: Int64?
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
        bandText = candidate.band?.words
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
