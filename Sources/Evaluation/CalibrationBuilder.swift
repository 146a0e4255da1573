import Dispatch
import FaceVision
import Index
import Synchronization

/// Builds a `ScoreCalibration` from templates of photos grouped by person, using
/// every same-person pair and every different-person pair.
///
/// The LFW development set gives about 12 million different-person pairs; their
/// scores are counted into a histogram of 0.0001-wide bins as they are computed
/// (two passes of row blocks over the templates, in parallel), so memory stays
/// flat and thresholds are exact to the bin width.
public struct CalibrationBuilder {
    public static let defaultFalseMatchRates: [Double] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    static let bins = 20_001
    static func bin(_ score: Float) -> Int { min(bins - 1, max(0, Int(((score + 1) * 10_000).rounded()))) }
    static func score(ofBin bin: Int) -> Float { Float(bin) / 10_000 - 1 }

    public let templates: [FaceTemplate]
    public let identities: [Int]

    public init(templates: [FaceTemplate], identities: [Int]) {
        precondition(templates.count == identities.count)
        self.templates = templates
        self.identities = identities
    }

    public struct Histograms: Sendable {
        public var genuine: [Int]
        public var impostor: [Int]
    }

    /// Scores of all pairs i < j, binned into genuine and impostor histograms.
    public func histograms(workers: Int = 2) -> Histograms {
        let count = templates.count
        let dimension = templates.first?.dimension ?? 0
        let flat = templates.flatMap(\.vector)
        let total = Mutex(Histograms(genuine: .init(repeating: 0, count: Self.bins), impostor: .init(repeating: 0, count: Self.bins)))
        // Rows are dealt out in small blocks so the triangular workload stays balanced.
        let blocks = (count + 63) / 64
        let next = Atomic<Int>(0)
        let identities = identities
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            var local = Histograms(genuine: .init(repeating: 0, count: Self.bins), impostor: .init(repeating: 0, count: Self.bins))
            flat.withUnsafeBufferPointer { vectors in
                let base = vectors.baseAddress!
                while true {
                    let block = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard block < blocks else { break }
                    for i in (block * 64)..<min(count, block * 64 + 64) {
                        let row = base + i * dimension
                        for j in (i + 1)..<count {
                            let bin = Self.bin(dot(row, base + j * dimension, count: dimension))
                            if identities[i] == identities[j] { local.genuine[bin] += 1 } else { local.impostor[bin] += 1 }
                        }
                    }
                }
            }
            total.withLock { total in
                for b in 0..<Self.bins {
                    total.genuine[b] += local.genuine[b]
                    total.impostor[b] += local.impostor[b]
                }
            }
        }
        return total.withLock { $0 }
    }

    public func calibration(
        modelID: String, dataset: String, falseMatchRates: [Double] = defaultFalseMatchRates,
        workers: Int = 2
    ) -> ScoreCalibration {
        let histograms = histograms(workers: workers)
        let genuineCount = histograms.genuine.reduce(0, +), impostorCount = histograms.impostor.reduce(0, +)
        // Cumulative counts from the top: at or above bin b.
        var impostorAtOrAbove = [Int](repeating: 0, count: Self.bins + 1)
        var genuineBelow = [Int](repeating: 0, count: Self.bins + 1)
        for b in stride(from: Self.bins - 1, through: 0, by: -1) {
            impostorAtOrAbove[b] = impostorAtOrAbove[b + 1] + histograms.impostor[b]
        }
        for b in 0..<Self.bins { genuineBelow[b + 1] = genuineBelow[b] + histograms.genuine[b] }

        let points = falseMatchRates.map { rate -> ScoreCalibration.OperatingPoint in
            // The lowest bin whose at-or-above impostor share is within the rate.
            var bin = 0
            while bin < Self.bins, Double(impostorAtOrAbove[bin]) > rate * Double(impostorCount) { bin += 1 }
            return .init(
                falseMatchRate: rate, threshold: Self.score(ofBin: bin),
                falseNonMatchRate: Double(genuineBelow[bin]) / Double(max(1, genuineCount)))
        }
        return ScoreCalibration(
            modelID: modelID, dataset: dataset, identities: Set(identities).count, images: templates.count,
            genuine: Self.distribution(histograms.genuine), impostor: Self.distribution(histograms.impostor),
            operatingPoints: points)
    }

    static func distribution(_ histogram: [Int]) -> ScoreCalibration.Distribution {
        let count = histogram.reduce(0, +)
        guard count > 0 else { return .init(count: 0, mean: 0, standardDeviation: 0, minimum: 0, maximum: 0) }
        var sum = 0.0, squares = 0.0
        for (bin, n) in histogram.enumerated() where n > 0 {
            let s = Double(score(ofBin: bin))
            sum += s * Double(n)
            squares += s * s * Double(n)
        }
        let mean = sum / Double(count)
        return .init(
            count: count, mean: mean, standardDeviation: max(0, squares / Double(count) - mean * mean).squareRoot(),
            minimum: score(ofBin: histogram.firstIndex { $0 > 0 }!), maximum: score(ofBin: histogram.lastIndex { $0 > 0 }!))
    }
}
