import Foundation

/// A similarity score with the truth about the pair it came from.
public struct LabelledScore: Sendable, Equatable {
    public var score: Float
    public var sameIdentity: Bool

    public init(score: Float, sameIdentity: Bool) {
        self.score = score
        self.sameIdentity = sameIdentity
    }
}

/// Summary statistics of a set of scores.
public struct ScoreSummary: Sendable, Codable, Equatable {
    public var count: Int
    public var mean: Double
    public var standardDeviation: Double
    public var minimum: Float
    public var maximum: Float

    public init(_ scores: [Float]) {
        count = scores.count
        let n = Double(max(1, scores.count))
        mean = scores.reduce(0) { $0 + Double($1) } / n
        let m = mean
        standardDeviation = (scores.reduce(0) { $0 + (Double($1) - m) * (Double($1) - m) } / n).squareRoot()
        minimum = scores.min() ?? 0
        maximum = scores.max() ?? 0
    }
}

/// Verification metrics over labelled scores: the LFW protocol's building blocks.
public enum VerificationMetrics {
    /// Fraction of pairs classified correctly when "same person" means score ≥ threshold.
    public static func accuracy(_ scores: [LabelledScore], threshold: Float) -> Double {
        guard !scores.isEmpty else { return 0 }
        let correct = scores.count { ($0.score >= threshold) == $0.sameIdentity }
        return Double(correct) / Double(scores.count)
    }

    /// The threshold with the highest accuracy on `scores`: the midpoint of the best
    /// gap between consecutive sorted scores.
    public static func bestThreshold(_ scores: [LabelledScore]) -> Float {
        let sorted = scores.sorted { $0.score < $1.score }
        guard let first = sorted.first else { return 0 }
        // Threshold below everything: all pairs called "same".
        var correct = sorted.count { $0.sameIdentity }
        var best = correct
        var threshold = first.score - 1e-3
        for (index, item) in sorted.enumerated() {
            // Moving the threshold above this score turns it into "different".
            correct += item.sameIdentity ? -1 : 1
            let next = index + 1 < sorted.count ? sorted[index + 1].score : item.score + 2e-3
            if correct > best, next > item.score {
                best = correct
                threshold = (item.score + next) / 2
            }
        }
        return threshold
    }

    /// Accuracy per held-out fold with the threshold chosen on the other folds.
    public static func crossValidated(_ scores: [LabelledScore], folds: [Int]) -> (accuracies: [Double], thresholds: [Float]) {
        let foldIDs = Array(Set(folds)).sorted()
        var accuracies: [Double] = [], thresholds: [Float] = []
        for fold in foldIDs {
            let train = zip(scores, folds).filter { $0.1 != fold }.map(\.0)
            let test = zip(scores, folds).filter { $0.1 == fold }.map(\.0)
            let threshold = bestThreshold(train)
            thresholds.append(threshold)
            accuracies.append(accuracy(test, threshold: threshold))
        }
        return (accuracies, thresholds)
    }

    /// The true-accept rate at a false-accept rate: the lowest threshold that lets at
    /// most `rate` of the different-person pairs through, and the share of
    /// same-person pairs at or above it. `resolved` is false when there are too few
    /// different-person pairs to measure that rate (fewer than 1 / rate).
    public static func trueAcceptRate(_ scores: [LabelledScore], atFalseAcceptRate rate: Double)
        -> (rate: Double, threshold: Float, resolved: Bool)
    {
        let impostors = scores.filter { !$0.sameIdentity }.map(\.score).sorted(by: >)
        let genuine = scores.filter(\.sameIdentity).map(\.score)
        guard !impostors.isEmpty, !genuine.isEmpty else { return (0, 0, false) }
        let allowed = Int((Double(impostors.count) * rate).rounded(.down))
        let threshold = allowed < impostors.count ? impostors[allowed].nextUp : impostors[0]
        let accepted = genuine.count { $0 >= threshold }
        return (Double(accepted) / Double(genuine.count), threshold, Double(impostors.count) * rate >= 1)
    }

    public static func meanAndStandardDeviation(_ values: [Double]) -> (mean: Double, standardDeviation: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }
}
