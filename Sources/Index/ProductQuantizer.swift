import Dispatch
import Foundation

/// 4-bit product quantiser for the scan index: a template is cut into pairs of
/// values, and each pair is replaced by the nearest of 16 centres learnt for that
/// pair (Jégou, Douze and Schmid, "Product quantization for nearest neighbor
/// search", 2011). A 128-value template becomes 64 four-bit codes, 32 bytes; a
/// query's inner product with every code is then a sum of 64 table entries.
///
/// The codes only rank: the scan index re-scores the best few hundred on the
/// templates themselves, so the quantiser's error costs recall only where it pushes
/// a true neighbour out of that list.
struct ProductQuantizer: Sendable, Equatable {
    static let centres = 16
    static let valuesPerCode = 2

    let dimension: Int
    /// Centres of every subquantiser: `subquantizers × 16 × 2` values.
    let codebook: [Float]

    var subquantizers: Int { dimension / Self.valuesPerCode }

    init(dimension: Int, codebook: [Float]) {
        precondition(dimension % Self.valuesPerCode == 0 && codebook.count == dimension * Self.centres)
        self.dimension = dimension
        self.codebook = codebook
    }

    /// Learns the centres from `sample` (`count × dimension` values) with k-means,
    /// each subquantiser on its own core. Same sample, same codebook.
    static func train(dimension: Int, sample: UnsafeBufferPointer<Float>, iterations: Int = 16) -> ProductQuantizer {
        let count = sample.count / dimension
        precondition(count > 0 && dimension % valuesPerCode == 0)
        let subquantizers = dimension / valuesPerCode
        var codebook = [Float](repeating: 0, count: dimension * centres)
        codebook.withUnsafeMutableBufferPointer { output in
            let out = UnsafeSendable(output), input = UnsafeSendable(sample)
            DispatchQueue.concurrentPerform(iterations: subquantizers) { m in
                let centresOfM = kMeans(
                    points: input.value, stride: dimension, offset: m * valuesPerCode, count: count, iterations: iterations,
                    seed: UInt64(m + 1))
                for (i, value) in centresOfM.enumerated() { out.value[m * centres * valuesPerCode + i] = value }
            }
        }
        return ProductQuantizer(dimension: dimension, codebook: codebook)
    }

    /// Lloyd's k-means on one pair of values of every point; the first centres are
    /// points spread by k-means++ seeding. A centre left with no point takes the point
    /// farthest from its own centre.
    private static func kMeans(
        points: UnsafeBufferPointer<Float>, stride: Int, offset: Int, count: Int, iterations: Int, seed: UInt64
    ) -> [Float] {
        func point(_ i: Int) -> (Float, Float) { (points[i * stride + offset], points[i * stride + offset + 1]) }
        func distance(_ a: (Float, Float), _ b: (Float, Float)) -> Float {
            let (dx, dy) = (a.0 - b.0, a.1 - b.1)
            return dx * dx + dy * dy
        }
        var random = SplitMix(seed: seed)
        var centres = [(Float, Float)]()
        centres.append(point(Int(random.next() % UInt64(count))))
        var nearest = (0..<count).map { distance(point($0), centres[0]) }
        while centres.count < Self.centres {
            let total = nearest.reduce(0, +)
            var pick = Int(random.next() % UInt64(count))
            if total > 0 {
                var target = Float(Double(random.next() >> 11) / Double(1 << 53)) * total
                for i in 0..<count {
                    target -= nearest[i]
                    if target <= 0 {
                        pick = i
                        break
                    }
                }
            }
            let chosen = point(pick)
            centres.append(chosen)
            for i in 0..<count { nearest[i] = min(nearest[i], distance(point(i), chosen)) }
        }
        var assignment = [Int](repeating: 0, count: count)
        for _ in 0..<iterations {
            var sums = [(Double, Double)](repeating: (0, 0), count: Self.centres)
            var members = [Int](repeating: 0, count: Self.centres)
            var farthest = (index: 0, distance: Float(-1))
            for i in 0..<count {
                let p = point(i)
                var best = 0, bestDistance = Float.infinity
                for (c, centre) in centres.enumerated() {
                    let d = distance(p, centre)
                    if d < bestDistance { (best, bestDistance) = (c, d) }
                }
                assignment[i] = best
                sums[best].0 += Double(p.0)
                sums[best].1 += Double(p.1)
                members[best] += 1
                if bestDistance > farthest.distance { farthest = (i, bestDistance) }
            }
            for c in 0..<Self.centres {
                if members[c] > 0 {
                    centres[c] = (Float(sums[c].0 / Double(members[c])), Float(sums[c].1 / Double(members[c])))
                } else {
                    centres[c] = point(farthest.index)
                }
            }
        }
        return centres.flatMap { [$0.0, $0.1] }
    }

    /// The code (0…15) of each subquantiser of `vector`: its nearest centre.
    func encode(_ vector: UnsafePointer<Float>, into codes: UnsafeMutablePointer<UInt8>) {
        codebook.withUnsafeBufferPointer { book in
            for m in 0..<subquantizers {
                let x = vector[m * 2], y = vector[m * 2 + 1]
                let centres = book.baseAddress! + m * Self.centres * 2
                var best = 0, bestDistance = Float.infinity
                for c in 0..<Self.centres {
                    let dx = x - centres[c * 2], dy = y - centres[c * 2 + 1]
                    let d = dx * dx + dy * dy
                    if d < bestDistance { (best, bestDistance) = (c, d) }
                }
                codes[m] = UInt8(best)
            }
        }
    }

    /// A query's table: for each subquantiser, its inner product with each of the 16
    /// centres, as unsigned bytes on one common scale so that sums compare. The
    /// approximate score of a code is `offset + step × Σ entries`; rounding each entry
    /// costs at most half a step.
    struct Table {
        var entries: [UInt8]
        var offset: Float
        var step: Float
    }

    func table(for query: UnsafePointer<Float>) -> Table {
        var exact = [Float](repeating: 0, count: subquantizers * Self.centres)
        var lowest = [Float](repeating: 0, count: subquantizers)
        var widest: Float = 0
        codebook.withUnsafeBufferPointer { book in
            for m in 0..<subquantizers {
                let x = query[m * 2], y = query[m * 2 + 1]
                var low = Float.infinity, high = -Float.infinity
                for c in 0..<Self.centres {
                    let value = x * book[(m * Self.centres + c) * 2] + y * book[(m * Self.centres + c) * 2 + 1]
                    exact[m * Self.centres + c] = value
                    low = min(low, value)
                    high = max(high, value)
                }
                lowest[m] = low
                widest = max(widest, high - low)
            }
        }
        let step = widest > 0 ? widest / 255 : 1
        var entries = [UInt8](repeating: 0, count: exact.count)
        for m in 0..<subquantizers {
            for c in 0..<Self.centres {
                entries[m * Self.centres + c] = UInt8(min(255, ((exact[m * Self.centres + c] - lowest[m]) / step).rounded()))
            }
        }
        return Table(entries: entries, offset: lowest.reduce(0, +), step: step)
    }
}

/// SplitMix64: a small reproducible generator (k-means seeding, synthetic templates).
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
