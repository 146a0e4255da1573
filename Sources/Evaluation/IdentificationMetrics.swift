/// NIST-style open-set identification figures (as in the FRVT 1:N reports).
///
/// A mated probe's person is in the gallery; a non-mated probe's is not. The
/// false-positive identification rate (FPIR) at a threshold is the share of
/// non-mated probes that return any candidate at or above it; the false-negative
/// identification rate (FNIR) is the share of mated probes whose mate is not among
/// the candidates at or above it.
public enum IdentificationMetrics {
    /// What one mated search gave: the rank and score of the first candidate of the
    /// right person, or nil when none was returned (or no face was found).
    public struct MatedOutcome: Sendable, Equatable {
        public var rank: Int?
        public var score: Float?

        public init(rank: Int?, score: Float?) {
            self.rank = rank
            self.score = score
        }
    }

    /// Share of mated probes with their mate at rank `rank` or better.
    public static func hitRate(_ mated: [MatedOutcome], rank: Int) -> Double {
        guard !mated.isEmpty else { return 0 }
        return Double(mated.count { ($0.rank ?? .max) <= rank }) / Double(mated.count)
    }

    /// The lowest threshold at which at most `fpir` of the non-mated probes return a
    /// candidate (their best scores), and the FNIR of the mated probes at it.
    /// `nonMatedTopScores` holds nil for a probe that returned nothing at all.
    public static func fnir(_ mated: [MatedOutcome], nonMatedTopScores: [Float?], atFPIR fpir: Double)
        -> (fnir: Double, threshold: Float)
    {
        let scores = nonMatedTopScores.compactMap { $0 }.sorted(by: >)
        let allowed = Int((Double(nonMatedTopScores.count) * fpir).rounded(.down))
        let threshold = allowed < scores.count ? scores[allowed].nextUp : -Float.infinity
        let misses = mated.count { outcome in
            guard let score = outcome.score else { return true }
            return score < threshold
        }
        return (mated.isEmpty ? 0 : Double(misses) / Double(mated.count), threshold)
    }
}
