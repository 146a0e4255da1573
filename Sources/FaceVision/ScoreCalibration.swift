import Foundation

/// What a similarity score means for one model: how often two *different* people
/// score at least this high (the false-match rate, FMR), measured on photos grouped
/// by person.
///
/// Scores are turned into words through this, never shown bare: in a search of a
/// gallery of N faces, a probe is compared N times, so the chance that at least one
/// unrelated face scores above a threshold (the false-positive identification rate)
/// is about N × FMR. A band therefore depends on the gallery size.
public struct ScoreCalibration: Sendable, Codable, Equatable {
    public struct OperatingPoint: Sendable, Codable, Equatable {
        /// Fraction of different-person pairs scoring at or above `threshold`.
        public var falseMatchRate: Double
        public var threshold: Float
        /// Fraction of same-person pairs scoring below `threshold`.
        public var falseNonMatchRate: Double

        public init(falseMatchRate: Double, threshold: Float, falseNonMatchRate: Double) {
            self.falseMatchRate = falseMatchRate
            self.threshold = threshold
            self.falseNonMatchRate = falseNonMatchRate
        }
    }

    public struct Distribution: Sendable, Codable, Equatable {
        public var count: Int
        public var mean: Double
        public var standardDeviation: Double
        public var minimum: Float
        public var maximum: Float

        public init(count: Int, mean: Double, standardDeviation: Double, minimum: Float, maximum: Float) {
            self.count = count
            self.mean = mean
            self.standardDeviation = standardDeviation
            self.minimum = minimum
            self.maximum = maximum
        }
    }

    public var modelID: String
    /// Where the figures come from, in words.
    public var dataset: String
    public var identities: Int
    public var images: Int
    public var genuine: Distribution
    public var impostor: Distribution
    /// Ordered by falling false-match rate (rising threshold).
    public var operatingPoints: [OperatingPoint]

    public init(
        modelID: String, dataset: String, identities: Int, images: Int, genuine: Distribution,
        impostor: Distribution, operatingPoints: [OperatingPoint]
    ) {
        self.modelID = modelID
        self.dataset = dataset
        self.identities = identities
        self.images = images
        self.genuine = genuine
        self.impostor = impostor
        self.operatingPoints = operatingPoints.sorted { $0.falseMatchRate > $1.falseMatchRate }
    }

    /// The threshold for a false-match rate, interpolated on a log scale between the
    /// measured points. Beyond the measured range it follows the last segment, which
    /// over-states the rate for a bell-shaped impostor tail: thresholds err high.
    public func threshold(atFalseMatchRate rate: Double) -> Float {
        let points = operatingPoints
        precondition(points.count >= 2, "a calibration needs at least two operating points")
        let target = log10(max(rate, 1e-300))
        var lower = 0
        while lower < points.count - 2, log10(points[lower + 1].falseMatchRate) > target { lower += 1 }
        let (a, b) = (points[lower], points[lower + 1])
        let (la, lb) = (log10(a.falseMatchRate), log10(b.falseMatchRate))
        let t = (target - la) / (lb - la)
        return a.threshold + Float(t) * (b.threshold - a.threshold)
    }

    /// The false-match rate of a score: the inverse of `threshold(atFalseMatchRate:)`.
    public func falseMatchRate(atScore score: Float) -> Double {
        let points = operatingPoints
        var lower = 0
        while lower < points.count - 2, points[lower + 1].threshold < score { lower += 1 }
        let (a, b) = (points[lower], points[lower + 1])
        let t = Double((score - a.threshold) / (b.threshold - a.threshold))
        let logRate = log10(a.falseMatchRate) + t * (log10(b.falseMatchRate) - log10(a.falseMatchRate))
        return min(1, pow(10, logRate))
    }

    /// The chance that an unrelated face scores at least `score` somewhere among
    /// `comparisons` comparisons: 1 − (1 − FMR)^N.
    public func falsePositiveRate(atScore score: Float, comparisons: Int) -> Double {
        let rate = falseMatchRate(atScore: score)
        return -expm1(Double(max(1, comparisons)) * log1p(-min(rate, 1 - 1e-12)))
    }

    /// The confidence band of a score for a comparison against `comparisons` faces
    /// (1 for a one-to-one comparison, the gallery size for a search).
    public func band(forScore score: Float, comparisons: Int = 1) -> ConfidenceBand {
        let rate = falsePositiveRate(atScore: score, comparisons: comparisons)
        return ConfidenceBand.allCases.first { rate <= $0.maximumFalsePositiveRate } ?? .belowThreshold
    }
}

/// Words for how much a score means, chosen by the chance that an unrelated person
/// would score as high. There is deliberately no "identified": a band ranks
/// candidates for a human reviewer, it does not decide.
public enum ConfidenceBand: String, Sendable, Codable, CaseIterable {
    case strong
    case possible
    case weak
    case belowThreshold = "below-threshold"

    /// The largest chance of an unrelated face scoring this high that still earns the band.
    public var maximumFalsePositiveRate: Double {
        switch self {
        case .strong: 1e-4
        case .possible: 1e-2
        case .weak: 1e-1
        case .belowThreshold: 1
        }
    }

    /// Whether this band is `other` or a stronger one.
    public func isAtLeast(_ other: ConfidenceBand) -> Bool {
        maximumFalsePositiveRate <= other.maximumFalsePositiveRate
    }
}

extension ScoreCalibration {
    /// The calibration shipped for `modelID`, or nil when Lineup has none.
    public static func bundled(for modelID: String) -> ScoreCalibration? {
        let name = "calibration-" + modelID.replacingOccurrences(of: "+", with: "-")
        guard let url = Bundle.module.url(forResource: name, withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(ScoreCalibration.self, from: data)
    }

    public static func load(from path: String) throws -> ScoreCalibration {
        try JSONDecoder().decode(ScoreCalibration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// Open-set 1:N identification figures as `lineup-bench eval identification --json`
/// writes them; the run for each model Lineup ships is bundled beside its calibration
/// (`identification-<model>.json`), so the model card quotes what was measured.
public struct IdentificationFigures: Sendable, Codable, Equatable {
    public var model: String
    /// What was enrolled and searched (the protocol and its photos).
    public var dataset: String?
    public var enrol: String
    public var galleryPhotos: Int
    public var matedProbes: Int
    public var nonmatedProbes: Int
    public var rank1: Double
    public var rank10: Double
    public var fnirAtFPIR1Percent: Double?
    public var thresholdAtFPIR1Percent: Float?
    public var fnirAtFPIRPerMille: Double?
    public var thresholdAtFPIRPerMille: Float?

    // The keys `lineup-bench --json` writes (snake_case).
    enum CodingKeys: String, CodingKey {
        case model, dataset, enrol, rank1, rank10
        case galleryPhotos = "gallery_photos"
        case matedProbes = "mated_probes"
        case nonmatedProbes = "nonmated_probes"
        case fnirAtFPIR1Percent = "fnir_at_fpir_0.01"
        case thresholdAtFPIR1Percent = "threshold_at_fpir_0.01"
        case fnirAtFPIRPerMille = "fnir_at_fpir_0.001"
        case thresholdAtFPIRPerMille = "threshold_at_fpir_0.001"
    }

    /// The figures shipped for `modelID`, or nil when none were measured.
    public static func bundled(for modelID: String) -> IdentificationFigures? {
        let name = "identification-" + modelID.replacingOccurrences(of: "+", with: "-")
        guard let url = Bundle.module.url(forResource: name, withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(IdentificationFigures.self, from: data)
    }
}

/// One band as a screen explains it: the scores that earn it under the rule the screen
/// applies (a search of N faces, or one comparison), and what it says in words.
public struct BandRule: Sendable, Codable, Equatable {
    public var band: ConfidenceBand
    /// The least score that earns the band (nil for below-threshold, which has none).
    public var leastScore: Float?
    /// The score from which the next band up begins (nil for the top band).
    public var belowScore: Float?
    /// What the band says, in words.
    public var meaning: String
}

extension ConfidenceBand {
    /// The bands a score can earn, strongest first (below-threshold is the lack of one).
    public static let scored: [ConfidenceBand] = [.strong, .possible, .weak]

    /// `below threshold` for below-threshold; the band's name otherwise.
    public var words: String { self == .belowThreshold ? "below threshold" : rawValue }
}

extension ScoreCalibration {
    /// The least score of `band` when a probe is compared with `comparisons` faces: the
    /// score an unrelated face reaches in at least one of them with the band's chance,
    /// 1 − (1 − FMR)^N = rate, so FMR = 1 − (1 − rate)^(1/N).
    public func leastScore(of band: ConfidenceBand, comparisons: Int) -> Float {
        let rate = -expm1(log1p(-band.maximumFalsePositiveRate) / Double(max(1, comparisons)))
        return threshold(atFalseMatchRate: rate)
    }

    /// Every band with its scores and meaning when a probe is compared with
    /// `comparisons` faces: the gallery size in a search, 1 in a one-to-one comparison.
    public func bandRules(comparisons: Int) -> [BandRule] {
        let scored = ConfidenceBand.scored.map { ($0, leastScore(of: $0, comparisons: comparisons)) }
        var rules: [BandRule] = []
        for (position, (band, least)) in scored.enumerated() {
            let chance = Self.chanceInWords(band.maximumFalsePositiveRate)
            let meaning =
                comparisons > 1
                ? "at most \(chance) that an unrelated face scores this high somewhere in a search of \(comparisons.formatted()) faces"
                : "at most \(chance) that photos of two different people score this high"
            rules.append(BandRule(band: band, leastScore: least, belowScore: position == 0 ? nil : scored[position - 1].1, meaning: meaning))
        }
        let weakest = Self.chanceInWords(ConfidenceBand.scored.last!.maximumFalsePositiveRate)
        rules.append(
            BandRule(
                band: .belowThreshold, leastScore: nil, belowScore: scored.last?.1,
                meaning: "more than \(weakest) that "
                    + (comparisons > 1 ? "an unrelated face scores this high in such a search" : "different people score this high")
                    + ": the score says nothing about identity"))
        return rules
    }

    /// `1 in 100` for 0.01.
    public static func chanceInWords(_ rate: Double) -> String {
        "1 in \(Int((1 / rate).rounded()).formatted())"
    }
}
