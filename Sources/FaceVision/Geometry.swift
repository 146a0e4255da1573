/// A point in image pixel coordinates (origin top-left, y down).
public struct Point: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    public func distance(to other: Point) -> Double {
        ((x - other.x) * (x - other.x) + (y - other.y) * (y - other.y)).squareRoot()
    }
}

/// An axis-aligned rectangle in image pixel coordinates.
public struct Box: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Double { max(0, width) * max(0, height) }
    public var center: Point { Point(x: x + width / 2, y: y + height / 2) }

    /// Intersection over union, 0 when the boxes do not overlap.
    public func intersectionOverUnion(_ other: Box) -> Double {
        let left = max(x, other.x), right = min(x + width, other.x + other.width)
        let top = max(y, other.y), bottom = min(y + height, other.y + other.height)
        let intersection = max(0, right - left) * max(0, bottom - top)
        let union = area + other.area - intersection
        return union > 0 ? intersection / union : 0
    }

    /// The box grown by `fraction` of its size on every side (0.25 → 1.5× wider and taller).
    public func expanded(by fraction: Double) -> Box {
        Box(
            x: x - width * fraction, y: y - height * fraction,
            width: width * (1 + 2 * fraction), height: height * (1 + 2 * fraction))
    }
}

/// A 2×3 affine transform, row-major: x' = a·x + b·y + c, y' = d·x + e·y + f.
public struct AffineTransform: Sendable, Equatable {
    public var matrix: [Double]

    public init(matrix: [Double]) {
        precondition(matrix.count == 6)
        self.matrix = matrix
    }

    public func apply(_ p: Point) -> Point {
        Point(
            x: matrix[0] * p.x + matrix[1] * p.y + matrix[2],
            y: matrix[3] * p.x + matrix[4] * p.y + matrix[5])
    }

    /// The least-squares similarity transform (rotation, uniform scale, translation)
    /// taking `source` points onto `target` points (Umeyama, 1991, without reflection).
    public static func similarity(from source: [Point], to target: [Point]) -> AffineTransform {
        precondition(source.count == target.count && source.count >= 2)
        let n = Double(source.count)
        let sMean = Point(x: source.map(\.x).reduce(0, +) / n, y: source.map(\.y).reduce(0, +) / n)
        let tMean = Point(x: target.map(\.x).reduce(0, +) / n, y: target.map(\.y).reduce(0, +) / n)
        // For 2-D similarity the closed form needs only these sums over centred points.
        var dot = 0.0, cross = 0.0, sourceVariance = 0.0
        for (s, t) in zip(source, target) {
            let sx = s.x - sMean.x, sy = s.y - sMean.y
            let tx = t.x - tMean.x, ty = t.y - tMean.y
            dot += sx * tx + sy * ty
            cross += sx * ty - sy * tx
            sourceVariance += sx * sx + sy * sy
        }
        guard sourceVariance > 0 else {
            return AffineTransform(matrix: [1, 0, tMean.x - sMean.x, 0, 1, tMean.y - sMean.y])
        }
        let a = dot / sourceVariance  // scale·cos θ
        let b = cross / sourceVariance  // scale·sin θ
        return AffineTransform(matrix: [
            a, -b, tMean.x - (a * sMean.x - b * sMean.y),
            b, a, tMean.y - (b * sMean.x + a * sMean.y),
        ])
    }
}
