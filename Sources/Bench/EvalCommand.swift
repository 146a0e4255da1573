import ArgumentParser
import Console
import Evaluation
import FaceVision
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure accuracy on standard protocols.",
        subcommands: [EvalLFWCommand.self, EvalIdentificationCommand.self]
    )
}

struct EvalLFWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfw",
        abstract: "Face verification accuracy on an LFW pairs protocol, end to end from the photos.",
        discussion: """
            With a pairs file that has folds (header 'FOLDS N'), reports 10-fold accuracy: the \
            threshold is chosen on nine folds and tested on the tenth. With --train, the threshold \
            is chosen on the train pairs and accuracy is reported on --pairs. A pair with a photo \
            where no face is found counts as 'different people' (score -1), so misses cost accuracy.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var batchOptions: BatchOptions

    @Option(help: "Pairs to report accuracy on.")
    var pairs: String

    @Option(help: "Pairs to choose the threshold on.")
    var train: String?

    @Option(help: "The LFW image folder (images/<Name>/<Name>_0001.jpg).")
    var images: String

    @Option(
        help: ArgumentHelp(
            "Cross-validate over the pairs of --pairs and --train together in this many folds.",
            discussion: "The k-th same-person pair and the k-th different-person pair (in file order, --pairs first) go to fold k mod N."))
    var crossValidate: Int?

    @OptionGroup var outputOptions: OutputOptions

    struct Report: Encodable {
        var model: String
        var protocolName: String
        var pairs: Int
        var accuracy: Double
        var accuracyStd: Double?
        var threshold: Float
        var tarAtFar1e3: Double
        var tarAtFar1e3Threshold: Float
        var tarAtFar1e3Resolved: Bool
        var genuine: ScoreSummary
        var impostor: ScoreSummary
        var images: Int
        var noFace: [String]
        var failed: [String: String]
        var errors: [PairError]
        var seconds: Double
    }

    /// A pair the threshold classified wrongly, for inspection.
    struct PairError: Encodable {
        var first: String
        var second: String
        var samePerson: Bool
        var score: Float
    }

    func validate() throws {
        if let crossValidate, crossValidate < 2 { throw ValidationError("--cross-validate needs at least 2 folds") }
    }

    func run() throws {
        var testProtocol = try PairsProtocol(contentsOf: pairs)
        var trainProtocol = try train.map { try PairsProtocol(contentsOf: $0) }
        if let crossValidate {
            testProtocol = PairsProtocol(pooling: [testProtocol] + (trainProtocol.map { [$0] } ?? []), folds: crossValidate)
            trainProtocol = nil
        }
        guard trainProtocol != nil || testProtocol.folds > 1 else {
            throw ValidationError("\(pairs) has no folds; give the pairs to choose the threshold on with --train")
        }
        let start = Date()
        let relative = Array(Set(testProtocol.images + (trainProtocol?.images ?? []))).sorted()
        let extractor = try batchOptions.extractor(pipelineOptions)
        let progress = ProgressBar(total: relative.count, label: "templates")
        let outcomes = extractor.extract(relative.map { images + "/" + $0 }, progress: progress.update)
        let byPath = Dictionary(uniqueKeysWithValues: zip(relative, outcomes))

        func scores(_ protocolPairs: PairsProtocol) -> [LabelledScore] {
            protocolPairs.pairs.map { pair in
                guard let a = byPath[pair.first]?.template, let b = byPath[pair.second]?.template else {
                    return LabelledScore(score: -1, sameIdentity: pair.sameIdentity)
                }
                return LabelledScore(score: a.similarity(to: b), sameIdentity: pair.sameIdentity)
            }
        }
        let testScores = scores(testProtocol)
        let accuracy: Double, deviation: Double?, threshold: Float
        if let trainProtocol {
            threshold = VerificationMetrics.bestThreshold(scores(trainProtocol))
            accuracy = VerificationMetrics.accuracy(testScores, threshold: threshold)
            deviation = nil
        } else {
            let folds = VerificationMetrics.crossValidated(testScores, folds: testProtocol.pairs.map(\.fold))
            (accuracy, deviation) = VerificationMetrics.meanAndStandardDeviation(folds.accuracies)
            threshold = VerificationMetrics.bestThreshold(testScores)
        }
        let tar = VerificationMetrics.trueAcceptRate(testScores, atFalseAcceptRate: 1e-3)
        let errors = zip(testProtocol.pairs, testScores)
            .filter { ($1.score >= threshold) != $1.sameIdentity }
            .map { PairError(first: $0.first, second: $0.second, samePerson: $0.sameIdentity, score: $1.score) }
        var failed: [String: String] = [:]
        for (path, outcome) in byPath { if case .failed(let reason) = outcome { failed[path] = reason } }
        let report = Report(
            model: extractor.modelID,
            protocolName: trainProtocol == nil ? "\(testProtocol.folds)-fold" : "train/test",
            pairs: testScores.count, accuracy: accuracy, accuracyStd: deviation, threshold: threshold,
            tarAtFar1e3: tar.rate, tarAtFar1e3Threshold: tar.threshold, tarAtFar1e3Resolved: tar.resolved,
            genuine: ScoreSummary(testScores.filter(\.sameIdentity).map(\.score)),
            impostor: ScoreSummary(testScores.filter { !$0.sameIdentity }.map(\.score)),
            images: relative.count, noFace: byPath.filter { $0.value == .noFace }.map(\.key).sorted(),
            failed: failed, errors: errors, seconds: Date().timeIntervalSince(start))
        if outputOptions.json {
            try printJSON(report)
        } else {
            printText(report)
        }
    }

    private func printText(_ r: Report) {
        let std = r.accuracyStd.map { " ± \(format($0 * 100))" } ?? ""
        print("LFW \(r.protocolName), \(r.pairs) pairs, model \(r.model)")
        print("accuracy        \(format(r.accuracy * 100))%\(std)  (threshold \(format(Double(r.threshold), 4)))")
        print(
            "TAR @ FAR=1e-3  \(format(r.tarAtFar1e3 * 100))%  (threshold \(format(Double(r.tarAtFar1e3Threshold), 4))"
                + (r.tarAtFar1e3Resolved ? ")" : "; too few impostor pairs to resolve 1e-3, this is TAR at zero false accepts)"))
        print(
            "genuine scores  mean \(format(r.genuine.mean, 4)) sd \(format(r.genuine.standardDeviation, 4)) min \(format(Double(r.genuine.minimum), 4))"
        )
        print(
            "impostor scores mean \(format(r.impostor.mean, 4)) sd \(format(r.impostor.standardDeviation, 4)) max \(format(Double(r.impostor.maximum), 4))"
        )
        print("images          \(r.images), no face found in \(r.noFace.count), unreadable \(r.failed.count)")
        for path in r.noFace { print("  no face: \(path)") }
        for (path, reason) in r.failed.sorted(by: { $0.key < $1.key }) { print("  unreadable: \(path): \(reason)") }
        print("misclassified   \(r.errors.count) pairs")
        for e in r.errors {
            print("  \(e.samePerson ? "same" : "diff") \(format(Double(e.score), 4))  \(e.first)  \(e.second)")
        }
        print("time            \(format(r.seconds, 1)) s")
    }
}
