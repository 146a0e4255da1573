import ArgumentParser
import Foundation
import Gallery
import Vision

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the gallery with a photo: ranked candidates for human review, with where each came from.",
        discussion: """
            Each candidate has a score and a confidence band that accounts for the gallery size \
            (a bigger gallery gives a stranger more chances to score high). Candidates are leads \
            for a reviewer, never an identification.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var galleryOptions: GalleryOptions

    @Option(help: "How many candidates.")
    var top = 10

    @Option(help: "Leave out candidates scoring below this.")
    var minScore: Float?

    @Option(help: "Which face of the photo, numbered as 'lineup detect' lists them (default: the most prominent).")
    var face: Int?

    @Option(help: "Write each candidate's face, cut from its original, as JPEG into this folder.")
    var crops: String?

    @Option(help: "Calibration file (default: the one Lineup ships for the model).")
    var calibration: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "The probe photo.")
    var photo: String

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let gallery = try galleryOptions.open(pipelineOptions)
        let pipeline = try pipelineOptions.pipeline()
        // A calibration file given by the user must load; without one, a model Lineup
        // ships no calibration for is searched without bands.
        let scoreCalibration = try calibration.map { try loadCalibration(path: $0, modelID: pipeline.modelID) }
            ?? ScoreCalibration.bundled(for: pipeline.modelID)
        let probe = try pipeline.loadImage(photo)
        let result = try gallery.search(image: probe, pipeline: pipeline, faceIndex: face, top: top, minScore: minScore,
                                        calibration: scoreCalibration)
        if let crops {
            try FileManager.default.createDirectory(atPath: crops, withIntermediateDirectories: true)
            for candidate in result.candidates {
                guard let crop = try gallery.reviewCrop(of: candidate, limits: pipelineOptions.limits) else { continue }
                try Data(crop.jpegData()).write(to: URL(fileURLWithPath: crops + "/candidate-\(candidate.rank)-face-\(candidate.faceID).jpg"))
            }
        }
        if json {
            try printJSON(result)
            return
        }
        print("\(result.candidates.count) candidates for human review from \(result.galleryFaces) faces (\(result.modelID))")
        for warning in result.warnings { print("warning: \(warning)") }
        for c in result.candidates {
            let video = c.frameSeconds.map { " at \(format($0, 1)) s" } ?? ""
            let captured = c.capturedAt.map { "  captured \(ISO8601DateFormatter().string(from: $0))" } ?? ""
            print("\(String(c.rank).leftPad(3)). \(format(Double(c.score), 4))  \((c.band?.rawValue ?? "uncalibrated").padding(toLength: 15, withPad: " ", startingAt: 0))"
                  + "\(c.source): \(c.originURI)\(video)  [\(c.jurisdiction), \(c.legalBasis.rawValue)]\(captured)")
        }
        if scoreCalibration == nil { print("no calibration for \(result.modelID): bands are not shown") }
    }
}
