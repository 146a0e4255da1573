import Foundation
import Index
import TestSupport
import Testing

@testable import FaceVision

/// The landmark ensemble on real photos: its points hold still where one YuNet pass's
/// move, and its templates never meet another alignment's.
@Suite(.enabled(if: TestEnvironment.runs(whenAvailable: Fixtures.hasShared), Fixtures.sharedMissing))
struct LandmarkEnsembleTests {
    static let ensemble = try! FacePipeline(models: Fixtures.models, alignment: .ensemble)
    static let detector = try! FacePipeline(models: Fixtures.models, alignment: .detector)

    /// Every 150th LFW development photo: 34 people, none chosen by hand.
    static let photos: [String] = {
        let root = Fixtures.shared + "/lfw-dev/images"
        let all = MediaFiles.list(under: URL(fileURLWithPath: root)).filter(MediaFiles.isPhoto).sorted()
        return stride(from: 0, to: all.count, by: 150).map { all[$0] }
    }()

    /// How far the points of the most prominent face move, as a fraction of its eye
    /// distance, when the photo is mirrored (points mirrored back) and when it is set in
    /// a border of a different size (points moved back): the mean over both changes.
    static func displacement(_ pipeline: FacePipeline, _ path: String) throws -> Double? {
        let image = try Image(contentsOf: path)
        guard let original = try prominent(pipeline, image) else { return nil }
        let width = Double(image.width)
        let mirror = try image.warped(by: AffineTransform(matrix: [-1, 0, width - 1, 0, 1, 0]), width: image.width, height: image.height)
        let border = 37.0
        let padded = try image.warped(
            by: AffineTransform(matrix: [1, 0, border, 0, 1, border]), width: image.width + 75, height: image.height + 75)
        guard let mirrored = try prominent(pipeline, mirror), let shifted = try prominent(pipeline, padded) else { return nil }
        let m = mirrored.points.map { Point(x: width - 1 - $0.x, y: $0.y) }
        let mirroredBack = [m[1], m[0], m[2], m[4], m[3]]
        let shiftedBack = shifted.points.map { Point(x: $0.x - border, y: $0.y - border) }
        let eyes = original.rightEye.distance(to: original.leftEye)
        func moved(_ other: [Point]) -> Double {
            zip(original.points, other).map { $0.distance(to: $1) }.reduce(0, +) / 5 / eyes
        }
        return (moved(mirroredBack) + moved(shiftedBack)) / 2
    }

    static func prominent(_ pipeline: FacePipeline, _ image: Image) throws -> FaceLandmarks? {
        let faces = try pipeline.detectProbe(in: image)
        return faces.mostProminentIndex(imageWidth: image.width, imageHeight: image.height).map { faces[$0].landmarks }
    }

    @Test func theEnsemblesPointsMoveLessThanOnePassesWhenThePhotoIsMirroredOrPadded() throws {
        var single: [Double] = [], refined: [Double] = []
        for path in Self.photos {
            guard let a = try Self.displacement(Self.detector, path), let b = try Self.displacement(Self.ensemble, path) else { continue }
            single.append(a)
            refined.append(b)
        }
        #expect(single.count >= 30)
        let one = single.reduce(0, +) / Double(single.count), mean = refined.reduce(0, +) / Double(refined.count)
        print("landmark displacement over \(single.count) photos, fraction of the eye distance: one pass \(one), ensemble \(mean)")
        #expect(mean < one * 0.75, "ensemble \(mean) against one pass \(one)")
    }

    @Test func alignmentIsPartOfTheModelID() throws {
        let path = Self.photos[0]
        let refined = try Fixtures.template(path, pipeline: Self.ensemble)
        let single = try Fixtures.template(path, pipeline: Self.detector)
        #expect(single.modelID == "sface-2021dec+flip")
        #expect(refined.modelID == "sface-2021dec+flip+ensemble")
        #expect(AlignmentMode.split(templateModelID: refined.modelID) == ("sface-2021dec+flip", .ensemble))
        #expect(AlignmentMode.split(templateModelID: single.modelID) == ("sface-2021dec+flip", .detector))
        // The same face either way, but not the same template.
        let score = dot(refined.vector, single.vector)
        #expect(score > 0.8 && score < 0.9999)
    }

    @Test func aFaceViewMapsItsPointsBackOntoThePhoto() throws {
        let image = try Image(contentsOf: Self.photos[1])
        let face = try #require(Self.detector.detect(in: image).first)
        // Small, native and large faces; plain, mirrored and doubled views.
        for box in [face.box, Box(x: 20, y: 30, width: 30, height: 40), Box(x: 0, y: 0, width: 250, height: 250)] {
            for (scale, mirrored) in [(1, false), (1, true), (2, false)] {
                let view = try FaceView(face: box, in: image, scale: scale, mirrored: mirrored)
                // Within a pixel of the image the view was cut from (the centre is put on a
                // whole pixel and a mirror turns about pixel centres); a reduced view's
                // pixels are larger.
                let back = view.inverse.apply(view.centre)
                let pixel = max(1, max(box.width, box.height) / FaceView.nativeRange.upperBound)
                #expect(back.distance(to: box.center) <= 1.5 * pixel, "\(box) \(scale) \(mirrored): \(back)")
            }
        }
    }
}
