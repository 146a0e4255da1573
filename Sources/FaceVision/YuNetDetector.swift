import Foundation

/// The YuNet face detector (Wu et al., libfacedetection, 2023).
///
/// The shipped model takes a fixed 640×640 input; Lineup's setup makes its input
/// size symbolic, so each photo is scaled to at most `maxInputSide` on its long
/// side and padded only to the next multiple of 32. A 250×250 photo then costs a
/// 256×256 pass instead of 640×640, for the same faces.
public final class YuNetDetector: FaceDetector {
    public struct Configuration: Sendable, Equatable {
        /// Minimum confidence (geometric mean of the class and objectness outputs).
        ///
        /// Measured: every one of the 4,992 LFW development photos and the 43 annotated
        /// faces of the detection set has a face scoring at least 0.860, while a dog's
        /// face scores up to 0.855. 0.87 keeps all but 3 LFW photos and refuses the dog;
        /// photos known to show a person can ask for less (see `FacePipeline.detectProbe`).
        public var scoreThreshold: Double
        /// Boxes overlapping a better one by more than this IoU are dropped.
        public var nmsThreshold: Double
        /// Photos larger than this on their long side are scaled down before detection.
        public var maxInputSide: Int
        public var maxFaces: Int
        public var qualityPolicy: QualityPolicy

        public init(
            scoreThreshold: Double = 0.87, nmsThreshold: Double = 0.3, maxInputSide: Int = 640,
            maxFaces: Int = 1000, qualityPolicy: QualityPolicy = .default
        ) {
            self.scoreThreshold = scoreThreshold
            self.nmsThreshold = nmsThreshold
            self.maxInputSide = maxInputSide
            self.maxFaces = maxFaces
            self.qualityPolicy = qualityPolicy
        }
    }

    public let configuration: Configuration
    public var modelID: String { "yunet-2023mar" }
    public var scoreThreshold: Double { configuration.scoreThreshold }
    private let network: NeuralNetwork
    private static let strides = [8, 16, 32]

    public init(
        modelPath: String, configuration: Configuration = Configuration(), engine: InferenceEngine = .default
    ) throws(VisionError) {
        self.network = try engine.load(path: modelPath)
        self.configuration = configuration
    }

    public func detect(in image: Image, minimumScore: Double?) throws(VisionError) -> [DetectedFace] {
        let found = try candidates(
            in: image, threshold: minimumScore ?? configuration.scoreThreshold, maxSide: configuration.maxInputSide)
        return try found.map { candidate throws(VisionError) in
            let sharpness = try Self.sharpness(of: candidate.box, in: image)
            let quality = FaceQuality(
                landmarks: candidate.landmarks, sharpness: sharpness, detectorScore: candidate.score,
                policy: configuration.qualityPolicy)
            return DetectedFace(box: candidate.box, landmarks: candidate.landmarks, score: candidate.score, quality: quality)
        }
    }

    /// One pass of the network over `image` (scaled down to `maxSide` if larger, padded
    /// to a multiple of 32, and at least to `paddedSide`): every face scoring at least `threshold`, after suppression,
    /// most confident first, in `image`'s coordinates.
    func candidates(in image: Image, threshold: Double, maxSide: Int, paddedSide: Int = 0) throws(VisionError) -> [FaceCandidate] {
        let input = InputGeometry(imageWidth: image.width, imageHeight: image.height, maxSide: maxSide, paddedSide: paddedSide)
        var blob = [Float](repeating: 0, count: 3 * input.width * input.height)
        try blob.withUnsafeMutableBufferPointer { buffer throws(VisionError) in
            try image.writePlanar(
                into: buffer.baseAddress!, scaledSize: (input.scaledWidth, input.scaledHeight),
                width: input.width, height: input.height, rgb: false)
        }
        let names = ["cls", "obj", "bbox", "kps"].flatMap { kind in Self.strides.map { "\(kind)_\($0)" } }
        let outputs = try network.forward(input: blob, shape: [1, 3, input.height, input.width], outputs: names)

        var boxes: [Box] = [], scores: [Double] = [], landmarks: [[Point]] = []
        for (level, stride) in Self.strides.enumerated() {
            let cls = outputs[level], obj = outputs[3 + level], bbox = outputs[6 + level], kps = outputs[9 + level]
            let columns = input.width / stride
            for anchor in 0..<cls.count {
                let score = (Double(min(max(cls[anchor], 0), 1)) * Double(min(max(obj[anchor], 0), 1))).squareRoot()
                guard score >= threshold else { continue }
                let col = Double(anchor % columns), row = Double(anchor / columns), s = Double(stride)
                let cx = (col + Double(bbox[4 * anchor])) * s, cy = (row + Double(bbox[4 * anchor + 1])) * s
                let w = exp(Double(bbox[4 * anchor + 2])) * s, h = exp(Double(bbox[4 * anchor + 3])) * s
                boxes.append(input.toImage(Box(x: cx - w / 2, y: cy - h / 2, width: w, height: h)))
                scores.append(score)
                landmarks.append(
                    (0..<5).map { k in
                        input.toImage(
                            Point(
                                x: (Double(kps[10 * anchor + 2 * k]) + col) * s,
                                y: (Double(kps[10 * anchor + 2 * k + 1]) + row) * s))
                    })
            }
        }
        let kept = nonMaximumSuppression(
            boxes: boxes, scores: scores, threshold: configuration.nmsThreshold,
            limit: configuration.maxFaces)
        return kept.map { FaceCandidate(box: boxes[$0], landmarks: FaceLandmarks(points: landmarks[$0]), score: scores[$0]) }
    }

    /// Focus measured on the face box, scaled to 112×112 so faces of any size compare.
    private static func sharpness(of box: Box, in image: Image) throws(VisionError) -> Double {
        guard box.width >= 2, box.height >= 2,
            box.x < Double(image.width), box.y < Double(image.height),
            box.x + box.width > 0, box.y + box.height > 0
        else { return 0 }
        let crop = try image.cropped(to: box).resized(width: 112, height: 112)
        return laplacianVariance(of: crop)
    }
}

/// How a photo maps onto the detector's input: scaled down to fit, padded to a multiple of 32.
struct InputGeometry {
    let scaledWidth: Int, scaledHeight: Int
    let width: Int, height: Int
    let scaleX: Double, scaleY: Double

    init(imageWidth: Int, imageHeight: Int, maxSide: Int, paddedSide: Int = 0) {
        let scale = min(1, Double(maxSide) / Double(max(imageWidth, imageHeight)))
        scaledWidth = max(1, Int((Double(imageWidth) * scale).rounded()))
        scaledHeight = max(1, Int((Double(imageHeight) * scale).rounded()))
        width = max(paddedSide, scaledWidth + 31) / 32 * 32
        height = max(paddedSide, scaledHeight + 31) / 32 * 32
        scaleX = Double(scaledWidth) / Double(imageWidth)
        scaleY = Double(scaledHeight) / Double(imageHeight)
    }

    func toImage(_ p: Point) -> Point { Point(x: p.x / scaleX, y: p.y / scaleY) }
    func toImage(_ b: Box) -> Box { Box(x: b.x / scaleX, y: b.y / scaleY, width: b.width / scaleX, height: b.height / scaleY) }
}
