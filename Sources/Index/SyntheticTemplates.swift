import Foundation

/// Reproducible face-like templates for index tests and benchmarks: identities at
/// random unit centres, samples scattered around them so that two samples of one
/// identity score about 0.6-0.8 and samples of different identities about 0 ± 0.09
/// (128-d) or ± 0.05 (512-d), as real face templates do. Same seed, same vectors.
public struct SyntheticTemplates {
    public let dimension: Int
    private var random: SplitMix

    public init(dimension: Int, seed: UInt64) {
        self.dimension = dimension
        random = SplitMix(seed: seed)
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

    private mutating func gaussian() -> Float {
        let u = Double(random.next() >> 11) / Double(1 << 53), v = Double(random.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(max(u, 1e-300))).squareRoot() * cos(2 * .pi * v))
    }

    private func unit(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}
