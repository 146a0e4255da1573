/// Photo in, faces and templates out: decode → detect → align → embed.
///
/// One pipeline serves one thread at a time per network (calls are serialised);
/// parallel work makes one pipeline per worker.
public final class FacePipeline: Sendable {
    public let detector: any FaceDetector
    public let embedder: any FaceEmbedder
    public let limits: ImageLimits

    public init(detector: any FaceDetector, embedder: any FaceEmbedder, limits: ImageLimits = .default) {
        self.detector = detector
        self.embedder = embedder
        self.limits = limits
    }

    /// The default pipeline: YuNet and SFace from `models`, run by `engine`, the faces
    /// aligned on the landmarks `alignment` finds (by default `AlignmentMode.ingestDefault`).
    public convenience init(
        models: ModelDirectory, flipAugmentation: Bool = true, alignment: AlignmentMode = .ingestDefault,
        detector configuration: YuNetDetector.Configuration = .init(),
        limits: ImageLimits = .default, engine: InferenceEngine = .default
    ) throws(VisionError) {
        let yunet = try YuNetDetector(modelPath: models.detectorPath, configuration: configuration, engine: engine)
        let detector: any FaceDetector =
            try LandmarkEnsemble(mode: alignment, models: models, yunet: yunet, engine: engine).map {
                RefiningDetector(base: yunet, ensemble: $0, qualityPolicy: configuration.qualityPolicy)
            } ?? yunet
        self.init(
            detector: detector,
            embedder: try SFaceEmbedder(
                modelPath: models.embedderPath, flipAugmentation: flipAugmentation, alignment: alignment, engine: engine),
            limits: limits)
    }

    public var modelID: String { embedder.modelID }

    public func loadImage(_ path: String) throws(ImageError) -> Image {
        try Image(contentsOf: path, limits: limits)
    }

    /// Below this a candidate is not used even for a probe.
    public static let probeFloor = 0.6

    /// The faces in a photo, at the detector's threshold: what a gallery takes in.
    public func detect(in image: Image) throws(VisionError) -> [DetectedFace] {
        try detector.detect(in: image)
    }

    /// The faces of a photo known to show a person (a search probe, a comparison, an
    /// evaluation photo): the faces at the detector's threshold or, when there are
    /// none, the candidates down to `probeFloor`, which carry the uncertain-detection
    /// warning. Recall matters more here than refusing a face-like object: the user
    /// vouches that a face is there, and a reviewer sees the warning.
    public func detectProbe(in image: Image) throws(VisionError) -> [DetectedFace] {
        let faces = try detector.detect(in: image)
        guard faces.isEmpty, Self.probeFloor < detector.scoreThreshold else { return faces }
        return try detector.detect(in: image, minimumScore: Self.probeFloor)
    }

    /// The faces at `boxes` (stored faces' boxes) found again in the picture they were
    /// found in: each box matched to the detector's candidate (down to `probeFloor`)
    /// overlapping it most, if by at least `matchOverlap`, whose landmarks are then
    /// found as this pipeline aligns faces. Nil for a box no candidate matches. The
    /// boxes come from the same detector, so a face is found again where it was.
    public func findAgain(_ boxes: [Box], in image: Image) throws(VisionError) -> [DetectedFace?] {
        let refining = detector as? RefiningDetector
        let base = refining?.base ?? detector
        let candidates = try base.detect(in: image, minimumScore: min(Self.probeFloor, base.scoreThreshold))
        return try boxes.map { box throws(VisionError) -> DetectedFace? in
            guard let best = candidates.max(by: { $0.box.intersectionOverUnion(box) < $1.box.intersectionOverUnion(box) }),
                best.box.intersectionOverUnion(box) >= Self.matchOverlap
            else { return nil }
            return try refining?.refine(best, in: image) ?? best
        }
    }

    /// How much a candidate's box must overlap a stored box to be the same face.
    public static let matchOverlap = 0.7

    /// The template of face `number` (numbered from 1 in the order `detect` lists them;
    /// default: the most prominent face) with the face itself.
    public func embed(in image: Image, faces: [DetectedFace], number: Int? = nil) throws(VisionError) -> (face: DetectedFace, template: FaceTemplate)
    {
        guard !faces.isEmpty else { throw .noFace }
        let chosen: Int
        if let number {
            guard (1...faces.count).contains(number) else { throw .noSuchFaceInPhoto(number: number, count: faces.count) }
            chosen = number - 1
        } else {
            chosen = faces.mostProminentIndex(imageWidth: image.width, imageHeight: image.height)!
        }
        return (faces[chosen], try embedder.embed(faces[chosen], in: image))
    }
}
