import FaceVision
import Foundation
import Gallery
import Governance
import Store

/// A candidate's review state as the candidate page shows it: proposed, verified,
/// disputed, or not yet put forward (then the form to propose it).
struct ReviewStanding {
    var state: String
    var stateText: String
    var proposedBy: String
    var proposalReason: String?
    var verifiedBy: String?
    var verificationReason: String?
    var isLead: Bool

    init(_ review: Governance.ReviewRecord) {
        state = review.state.rawValue
        stateText = ReviewStanding.words(review.state)
        proposedBy = review.proposedBy
        proposalReason = review.proposalReason
        verifiedBy = review.verifiedBy
        verificationReason = review.verificationReason
        isLead = review.state == .verifiedLead
    }

    static func words(_ state: CandidateReview.State) -> String {
        switch state {
        case .possibleMatch: "Possible match: awaiting a second person's verification"
        case .verifiedLead: "Verified lead: confirmed by two people"
        case .disputed: "Disputed: the verifier rejected it; it cannot be acted on"
        }
    }
}

/// The proposals a verifier may verify.
struct VerifyQueuePage: PageModel {
    struct Row {
        var review: Int64
        var caseNumber: String
        var faceID: Int64
        var score: String
        var proposedBy: String
        var proposedAt: String
    }

    var rows: [Row]
    var none: Bool

    init(_ reviews: [Governance.ReviewRecord]) {
        rows = reviews.map { review in
            Row(
                review: review.review, caseNumber: review.caseNumber, faceID: review.faceID, score: String(format: "%.3f", review.score),
                proposedBy: review.proposedBy, proposedAt: PageText.time(review.proposedAt))
        }
        none = rows.isEmpty
    }
}

/// One proposal for a verifier: the probe face beside the candidate's, the facts of
/// where the candidate came from, and the decision form; once decided, the outcome and
/// the proposer's reason.
struct VerifyPage: PageModel {
    var review: Int64
    var caseNumber: String
    var probeFace: String?
    var candidate: CandidateCard?
    var candidateFace: String?
    var proposedBy: String
    /// After the decision only.
    var decided: ReviewStanding?
    var error: String?
}

/// The model card as a page: every figure from the evaluation output.
struct ModelCardPage: PageModel {
    struct Point {
        var falseMatchRate: String
        var threshold: String
        var trueMatchRate: String
    }

    struct Row {
        var name: String
        var text: String
    }

    var model: String
    var generatedFrom: [String]
    var networks: [ModelDirectory.NetworkRow]
    var dataset: String
    var points: [Point]
    var identification: [Row]
    var identificationNote: String?
    var bands: [Row]
    var bandRule: String
    var weak: [Row]
    var oversight: String

    init(_ card: Governance.ModelCard) {
        model = card.model
        generatedFrom = card.generatedFrom
        networks = card.networks.map(ModelDirectory.NetworkRow.init)
        dataset =
            "\(card.verification.dataset); \(card.verification.genuinePairs.formatted()) same-person and "
            + "\(card.verification.impostorPairs.formatted()) different-person pairs"
        points = card.verification.operatingPoints.map { point in
            Point(
                falseMatchRate: String(format: "%g", point.falseMatchRate), threshold: String(format: "%.4f", point.threshold),
                trueMatchRate: String(format: "%.2f %%", point.trueMatchRate * 100))
        }
        if let figures = card.identification {
            identification = [
                Row(name: "Protocol", text: figures.dataset ?? "not named"),
                Row(name: "Gallery photos", text: figures.galleryPhotos.formatted()),
                Row(name: "Mated / non-mated probes", text: "\(figures.matedProbes.formatted()) / \(figures.nonmatedProbes.formatted())"),
                Row(name: "Rank-1 / rank-10", text: String(format: "%.2f %% / %.2f %%", figures.rank1 * 100, figures.rank10 * 100)),
            ]
            if let fnir = figures.fnirAtFPIR1Percent, let threshold = figures.thresholdAtFPIR1Percent {
                identification.append(Row(name: "FNIR at FPIR 0.01", text: String(format: "%.2f %% (threshold %.4f)", fnir * 100, threshold)))
            }
            if let fnir = figures.fnirAtFPIRPerMille, let threshold = figures.thresholdAtFPIRPerMille {
                identification.append(Row(name: "FNIR at FPIR 0.001", text: String(format: "%.2f %% (threshold %.4f)", fnir * 100, threshold)))
            }
        } else {
            identification = []
        }
        identificationNote = card.identificationNote
        bands = card.bands.map { Row(name: $0.band, text: $0.meaning) }
        bandRule = card.bandRule
        weak = card.weakConditions.map { Row(name: $0.warning, text: $0.meaning) }
        oversight = card.humanOversight
    }
}

extension ModelDirectory {
    /// A network as the model card's table shows it.
    struct NetworkRow {
        var role: String
        var model: String
        var package: String
        var licence: String

        init(_ network: ModelDirectory.Network) {
            role = network.role
            model = network.model
            package = network.package
            licence = network.licence
        }
    }
}

/// The public transparency report of one year.
struct TransparencyPage: PageModel {
    var year: Int
    var organisations: [Governance.AnnualFigures]
    var none: Bool
}
