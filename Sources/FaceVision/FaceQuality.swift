import Foundation

/// How usable a detected face is as a search probe or gallery entry.
///
/// Poor quality is never an error: a blurred or turned face can still be the only
/// lead an investigator has. It is reported as warnings so that a reviewer weighs
/// the candidates accordingly.
public struct FaceQuality: Sendable, Equatable, Codable {
    /// Distance between the eye centres in pixels of the original photo.
    public var interEyeDistance: Double
    /// Variance of the Laplacian over the face crop scaled to 112×112 grey pixels:
    /// low values mean blur or too few pixels.
    public var sharpness: Double
    /// Head turn estimated from where the nose tip falls between the eyes, in degrees;
    /// positive when the nose points towards the right of the photo.
    public var yaw: Double
    /// In-plane head tilt from the line through the eyes, in degrees.
    public var roll: Double
    public var warnings: [QualityWarning]

    public init(interEyeDistance: Double, sharpness: Double, yaw: Double, roll: Double, warnings: [QualityWarning]) {
        self.interEyeDistance = interEyeDistance
        self.sharpness = sharpness
        self.yaw = yaw
        self.roll = roll
        self.warnings = warnings
    }

    /// Measures the geometry from the landmarks and judges all measures against `policy`.
    public init(landmarks: FaceLandmarks, sharpness: Double, detectorScore: Double, policy: QualityPolicy = .default) {
        let eyes = (right: landmarks.rightEye, left: landmarks.leftEye)
        let dx = eyes.left.x - eyes.right.x, dy = eyes.left.y - eyes.right.y
        let distance = (dx * dx + dy * dy).squareRoot()
        let rollRadians = atan2(dy, dx)
        // Undo the roll, then see where the nose sits between the eyes (0.5 = frontal).
        let nose = landmarks.noseTip
        let along = ((nose.x - eyes.right.x) * cos(rollRadians) + (nose.y - eyes.right.y) * sin(rollRadians))
        let ratio = distance > 0 ? along / distance : 0.5
        let yaw = atan(2 * ratio - 1) * 180 / .pi
        let roll = rollRadians * 180 / .pi
        self.init(interEyeDistance: distance, sharpness: sharpness, yaw: yaw, roll: roll, warnings: [])
        warnings = policy.warnings(for: self, detectorScore: detectorScore)
    }
}

/// A reason to treat a face with caution.
public enum QualityWarning: String, Sendable, Codable, CaseIterable {
    case smallFace = "small-face"
    case blurry
    case turnedHead = "turned-head"
    case tiltedHead = "tilted-head"
    case uncertainDetection = "uncertain-detection"

    public var explanation: String {
        switch self {
        case .smallFace: "the face is small: few pixels between the eyes"
        case .blurry: "the face is blurred or low-resolution"
        case .turnedHead: "the head is turned well away from the camera"
        case .tiltedHead: "the head is strongly tilted"
        case .uncertainDetection: "the detector is not confident this is a face"
        }
    }
}

/// The limits below which a face gets a warning.
public struct QualityPolicy: Sendable, Equatable {
    public var minInterEyeDistance: Double
    public var minSharpness: Double
    public var maxYaw: Double
    public var maxRoll: Double
    public var minDetectorScore: Double

    public init(
        minInterEyeDistance: Double = 24, minSharpness: Double = 40, maxYaw: Double = 35,
        maxRoll: Double = 30, minDetectorScore: Double = 0.87
    ) {
        self.minInterEyeDistance = minInterEyeDistance
        self.minSharpness = minSharpness
        self.maxYaw = maxYaw
        self.maxRoll = maxRoll
        self.minDetectorScore = minDetectorScore
    }

    public static let `default` = QualityPolicy()

    public func warnings(for quality: FaceQuality, detectorScore: Double) -> [QualityWarning] {
        var warnings: [QualityWarning] = []
        if quality.interEyeDistance < minInterEyeDistance { warnings.append(.smallFace) }
        if quality.sharpness < minSharpness { warnings.append(.blurry) }
        if abs(quality.yaw) > maxYaw { warnings.append(.turnedHead) }
        if abs(quality.roll) > maxRoll { warnings.append(.tiltedHead) }
        if detectorScore < minDetectorScore { warnings.append(.uncertainDetection) }
        return warnings
    }
}

/// Variance of the 4-neighbour Laplacian over a grey version of `image`: the
/// classic focus measure (Pech-Pacheco et al., 2000).
func laplacianVariance(of image: Image) -> Double {
    let width = image.width, height = image.height
    guard width >= 3, height >= 3 else { return 0 }
    let bgr = image.bgrPixels
    var grey = [Double](repeating: 0, count: width * height)
    for i in 0..<(width * height) {
        grey[i] = 0.114 * Double(bgr[3 * i]) + 0.587 * Double(bgr[3 * i + 1]) + 0.299 * Double(bgr[3 * i + 2])
    }
    var sum = 0.0, sumSquares = 0.0
    for y in 1..<(height - 1) {
        for x in 1..<(width - 1) {
            let i = y * width + x
            let value = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - 4 * grey[i]
            sum += value
            sumSquares += value * value
        }
    }
    let count = Double((width - 2) * (height - 2))
    let mean = sum / count
    return sumSquares / count - mean * mean
}
