import Foundation
import Testing

@testable import FaceVision

@Suite struct GeometryTests {
    @Test func similarityRecoversAKnownTransform() {
        let angle = 0.3, scale = 1.7
        let known = AffineTransform(matrix: [scale * cos(angle), -scale * sin(angle), 12, scale * sin(angle), scale * cos(angle), -5])
        let source = FaceAlignment.reference112
        let fitted = AffineTransform.similarity(from: source, to: source.map(known.apply))
        for (a, b) in zip(fitted.matrix, known.matrix) { #expect(abs(a - b) < 1e-9) }
    }

    @Test func intersectionOverUnion() {
        let a = Box(x: 0, y: 0, width: 10, height: 10)
        #expect(a.intersectionOverUnion(a) == 1)
        #expect(a.intersectionOverUnion(Box(x: 5, y: 0, width: 10, height: 10)) == 50.0 / 150.0)
        #expect(a.intersectionOverUnion(Box(x: 20, y: 20, width: 5, height: 5)) == 0)
    }

    @Test func suppressionKeepsTheBestOfEachCluster() {
        let boxes = [Box(x: 0, y: 0, width: 10, height: 10), Box(x: 1, y: 1, width: 10, height: 10), Box(x: 50, y: 50, width: 10, height: 10)]
        #expect(nonMaximumSuppression(boxes: boxes, scores: [0.8, 0.9, 0.7], threshold: 0.3, limit: 10) == [1, 2])
        #expect(nonMaximumSuppression(boxes: boxes, scores: [0.8, 0.9, 0.7], threshold: 0.3, limit: 1) == [1])
    }

    @Test func detectorInputFitsThePhoto() {
        let lfw = InputGeometry(imageWidth: 250, imageHeight: 250, maxSide: 640)
        #expect((lfw.width, lfw.height, lfw.scaleX) == (256, 256, 1))
        let big = InputGeometry(imageWidth: 4000, imageHeight: 3000, maxSide: 640)
        #expect((big.width, big.height, big.scaledWidth, big.scaledHeight) == (640, 480, 640, 480))
    }

    @Test func mostProminentPrefersLargeAndCentral() {
        func face(_ x: Double, _ size: Double) -> DetectedFace {
            let p = Point(x: x, y: 0)
            return DetectedFace(
                box: Box(x: x, y: 450, width: size, height: size),
                landmarks: FaceLandmarks(rightEye: p, leftEye: p, noseTip: p, rightMouthCorner: p, leftMouthCorner: p),
                score: 0.9, quality: FaceQuality(interEyeDistance: 0, sharpness: 0, yaw: 0, roll: 0, warnings: []))
        }
        let faces = [face(0, 100), face(450, 95), face(800, 60)]
        #expect(faces.mostProminentIndex(imageWidth: 1000, imageHeight: 1000) == 1)
    }
}

@Suite struct CalibrationTests {
    let calibration = ScoreCalibration.bundled(for: "sface-2021dec+flip")

    /// Every alignment's templates have their own bands, so a gallery of any can be governed.
    @Test(arguments: AlignmentMode.allCases) func shippedCalibrationIsConsistent(alignment: AlignmentMode) throws {
        let modelID = SFaceEmbedder.modelID(flipAugmentation: true, alignment: alignment)
        let calibration = try #require(ScoreCalibration.bundled(for: modelID), "no calibration ships for \(modelID)")
        #expect(calibration.modelID == modelID)
        #expect(calibration.impostor.count > 10_000_000, "all cross-person pairs of the LFW development photos")
        #expect(calibration.genuine.count > 3_000)
        let points = calibration.operatingPoints
        #expect(points.map(\.falseMatchRate) == [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6])
        for (a, b) in zip(points, points.dropFirst()) {
            #expect(a.threshold < b.threshold)
            #expect(a.falseNonMatchRate <= b.falseNonMatchRate)
        }
    }

    @Test func thresholdsAndRatesAreInverse() throws {
        let calibration = try #require(calibration)
        for rate in [3e-2, 1e-3, 2e-5] {
            let back = calibration.falseMatchRate(atScore: calibration.threshold(atFalseMatchRate: rate))
            #expect(abs(log10(back) - log10(rate)) < 0.01)
        }
        // Beyond the measured range the threshold keeps rising.
        #expect(calibration.threshold(atFalseMatchRate: 1e-8) > calibration.threshold(atFalseMatchRate: 1e-6))
    }

    /// The same score means less in a bigger gallery: more chances for a stranger to score as high.
    @Test func bandsAccountForGallerySize() throws {
        let calibration = try #require(calibration)
        let score = calibration.threshold(atFalseMatchRate: 1e-6)
        #expect(calibration.band(forScore: score, comparisons: 1) == .strong)
        #expect(calibration.band(forScore: score, comparisons: 1_000) == .possible)
        #expect(calibration.band(forScore: score, comparisons: 10_000_000) == .belowThreshold)
        #expect(calibration.band(forScore: -0.2) == .belowThreshold)
    }
}
