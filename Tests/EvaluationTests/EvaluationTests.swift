import FaceVision
import Foundation
import Testing

@testable import Evaluation

@Suite struct PairsProtocolTests {
    @Test func readsOneSetAndFolds() throws {
        let one = try PairsProtocol(text: "1\nAnn\t1\t2\nAnn\t1\tBob\t3\n")
        #expect(one.folds == 1)
        #expect(
            one.pairs == [
                FacePair(first: "Ann/Ann_0001.jpg", second: "Ann/Ann_0002.jpg", sameIdentity: true, fold: 0),
                FacePair(first: "Ann/Ann_0001.jpg", second: "Bob/Bob_0003.jpg", sameIdentity: false, fold: 0),
            ])
        let folded = try PairsProtocol(text: "2 1\nA 1 2\nA 1 B 1\nC 1 2\nC 2 D 1\n")
        #expect(folded.folds == 2)
        #expect(folded.pairs.map(\.fold) == [0, 0, 1, 1])
        #expect(folded.images.count == 6)
    }

    @Test func refusesMalformedFiles() {
        #expect(throws: PairsProtocol.ParseError.self) { try PairsProtocol(text: "x\n") }
        #expect(throws: PairsProtocol.ParseError.self) { try PairsProtocol(text: "2\nA 1 2\n") }
        #expect(throws: PairsProtocol.ParseError.self) { try PairsProtocol(text: "1\nA one 2\nA 1 B 1\n") }
        #expect(throws: PairsProtocol.ParseError.self) { try PairsProtocol(contentsOf: "/nonexistent/pairs.txt") }
    }
}

@Suite struct VerificationMetricsTests {
    static func scores(_ genuine: [Float], _ impostor: [Float]) -> [LabelledScore] {
        genuine.map { LabelledScore(score: $0, sameIdentity: true) } + impostor.map { LabelledScore(score: $0, sameIdentity: false) }
    }

    @Test func bestThresholdSeparatesWhenPossible() {
        let scores = Self.scores([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
        let threshold = VerificationMetrics.bestThreshold(scores)
        #expect(threshold > 0.3 && threshold < 0.6)
        #expect(VerificationMetrics.accuracy(scores, threshold: threshold) == 1)
    }

    @Test func bestThresholdMinimisesErrorsWhenOverlapping() {
        let scores = Self.scores([0.25, 0.6, 0.7], [0.1, 0.3, 0.2])
        #expect(VerificationMetrics.accuracy(scores, threshold: VerificationMetrics.bestThreshold(scores)) == 5.0 / 6.0)
    }

    @Test func crossValidationHoldsEachFoldOut() {
        let scores = Self.scores([0.6, 0.7], [0.1, 0.65])
        let result = VerificationMetrics.crossValidated(scores, folds: [0, 1, 0, 1])
        #expect(result.accuracies.count == 2)
        #expect(result.accuracies.allSatisfy { $0 <= 1 })
    }

    @Test func trueAcceptRateAtFalseAcceptRate() {
        let impostors = (0..<1000).map { Float($0) / 2000 }  // 0 ..< 0.5
        let genuine: [Float] = [0.3, 0.4, 0.6, 0.7]
        let result = VerificationMetrics.trueAcceptRate(Self.scores(genuine, impostors), atFalseAcceptRate: 1e-2)
        #expect(result.resolved)
        #expect(result.rate == 0.5)
        let small = VerificationMetrics.trueAcceptRate(Self.scores(genuine, [0.1, 0.2]), atFalseAcceptRate: 1e-3)
        #expect(!small.resolved)
    }
}

@Suite struct CalibrationBuilderTests {
    /// Scores binned to 1e-4 and counted per pair kind: the counts are exact.
    @Test func countsEveryPairOnce() throws {
        let vectors: [[Float]] = [[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]
        let templates = vectors.map { FaceTemplate(modelID: "m", vector: $0) }
        let builder = CalibrationBuilder(templates: templates, identities: [0, 0, 1, 2])
        let histograms = builder.histograms(workers: 2)
        #expect(histograms.genuine.reduce(0, +) == 1)
        #expect(histograms.impostor.reduce(0, +) == 5)
        #expect(histograms.genuine[CalibrationBuilder.bin(0.8)] == 1)
        let calibration = builder.calibration(modelID: "m", dataset: "unit", falseMatchRates: [0.5, 0.1])
        #expect(calibration.genuine.count == 1 && calibration.impostor.count == 5)
        #expect(calibration.operatingPoints[0].threshold <= calibration.operatingPoints[1].threshold)
    }
}

@Suite struct TemplateCacheTests {
    @Test func survivesARestartAndIgnoresATornRecord() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = TemplateCache(directory: folder, pipelineKey: "k", modelID: "m", dimension: 4)
        let template = FaceTemplate(modelID: "m", vector: [1, 2, 3, 4])
        let a = TemplateCache.key(of: [1]), b = TemplateCache.key(of: [2]), c = TemplateCache.key(of: [3])
        cache.store(.template(template), for: a)
        cache.store(.noFace, for: b)
        cache.store(.failed("unreadable"), for: c)
        try cache.flush()
        // A crash while appending leaves half a record behind.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: cache.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(TemplateCache.key(of: [4])) + Data([1, 0, 0]))
        try handle.close()

        let reloaded = TemplateCache(directory: folder, pipelineKey: "k", modelID: "m", dimension: 4)
        #expect(reloaded.count == 2)
        #expect(reloaded.lookup(a) == .template(template))
        #expect(reloaded.lookup(b) == .noFace)
        #expect(reloaded.lookup(c) == nil, "failures are not cached")
    }
}

@Suite struct IdentificationMetricsTests {
    typealias Outcome = IdentificationMetrics.MatedOutcome

    @Test func hitRatesCountRanks() {
        let mated = [Outcome(rank: 1, score: 0.9), Outcome(rank: 3, score: 0.5), Outcome(rank: nil, score: nil), Outcome(rank: 12, score: 0.3)]
        #expect(IdentificationMetrics.hitRate(mated, rank: 1) == 0.25)
        #expect(IdentificationMetrics.hitRate(mated, rank: 10) == 0.5)
    }

    @Test func fnirAtFPIR() {
        let mated = [Outcome(rank: 1, score: 0.9), Outcome(rank: 1, score: 0.5), Outcome(rank: 2, score: 0.35), Outcome(rank: nil, score: nil)]
        // 100 non-mated probes; the best of them scores 0.6, the second 0.4.
        let nonMated: [Float?] = [0.6, 0.4] + Array(repeating: 0.1, count: 97) + [nil]
        let strict = IdentificationMetrics.fnir(mated, nonMatedTopScores: nonMated, atFPIR: 0.001)
        #expect(strict.threshold > 0.6 && strict.fnir == 0.75)
        let loose = IdentificationMetrics.fnir(mated, nonMatedTopScores: nonMated, atFPIR: 0.01)
        #expect(loose.threshold > 0.4 && loose.threshold < 0.5 && loose.fnir == 0.5)
    }
}
