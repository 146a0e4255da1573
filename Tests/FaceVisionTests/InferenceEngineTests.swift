import Foundation
import Index
import TestSupport
import Testing

@testable import FaceVision

/// The two engines that run the networks give the same faces and templates, whatever
/// shapes the networks see, so a gallery's templates do not depend on which made them.
@Suite
struct InferenceEngineTests {
    static let openVINO = try! FacePipeline(models: Fixtures.models, alignment: .ensemble, engine: .openVINO)
    static let openCV = try! FacePipeline(models: Fixtures.models, alignment: .ensemble, engine: .openCV)

    @Test func openVINOStartsAndIsTheDefault() {
        #expect(OpenVINO.version.hasPrefix("2026.4.1"))
        if ProcessInfo.processInfo.environment["LINEUP_ENGINE"] == nil { #expect(InferenceEngine.default == .openVINO) }
    }

    /// Every face of the sample photos, through the ensemble (each network, several
    /// input shapes): the same boxes and points to a tenth of a pixel, the same templates.
    @Test func enginesAgreeOnFacesAndTemplates() throws {
        for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
            let image = try Image(contentsOf: Fixtures.sample(name))
            let ours = try Self.openVINO.detect(in: image), theirs = try Self.openCV.detect(in: image)
            #expect(ours.count == theirs.count, "\(name): \(ours.count) faces against \(theirs.count)")
            for (a, b) in zip(ours, theirs) {
                let moved = zip(a.landmarks.points, b.landmarks.points).map { $0.distance(to: $1) }.max() ?? 0
                #expect(moved < 0.1, "\(name): a landmark moved \(moved) px between engines")
                #expect(abs(a.score - b.score) < 1e-3)
            }
            let templates = try [Self.openVINO, Self.openCV].map { pipeline in
                try pipeline.embed(in: image, faces: pipeline.detectProbe(in: image)).template
            }
            let agreement = dot(templates[0].vector, templates[1].vector)
            #expect(agreement > 0.9999, "\(name): templates agree to \(agreement)")
            #expect(templates[0].modelID == templates[1].modelID)
        }
    }

    /// More photo sizes than a network keeps compilations for: the ones past them run on
    /// the compilation for any shape, and find what OpenCV finds.
    @Test func manyInputShapesGiveTheSameDetections() throws {
        let photo = try Image(contentsOf: Fixtures.sample("obama.jpg"))
        let detector = try YuNetDetector(modelPath: Fixtures.models.detectorPath, engine: .openVINO)
        let reference = try YuNetDetector(modelPath: Fixtures.models.detectorPath, engine: .openCV)
        for round in 0..<2 {
            for width in stride(from: 200, through: 520, by: 40) {
                let image = try photo.resized(width: width, height: width * photo.height / photo.width)
                let ours = try detector.detect(in: image), theirs = try reference.detect(in: image)
                #expect(ours.count == theirs.count, "width \(width), round \(round)")
                if let a = ours.first, let b = theirs.first {
                    #expect(a.box.center.distance(to: b.box.center) < 0.1, "width \(width), round \(round)")
                }
            }
        }
    }

    @Test func aFileThatIsNotAModelIsRefusedClearly() throws {
        let path = try Fixtures.temporaryFile("not-a-model.onnx", Array("not an ONNX graph".utf8))
        #expect {
            _ = try SFaceEmbedder(modelPath: path, engine: .openVINO)
        } throws: { error in
            guard case VisionError.modelLoadFailed(let failed, let reason) = error else { return false }
            return failed == path && reason.contains("OpenVINO")
        }
    }
}
