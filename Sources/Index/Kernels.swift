/// Inner products: the one float dot product every module uses (templates, exact
/// search, evaluation, people's-rights scans), and the graph index's kernels. The index module is compiled for AVX2, FMA
/// and F16C on x86-64 (see Package.swift), so the re-scoring kernel runs as 256-bit
/// conversions and fused multiply-adds, and the int8 kernel's plain loop is
/// vectorised by the compiler into widening multiply-adds.

/// Dot product of two equally long float vectors, 16 lanes at a time. Inlinable, so
/// a caller's loop gets it without a call.
@inlinable
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var sum = SIMD16<Float>()
    var i = 0
    while i + 16 <= count {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
        sum += va * vb
        i += 16
    }
    var total = sum.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

@inlinable
public func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    precondition(a.count == b.count, "vectors of \(a.count) and \(b.count) values")
    guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
    return dot(pa, pb, count: a.count)
}

@inlinable
public func dot(_ a: [Float], _ b: [Float]) -> Float {
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa, pb) } }
}

/// A template read from the store (a buffer) against one in memory.
@inlinable
public func dot(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> Float {
    b.withUnsafeBufferPointer { dot(a, $0) }
}

/// How far an inner product scored on half-precision vectors may be from the float
/// one: half precision holds each component of a unit vector to 2⁻¹¹ of its size, so
/// by Cauchy–Schwarz the product is within 2⁻¹¹ (4.9·10⁻⁴); the float sums add less
/// than 10⁻⁵ at these dimensions. The graph and scan indexes both score this way.
public let halfPrecisionScoreTolerance: Float = 5e-4

/// Inner product of a float vector and a half-precision one, compiled here with the
/// index's vector settings (F16C), for callers outside the index.
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float16>, count: Int) -> Float {
    innerProduct(a, b, count: count)
}

/// Inner product of a float query and a half-precision vector, two 8-lane
/// accumulators (each half-precision load widens in one instruction with F16C).
@inline(__always)
func innerProduct(_ query: UnsafePointer<Float>, _ vector: UnsafePointer<Float16>, count: Int) -> Float {
    var low = SIMD8<Float>(), high = SIMD8<Float>()
    let rq = UnsafeRawPointer(query), rv = UnsafeRawPointer(vector)
    var i = 0
    while i &+ 16 <= count {
        low.addProduct(
            rq.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self),
            SIMD8<Float>(rv.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<Float16>.self)))
        high.addProduct(
            rq.loadUnaligned(fromByteOffset: i &* 4 &+ 32, as: SIMD8<Float>.self),
            SIMD8<Float>(rv.loadUnaligned(fromByteOffset: i &* 2 &+ 16, as: SIMD8<Float16>.self)))
        i &+= 16
    }
    var total = (low + high).sum()
    while i < count {
        total += query[i] * Float(vector[i])
        i &+= 1
    }
    return total
}

/// Integer inner product of two int8 codes (exact: no overflow below 133,000 dimensions).
@inline(__always)
func innerProduct(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, count: Int) -> Int32 {
    var total: Int32 = 0
    for i in 0..<count { total &+= Int32(a[i]) &* Int32(b[i]) }
    return total
}

/// Global int8 scalar quantiser for unit vectors: one scale for every dimension,
/// so a code-to-code inner product is one integer dot product times a constant.
/// The clip at 5/√d (five standard deviations of a random unit vector's
/// component) keeps the step fine; the rare larger component is clipped, which
/// only blurs the traversal score: final scores are recomputed from the floats.
struct ScalarQuantizer: Sendable, Equatable {
    let dimension: Int
    /// Code units per unit of vector component.
    let scale: Float

    init(dimension: Int) {
        self.dimension = dimension
        scale = 127 / (5 / Float(dimension).squareRoot())
    }

    func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<Int8>) {
        for i in 0..<dimension {
            code[i] = Int8(max(-127, min(127, (vector[i] * scale).rounded())))
        }
    }

    /// The approximate inner product of the two vectors behind two codes.
    @inline(__always)
    func score(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>) -> Float {
        Float(innerProduct(a, b, count: dimension)) / (scale * scale)
    }
}
