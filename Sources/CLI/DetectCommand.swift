import ArgumentParser
import Console
import FaceVision

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find every face in photos: box, five landmarks, detector score and quality."
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @OptionGroup var outputOptions: OutputOptions

    @Argument(help: "Photos (JPEG, PNG, WebP, BMP or TIFF).")
    var images: [String]

    struct Report: Encodable {
        var path: String
        var width: Int?
        var height: Int?
        var faces: [DetectedFace]?
        var error: String?
    }

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one photo") }
    }

    func run() throws {
        let pipeline = try pipelineOptions.pipeline()
        var reports: [Report] = []
        for path in images {
            do {
                let image = try pipeline.loadImage(path)
                let faces = try pipeline.detect(in: image)
                reports.append(Report(path: path, width: image.width, height: image.height, faces: faces))
            } catch {
                reports.append(Report(path: path, error: String(describing: error)))
            }
        }
        if outputOptions.json {
            try printJSON(["images": reports])
        } else {
            for report in reports { printText(report) }
        }
        let failures = reports.count { $0.error != nil }
        if failures > 0 {
            if !outputOptions.json { printError("\(failures) of \(reports.count) photos could not be read") }
            throw ExitCode.failure
        }
    }

    private func printText(_ report: Report) {
        guard let faces = report.faces, let width = report.width, let height = report.height else {
            printError("\(report.path): \(report.error ?? "unknown error")")
            return
        }
        print("\(report.path) (\(width)×\(height)): \(faces.count) face\(faces.count == 1 ? "" : "s")")
        for (index, face) in faces.enumerated() {
            let b = face.box, q = face.quality
            print(
                "  [\(index + 1)] box \(Int(b.x)),\(Int(b.y)) \(Int(b.width))×\(Int(b.height))  score \(format(face.score, 3))"
                    + "  eyes \(format(q.interEyeDistance, 1))px  sharpness \(format(q.sharpness, 0))"
                    + "  yaw \(format(q.yaw, 0))°  roll \(format(q.roll, 0))°")
            for warning in q.warnings { print("      warning: \(warning.explanation)") }
        }
    }
}
