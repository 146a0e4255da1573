import Foundation

/// Reproducible face-like templates for index tests and benchmarks: identities at
/// random unit centres, samples scattered around them so that two samples of one
/// identity score about 0.6-0.8 and samples of different identities about 0 ± 0.09
/// (128-d) or ± 0.05 (512-d), as real face templates do. Same seed, same vectors.
public struct SyntheticTemplates {
    public let dimension: Int
    private var state: UInt64

    public init(dimension: Int, seed: UInt64) {
        self.dimension = dimension
        state = seed
    }

    /// A new identity's centre.
    public mutating func centre() -> [Float] { unit((0..<dimension).map { _ in gaussian() }) }

    /// One template of the identity at `centre`.
    public mutating func sample(around centre: [Float]) -> [Float] {
        let noise = unit((0..<dimension).map { _ in gaussian() })
        return unit(zip(centre, noise).map { $0 + 0.75 * $1 })
    }

    /// `identities × perIdentity` templates, grouped by identity, with their centres.
    public mutating func gallery(identities: Int, perIdentity: Int) -> (templates: [[Float]], centres: [[Float]]) {
        var templates: [[Float]] = [], centres: [[Float]] = []
        templates.reserveCapacity(identities * perIdentity)
        for _ in 0..<identities {
            let c = centre()
            centres.append(c)
            for _ in 0..<perIdentity { templates.append(sample(around: c)) }
        }
        return (templates, centres)
    }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func gaussian() -> Float {
        let u = Double(next() >> 11) / Double(1 << 53), v = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(max(u, 1e-300))).squareRoot() * cos(2 * .pi * v))
    }

    private func unit(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}
