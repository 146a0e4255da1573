/// Finds faces in a photo. Swappable: YuNet is the default; another detector only
/// has to report boxes, the five landmarks and a confidence.
public protocol FaceDetector: Sendable {
    /// A stable name for the detector and its settings, recorded with what it finds.
    var modelID: String { get }
    /// The confidence a face needs unless the caller asks for less.
    var scoreThreshold: Double { get }
    /// Every face in the image scoring at least `minimumScore` (default: the
    /// detector's threshold), most confident first.
    func detect(in image: Image, minimumScore: Double?) throws(VisionError) -> [DetectedFace]
}

extension FaceDetector {
    public func detect(in image: Image) throws(VisionError) -> [DetectedFace] {
        try detect(in: image, minimumScore: nil)
    }
}

/// What one pass of a detection network reports for a face, before it is judged.
struct FaceCandidate: Sendable {
    var box: Box
    var landmarks: FaceLandmarks
    var score: Double
}

/// Greedy non-maximum suppression: keeps the best-scoring box of every cluster of
/// boxes that overlap by more than `threshold` IoU. Returns kept indices, best first.
func nonMaximumSuppression(boxes: [Box], scores: [Double], threshold: Double, limit: Int) -> [Int] {
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var kept: [Int] = []
    var suppressed = [Bool](repeating: false, count: boxes.count)
    for (position, index) in order.enumerated() where !suppressed[index] {
        kept.append(index)
        if kept.count == limit { break }
        for other in order[(position + 1)...] where !suppressed[other] {
            if boxes[index].intersectionOverUnion(boxes[other]) > threshold { suppressed[other] = true }
        }
    }
    return kept
}
