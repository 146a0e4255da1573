import Foundation

/// How the five landmarks that align a face are found. SFace is very sensitive to
/// where they fall, and templates made with one way never meet templates made with
/// another: the mode is part of the templates' model id (`templateModelID(_:)`).
public enum AlignmentMode: String, Sendable, Codable, CaseIterable {
    /// The detector's own points from its one pass: the templates of earlier versions.
    case detector
    /// The detector's points averaged with YuNet's on the face's mirror image, which
    /// reverses YuNet's horizontal bias: one more small pass per face.
    case mirrored
    /// The mean of six YuNet looks at the face (the detection, twice the size, and a
    /// wide zero border, each also mirrored) and of RetinaFace's points on the face and
    /// its mirror image: the most accurate. Every look has its mirrored twin, so each
    /// network's lean to one side cancels.
    case ensemble

    /// The mode used unless told otherwise. Still the single pass: a gallery refuses to
    /// open with another alignment than the one it records, so another default would
    /// stop existing galleries opening without `--alignment` (see the README's
    /// "Alignment" for each mode's accuracy and cost).
    public static let ingestDefault = AlignmentMode.detector

    /// The id of templates of `embedderModelID` aligned this way. `detector` keeps the
    /// ids of earlier versions, so their galleries need no re-templating.
    public func templateModelID(_ embedderModelID: String) -> String {
        self == .detector ? embedderModelID : embedderModelID + "+" + rawValue
    }

    /// The alignment a template model id names, and the embedder's own id.
    public static func split(templateModelID id: String) -> (embedder: String, alignment: AlignmentMode) {
        for mode in allCases where mode != .detector && id.hasSuffix("+" + mode.rawValue) {
            return (String(id.dropLast(mode.rawValue.count + 1)), mode)
        }
        return (id, .detector)
    }
}

/// A square view of the region around a face, `side` × `scale` pixels: what a landmark
/// pass shows a network. A face whose box's long side is 48 to 128 pixels is seen at
/// its own resolution (the view a whole-pixel shift of the photo, so nothing is
/// resampled and no point moves by interpolation); a smaller one is enlarged to 48
/// pixels and a larger one reduced to 128 (by area averaging), so every pass sees a
/// face of the size the networks find most precisely, whether it is 30 pixels in a
/// crowd or a portrait of 3,000.
struct FaceView {
    static let side = 256
    static let nativeRange = 48.0...128.0

    /// The view's pixels.
    let pixels: Image
    /// From view coordinates back to the photo's.
    let inverse: AffineTransform
    let size: Int
    let mirrored: Bool

    init(face box: Box, in image: Image, scale: Int, mirrored: Bool) throws(VisionError) {
        let long = max(box.width, box.height, 1)
        let zoom = min(max(long, Self.nativeRange.lowerBound), Self.nativeRange.upperBound) / long
        var source = image
        // From `source` back to the photo: an offset and a scale per axis.
        var origin = Point(x: 0, y: 0), shrink = (x: 1.0, y: 1.0)
        if zoom < 1 {
            // Reduce only the region the view shows, by area, then place it.
            let reach = Double(Self.side) / zoom / 2 + 2
            let region = Box(x: box.center.x - reach, y: box.center.y - reach, width: 2 * reach, height: 2 * reach)
            let left = max(0, Int(region.x.rounded(.down))), top = max(0, Int(region.y.rounded(.down)))
            let right = min(image.width, Int(region.x + region.width)), bottom = min(image.height, Int(region.y + region.height))
            let crop = try image.cropped(to: Box(x: Double(left), y: Double(top), width: Double(right - left), height: Double(bottom - top)))
            let width = max(1, Int((Double(crop.width) * zoom).rounded())), height = max(1, Int((Double(crop.height) * zoom).rounded()))
            source = try crop.resized(width: width, height: height)
            origin = Point(x: Double(left), y: Double(top))
            shrink = (Double(crop.width) / Double(width), Double(crop.height) / Double(height))
        }
        // The face's centre in `source`, on a whole pixel when nothing is resampled.
        let centre = Point(x: (box.center.x - origin.x) / shrink.x, y: (box.center.y - origin.y) / shrink.y)
        let magnify = zoom > 1 ? zoom * Double(scale) : Double(scale)
        size = Self.side * scale
        let half = Double(size) / 2
        let cx = magnify == 1 ? centre.x.rounded() : centre.x, cy = magnify == 1 ? centre.y.rounded() : centre.y
        let sx = mirrored ? -magnify : magnify
        // Mirrored: the view's column c shows the source's column mirrored about the centre.
        let tx = mirrored ? half - 1 - sx * cx : half - sx * cx
        let forward = AffineTransform(matrix: [sx, 0, tx, 0, magnify, half - magnify * cy])
        pixels = try source.warped(by: forward, width: size, height: size)
        // View → source → photo.
        inverse = AffineTransform(matrix: [
            shrink.x / sx, 0, origin.x - shrink.x * tx / sx,
            0, shrink.y / magnify, origin.y - shrink.y * (half - magnify * cy) / magnify,
        ])
        self.mirrored = mirrored
        matchRadius = 0.3 * long * zoom * Double(scale)
    }

    /// Where the face's centre falls in the view, and how far a pass's face may be from
    /// it to count as the same face.
    var centre: Point { Point(x: Double(size) / 2, y: Double(size) / 2) }
    let matchRadius: Double

    /// The candidate closest to the view's centre, if close enough, with its points
    /// mapped back onto the photo (and, for a mirrored view, given back their sides).
    func landmarks(of candidates: [FaceCandidate]) -> FaceLandmarks? {
        guard let nearest = candidates.min(by: { $0.box.center.distance(to: centre) < $1.box.center.distance(to: centre) }),
            nearest.box.center.distance(to: centre) <= matchRadius
        else { return nil }
        let p = nearest.landmarks.points.map(inverse.apply)
        // In a mirror image the subject's right eye is the one on the other side.
        return FaceLandmarks(points: mirrored ? [p[1], p[0], p[2], p[4], p[3]] : p)
    }
}

/// One look at a face for its landmarks.
struct LandmarkPass: Sendable, Equatable {
    enum Network: Sendable { case yunet, retinaFace }
    var network: Network
    /// 1 or 2: the view at its size or twice it.
    var scale = 1
    var mirrored = false
    /// The view set in a zero border up to this size (0: none), which moves YuNet's
    /// points as much as any other change and so decorrelates its errors.
    var paddedSide = 0
}

/// Refines the landmarks of each face a detector found: the mean of several passes of
/// YuNet and RetinaFace over a view of the face. YuNet's points move 2–4 px with the
/// padding and scale of its input and lean to one side, which mirroring reverses;
/// RetinaFace errs differently. Equal weight goes to each network's mean.
public final class LandmarkEnsemble: Sendable {
    public let mode: AlignmentMode
    private let yunet: YuNetDetector
    private let retinaFace: RetinaFaceNetwork?
    private let passes: [LandmarkPass]
    /// A pass's face may score this low: the face is known to be there.
    private static let passThreshold = 0.3

    /// The passes of `mode`, on `yunet` and the RetinaFace network in `models`; nil for `.detector`.
    public convenience init?(
        mode: AlignmentMode, models: ModelDirectory, yunet: YuNetDetector, engine: InferenceEngine = .default
    ) throws(VisionError) {
        switch mode {
        case .detector:
            return nil
        case .mirrored:
            self.init(
                mode: mode, yunet: yunet, retinaFace: nil,
                passes: [LandmarkPass(network: .yunet, mirrored: true)])
        case .ensemble:
            try self.init(
                mode: mode, yunet: yunet,
                retinaFace: RetinaFaceNetwork(modelPath: models.landmarkPath, engine: engine),
                passes: [
                    LandmarkPass(network: .yunet, mirrored: true),
                    LandmarkPass(network: .yunet, scale: 2),
                    LandmarkPass(network: .yunet, scale: 2, mirrored: true),
                    LandmarkPass(network: .yunet, paddedSide: 640),
                    LandmarkPass(network: .yunet, mirrored: true, paddedSide: 640),
                    LandmarkPass(network: .retinaFace),
                    LandmarkPass(network: .retinaFace, mirrored: true),
                ])
        }
    }

    init(mode: AlignmentMode, yunet: YuNetDetector, retinaFace: RetinaFaceNetwork?, passes: [LandmarkPass]) {
        self.mode = mode
        self.yunet = yunet
        self.retinaFace = retinaFace
        self.passes = passes
    }

    /// The refined points of `face`: the detector's own count as one of YuNet's looks,
    /// and stand alone when no pass finds the face again.
    public func landmarks(of face: DetectedFace, in image: Image) throws(VisionError) -> FaceLandmarks {
        var yunetPoints = [face.landmarks]
        var retinaPoints: [FaceLandmarks] = []
        // Passes that differ only in padding or network share one view.
        var views: [Int: FaceView] = [:]
        for pass in passes {
            let key = 2 * pass.scale + (pass.mirrored ? 1 : 0)
            let view: FaceView
            if let made = views[key] {
                view = made
            } else {
                view = try FaceView(face: face.box, in: image, scale: pass.scale, mirrored: pass.mirrored)
                views[key] = view
            }
            let pixels = view.pixels
            switch pass.network {
            case .yunet:
                let found = try yunet.candidates(
                    in: pixels, threshold: Self.passThreshold, maxSide: view.size, paddedSide: pass.paddedSide)
                if let points = view.landmarks(of: found) { yunetPoints.append(points) }
            case .retinaFace:
                guard let retinaFace else { continue }
                let found = try retinaFace.candidates(in: pixels, threshold: Self.passThreshold)
                if let points = view.landmarks(of: found) { retinaPoints.append(points) }
            }
        }
        let groups = [yunetPoints, retinaPoints].filter { !$0.isEmpty }
        guard !groups.isEmpty else { return face.landmarks }
        return FaceLandmarks.mean(groups.map(FaceLandmarks.mean))
    }
}

extension FaceLandmarks {
    /// The point-by-point mean.
    static func mean(_ all: [FaceLandmarks]) -> FaceLandmarks {
        let n = Double(all.count)
        return FaceLandmarks(
            points: (0..<5).map { k in
                Point(x: all.map { $0.points[k].x }.reduce(0, +) / n, y: all.map { $0.points[k].y }.reduce(0, +) / n)
            })
    }
}

/// A detector whose faces' landmarks are refined by a landmark ensemble: the boxes,
/// scores and sharpness are the detector's, the points (and the pose measured from
/// them) the ensemble's.
public final class RefiningDetector: FaceDetector {
    public let base: any FaceDetector
    public let ensemble: LandmarkEnsemble
    public let qualityPolicy: QualityPolicy

    public init(base: any FaceDetector, ensemble: LandmarkEnsemble, qualityPolicy: QualityPolicy = .default) {
        self.base = base
        self.ensemble = ensemble
        self.qualityPolicy = qualityPolicy
    }

    public var modelID: String { base.modelID + "+" + ensemble.mode.rawValue }
    public var scoreThreshold: Double { base.scoreThreshold }

    public func detect(in image: Image, minimumScore: Double?) throws(VisionError) -> [DetectedFace] {
        try base.detect(in: image, minimumScore: minimumScore).map { face throws(VisionError) in try refine(face, in: image) }
    }

    /// `face`, as the base detector found it, with the ensemble's landmarks.
    public func refine(_ face: DetectedFace, in image: Image) throws(VisionError) -> DetectedFace {
        var refined = face
        refined.landmarks = try ensemble.landmarks(of: face, in: image)
        refined.quality = FaceQuality(
            landmarks: refined.landmarks, sharpness: face.quality.sharpness, detectorScore: face.score,
            policy: qualityPolicy)
        return refined
    }
}
