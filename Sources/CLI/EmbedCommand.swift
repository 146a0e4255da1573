import ArgumentParser
import Console
import FaceVision
import Foundation

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Compute the face template of the most prominent face in a photo (or of face --face N)."
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Which face, numbered as 'lineup detect' lists them (default: the most prominent).")
    var face: Int?

    @Option(help: "Also write the aligned 112×112 face the template was computed from (PNG or JPEG by extension).")
    var alignedOut: String?

    @OptionGroup var outputOptions: OutputOptions

    @Argument(help: "A photo.")
    var image: String

    struct Report: Encodable {
        var path: String
        var model: String
        var facesInImage: Int
        var face: DetectedFace
        var template: [Float]
    }

    func run() throws {
        let pipeline = try pipelineOptions.pipeline()
        let photo = try pipeline.loadImage(image)
        let faces = try pipeline.detectProbe(in: photo)
        let (chosen, template) = try pipeline.embed(in: photo, faces: faces, number: face)
        if let alignedOut {
            let aligned = try pipeline.embedder.alignedFace(chosen, in: photo)
            let bytes = alignedOut.lowercased().hasSuffix(".png") ? try aligned.encoded(as: .png) : try aligned.jpegData()
            try Data(bytes).write(to: URL(fileURLWithPath: alignedOut))
        }
        let report = Report(path: image, model: template.modelID, facesInImage: faces.count, face: chosen, template: template.vector)
        if outputOptions.json {
            try printJSON(report)
            return
        }
        print(
            "\(image): face at \(Int(chosen.box.x)),\(Int(chosen.box.y)) of \(faces.count); model \(template.modelID), \(template.dimension) values")
        for warning in chosen.quality.warnings { print("warning: \(warning.explanation)") }
        print(template.vector.map { format(Double($0), 5) }.joined(separator: " "))
    }
}
