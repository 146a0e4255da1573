/// The five facial landmarks a detector reports, as seen in the image: `rightEye` is
/// the subject's right eye, which appears on the left of the photo.
public struct FaceLandmarks: Sendable, Equatable, Codable {
    public var rightEye: Point
    public var leftEye: Point
    public var noseTip: Point
    public var rightMouthCorner: Point
    public var leftMouthCorner: Point

    public init(rightEye: Point, leftEye: Point, noseTip: Point, rightMouthCorner: Point, leftMouthCorner: Point) {
        self.rightEye = rightEye
        self.leftEye = leftEye
        self.noseTip = noseTip
        self.rightMouthCorner = rightMouthCorner
        self.leftMouthCorner = leftMouthCorner
    }

    /// In the order of the five-point alignment template.
    public var points: [Point] { [rightEye, leftEye, noseTip, rightMouthCorner, leftMouthCorner] }

    init(points p: [Point]) {
        self.init(rightEye: p[0], leftEye: p[1], noseTip: p[2], rightMouthCorner: p[3], leftMouthCorner: p[4])
    }
}

/// One face found in a photo: where it is, how sure the detector is, and how usable it is.
public struct DetectedFace: Sendable, Equatable, Codable {
    public var box: Box
    public var landmarks: FaceLandmarks
    /// The detector's confidence, 0...1.
    public var score: Double
    public var quality: FaceQuality

    public init(box: Box, landmarks: FaceLandmarks, score: Double, quality: FaceQuality) {
        self.box = box
        self.landmarks = landmarks
        self.score = score
        self.quality = quality
    }
}

extension [DetectedFace] {
    /// The index of the face a person most likely means in a photo: large and central.
    ///
    /// Prominence is the box area weighted down by the distance of the box centre from
    /// the image centre (down to half weight at a corner), so a large face near the
    /// middle wins over a slightly larger one at the edge.
    public func mostProminentIndex(imageWidth: Int, imageHeight: Int) -> Int? {
        let center = Point(x: Double(imageWidth) / 2, y: Double(imageHeight) / 2)
        let halfDiagonal = Swift.max(1, center.distance(to: Point(x: 0, y: 0)))
        func prominence(_ face: DetectedFace) -> Double {
            face.box.area * (1 - 0.5 * Swift.min(1, face.box.center.distance(to: center) / halfDiagonal))
        }
        return indices.max { prominence(self[$0]) < prominence(self[$1]) }
    }
}
