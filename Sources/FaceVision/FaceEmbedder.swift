/// Turns a detected face into a template. Swappable: SFace is the licence-clean
/// default; any embedder names its model so templates never mix across models.
public protocol FaceEmbedder: Sendable {
    /// Identifies the model and every setting that changes its templates.
    var modelID: String { get }
    var dimension: Int { get }
    /// The face cut out and aligned the way the model was trained to see it.
    func alignedFace(_ face: DetectedFace, in image: Image) throws(VisionError) -> Image
    /// The template of a face already cut out by `alignedFace(_:in:)`.
    func embed(alignedFace: Image) throws(VisionError) -> FaceTemplate
}

extension FaceEmbedder {
    /// The template of `face` in `image`: align, then embed.
    public func embed(_ face: DetectedFace, in image: Image) throws(VisionError) -> FaceTemplate {
        try embed(alignedFace: alignedFace(face, in: image))
    }
}

/// The five-point similarity alignment used by ArcFace-family models, SFace included.
public enum FaceAlignment {
    /// Where the eyes, nose tip and mouth corners sit in a 112×112 aligned face
    /// (the InsightFace reference template).
    public static let reference112: [Point] = [
        Point(x: 38.2946, y: 51.6963), Point(x: 73.5318, y: 51.5014), Point(x: 56.0252, y: 71.7366),
        Point(x: 41.5493, y: 92.3655), Point(x: 70.7299, y: 92.2041),
    ]

    /// The transform taking the photo's landmarks onto the reference template.
    public static func transform(for landmarks: FaceLandmarks) -> AffineTransform {
        AffineTransform.similarity(from: landmarks.points, to: reference112)
    }

    /// The face warped onto the 112×112 reference template.
    public static func aligned112(_ landmarks: FaceLandmarks, in image: Image) throws(VisionError) -> Image {
        try image.warped(by: transform(for: landmarks), width: 112, height: 112)
    }
}
