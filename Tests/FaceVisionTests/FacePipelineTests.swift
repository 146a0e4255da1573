import Foundation
import Index
import TestSupport
import Testing

@testable import FaceVision

@Suite struct FacePipelineTests {
    static let people = ["obama.jpg": "Obama", "obama2.jpg": "Obama", "obama3.jpg": "Obama", "biden.jpg": "Biden"]

    @Test func eachSamplePortraitHasOneFace() throws {
        for name in Self.people.keys {
            let image = try Image(contentsOf: Fixtures.sample(name))
            let faces = try Fixtures.pipeline.detect(in: image)
            #expect(faces.count == 1, "\(name)")
            let face = try #require(faces.first)
            #expect(face.score >= 0.87 && face.score <= 1)
            #expect(face.quality.interEyeDistance > 80, "\(name): portrait-sized face")
            // The landmarks lie inside the box, eyes above the mouth.
            for point in face.landmarks.points {
                #expect(face.box.expanded(by: 0.1).intersectionOverUnion(Box(x: point.x, y: point.y, width: 1, height: 1)) > 0)
            }
            #expect(face.landmarks.rightEye.y < face.landmarks.rightMouthCorner.y)
        }
    }

    @Test func templatesAreUnitLength128AndTagged() throws {
        let template = try Fixtures.template(Fixtures.sample("obama.jpg"))
        #expect(template.dimension == 128)
        #expect(template.modelID == "sface-2021dec+flip")
        #expect(abs(template.vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
    }

    /// Every same-person pair of the sample photos scores above every different-person pair.
    @Test func samePersonScoresAboveDifferentPeople() throws {
        let names = Self.people.keys.sorted()
        let templates = try names.map { try Fixtures.template(Fixtures.sample($0)) }
        var same: [Float] = [], different: [Float] = []
        for i in names.indices {
            for j in names.indices where j > i {
                let score = templates[i].similarity(to: templates[j])
                if Self.people[names[i]] == Self.people[names[j]] { same.append(score) } else { different.append(score) }
            }
        }
        #expect(same.count == 3 && different.count == 3)
        #expect(same.min()! > different.max()!)
        #expect(same.min()! > 0.4 && different.max()! < 0.3)
    }

    @Test func flipAugmentationChangesTheModelID() throws {
        let plain = try FacePipeline(models: Fixtures.models, flipAugmentation: false)
        let flipped = try Fixtures.template(Fixtures.sample("obama.jpg"))
        let unflipped = try Fixtures.template(Fixtures.sample("obama.jpg"), pipeline: plain)
        #expect(unflipped.modelID == "sface-2021dec")
        #expect(flipped.modelID != unflipped.modelID)
        // Same face, nearly the same direction: the mirror adds information, not noise.
        #expect(dot(flipped.vector, unflipped.vector) > 0.9)
    }

    /// A face rotated in the image plane still gives the same template, and roll follows the tilt.
    @Test func rotationIsMeasuredAndAlignedAway() throws {
        let image = try Image(contentsOf: Fixtures.sample("obama.jpg"))
        let angle = 20.0 * .pi / 180, c = Point(x: Double(image.width) / 2, y: Double(image.height) / 2)
        let rotation = AffineTransform(matrix: [
            cos(angle), -sin(angle), c.x - cos(angle) * c.x + sin(angle) * c.y,
            sin(angle), cos(angle), c.y - sin(angle) * c.x - cos(angle) * c.y,
        ])
        let rotated = try image.warped(by: rotation, width: image.width, height: image.height)
        let upright = try Fixtures.pipeline.embed(in: image, faces: Fixtures.pipeline.detect(in: image))
        let tilted = try Fixtures.pipeline.embed(in: rotated, faces: Fixtures.pipeline.detect(in: rotated))
        // YuNet's landmarks lean towards upright: a 20° turn measures about 14°.
        let measured = tilted.face.quality.roll - upright.face.quality.roll
        #expect(measured > 10 && measured < 25, "measured roll change \(measured)°")
        #expect(upright.template.similarity(to: tilted.template) > 0.8)
    }

    /// A tiny probe still gives a template, with warnings instead of an error.
    @Test func poorQualityIsAWarningNotAnError() throws {
        let image = try Image(contentsOf: Fixtures.sample("obama.jpg")).resized(width: 120, height: 150)
        let faces = try Fixtures.pipeline.detectProbe(in: image)
        let face = try #require(faces.first)
        #expect(face.quality.warnings.contains(.smallFace))
        let template = try Fixtures.pipeline.embed(in: image, faces: faces).template
        #expect(template.similarity(to: try Fixtures.template(Fixtures.sample("obama.jpg"))) > 0.3)
    }

    @Test func yawChangesSignInTheMirrorImage() throws {
        let image = try Image(contentsOf: Fixtures.sample("obama2.jpg"))
        let mirror = try image.warped(
            by: AffineTransform(matrix: [-1, 0, Double(image.width - 1), 0, 1, 0]),
            width: image.width, height: image.height)
        let yaw = try #require(Fixtures.pipeline.detect(in: image).first).quality.yaw
        let mirroredYaw = try #require(Fixtures.pipeline.detect(in: mirror).first).quality.yaw
        #expect(abs(yaw) > 10, "obama2.jpg is a three-quarter view")
        #expect(abs(yaw + mirroredYaw) < 5)
    }

    @Test func asksForAFaceThatIsNotThere() throws {
        let image = try Image(contentsOf: Fixtures.sample("obama.jpg"))
        let faces = try Fixtures.pipeline.detect(in: image)
        #expect(throws: VisionError.noSuchFaceInPhoto(number: 2, count: 1)) {
            try Fixtures.pipeline.embed(in: image, faces: faces, number: 2)
        }
        #expect(throws: VisionError.noSuchFaceInPhoto(number: 0, count: 1), "faces are numbered from 1") {
            try Fixtures.pipeline.embed(in: image, faces: faces, number: 0)
        }
        #expect(throws: VisionError.noFace) { try Fixtures.pipeline.embed(in: image, faces: []) }
    }

    @Test func missingModelSaysHowToGetIt() {
        do {
            _ = try YuNetDetector(modelPath: "/nonexistent/yunet.onnx")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("scripts/setup.sh"))
        }
    }
}

@Suite(.enabled(if: TestEnvironment.runs(whenAvailable: Fixtures.hasShared), Fixtures.sharedMissing))
struct DetectionSetTests {
    @Test func dogsAreNotFaces() throws {
        let image = try Image(contentsOf: Fixtures.shared + "/detection/dogs.jpg")
        #expect(try Fixtures.pipeline.detect(in: image).isEmpty)
    }

    /// The hand-drawn boxes of the detection test set: at least 90 % found with IoU ≥ 0.5.
    @Test func annotatedFacesAreFound() throws {
        let xml = try String(contentsOfFile: Fixtures.shared + "/detection/testing.xml", encoding: .isoLatin1)
        var found = 0, total = 0
        for block in xml.components(separatedBy: "<image file='").dropFirst() {
            let file = String(block.prefix { $0 != "'" })
            let image = try Image(contentsOf: Fixtures.shared + "/detection/" + file)
            let faces = try Fixtures.pipeline.detect(in: image)
            for box in block.components(separatedBy: "<box ").dropFirst() {
                func value(_ key: String) -> Double {
                    let start = box.range(of: key + "='")!.upperBound
                    return Double(box[start...].prefix { $0 != "'" })!
                }
                let truth = Box(x: value("left"), y: value("top"), width: value("width"), height: value("height"))
                total += 1
                if faces.contains(where: { $0.box.intersectionOverUnion(truth) >= 0.5 }) { found += 1 }
            }
        }
        #expect(total == 25)
        #expect(Double(found) / Double(total) >= 0.9, "found \(found) of \(total)")
    }

    @Test func crowdPhotoFindsEveryone() throws {
        let image = try Image(contentsOf: Fixtures.shared + "/detection/bald_guys.jpg")
        #expect(try Fixtures.pipeline.detect(in: image).count >= 20)
    }
}
