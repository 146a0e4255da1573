import FaceVision
import Foundation
import Store

/// Which candidates a search shows, and what each band means where it is shown.
///
/// A search of N faces gives a stranger N chances to score high, so a fixed "top ten"
/// fills the screen with strangers' faces once the person is not in the gallery. A
/// search shows only the candidates whose band is at least the operator's credible
/// band (default: possible, at most 1 chance in 100 that an unrelated face in a
/// gallery of this size scores as high); the rest are counted, and shown only when
/// the investigator asks for them, which the search's audit entry records.
extension Governance {
    /// The least band a search shows unless asked for more, and its score at one gallery size.
    public struct CredibleThreshold: Sendable, Codable, Equatable {
        public var band: ConfidenceBand
        /// The least score of `band` in a search of `galleryFaces` faces.
        public var score: Float
        public var galleryFaces: Int
        /// The chance that an unrelated face scores at least `score` in such a search.
        public var falsePositiveRate: Double
    }

    /// The bands credible candidates may have: strong, possible or weak (below-threshold never is).
    public static let credibleBands = ConfidenceBand.scored

    /// The operator's credible band (default: possible).
    public func credibleBand() throws -> ConfidenceBand {
        let stored = try database.read { db in try Setting.value(.searchCredibleBand, in: db) }
        return stored.flatMap(ConfidenceBand.init(rawValue:)).flatMap { Self.credibleBands.contains($0) ? $0 : nil } ?? .possible
    }

    /// Sets the least band a search shows unless asked for more. Admins.
    public func setCredibleBand(as principal: Principal, _ band: ConfidenceBand) throws {
        try requireOperator(principal, .admin, for: "setting the band a search shows")
        guard Self.credibleBands.contains(band) else {
            throw GovernanceError.invalid(
                "the credible band is strong, possible or weak; below-threshold would show every face asked for")
        }
        try database.write { db in
            try Setting.set(.searchCredibleBand, to: band.rawValue, in: db)
            try audit(principal, action: .settingCredibleBand, target: band.rawValue, in: db)
        }
    }

    /// The credible threshold in a search of `galleryFaces` faces.
    public func credibleThreshold(galleryFaces: Int) throws -> CredibleThreshold {
        let band = try credibleBand()
        return CredibleThreshold(
            band: band, score: leastScore(of: band, comparisons: galleryFaces), galleryFaces: galleryFaces,
            falsePositiveRate: band.maximumFalsePositiveRate)
    }

    /// The least score of `band` in a search of `comparisons` faces.
    public func leastScore(of band: ConfidenceBand, comparisons: Int) -> Float {
        calibration.leastScore(of: band, comparisons: comparisons)
    }

    /// Every band with its scores and meaning in a search of `comparisons` faces.
    public func bandRules(comparisons: Int) -> [BandRule] { calibration.bandRules(comparisons: comparisons) }
}
