import ArgumentParser
import Console
import FaceVision

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare the most prominent faces of two photos: cosine score, confidence band and verdict.",
        discussion: """
            The verdict uses the calibrated threshold at the chosen false-match rate: the share of \
            pairs of different people that would score as high. It is a one-to-one verification \
            aid for a human reviewer, not an identification. Its band is the one-to-one band: one \
            comparison gives a stranger one chance, where a search of a gallery gives as many as it \
            has faces, so the same score earns a weaker band in a search.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "False-match rate of the verdict threshold.")
    var fmr = 1e-3

    @Option(help: "Calibration file (default: the one Lineup ships for the model).")
    var calibration: String?

    @OptionGroup var outputOptions: OutputOptions

    @Argument(help: "First photo.")
    var first: String

    @Argument(help: "Second photo.")
    var second: String

    struct Report: Encodable {
        var model: String
        var score: Float
        var threshold: Float
        var falseMatchRate: Double
        var band: ConfidenceBand
        /// The rule the band applies: one comparison.
        var bandRule: String
        /// Every band with its scores in one comparison.
        var bands: [BandRule]
        var samePerson: Bool
        var verdict: String
        var warnings: [String]
    }

    func validate() throws {
        guard fmr > 0, fmr < 1 else { throw ValidationError("--fmr must be between 0 and 1 (exclusive)") }
    }

    func run() throws {
        let pipeline = try pipelineOptions.pipeline()
        let scoreCalibration = try loadCalibration(path: calibration, modelID: pipeline.modelID)
        var warnings: [String] = []
        var templates: [FaceTemplate] = []
        for path in [first, second] {
            let image = try pipeline.loadImage(path)
            let faces = try pipeline.detectProbe(in: image)
            guard !faces.isEmpty else { throw ValidationError("no face was found in \(path)") }
            let (face, template) = try pipeline.embed(in: image, faces: faces)
            if faces.count > 1 { warnings.append("\(path): \(faces.count) faces; compared the most prominent") }
            warnings += face.quality.warnings.map { "\(path): \($0.explanation)" }
            templates.append(template)
        }
        let score = templates[0].similarity(to: templates[1])
        let threshold = scoreCalibration.threshold(atFalseMatchRate: fmr)
        let same = score >= threshold
        let report = Report(
            model: pipeline.modelID, score: score, threshold: threshold,
            falseMatchRate: scoreCalibration.falseMatchRate(atScore: score),
            band: scoreCalibration.band(forScore: score), bandRule: "one-to-one comparison",
            bands: scoreCalibration.bandRules(comparisons: 1), samePerson: same,
            verdict: same ? "likely the same person" : "likely different people", warnings: warnings)
        if outputOptions.json {
            try printJSON(report)
            return
        }
        print(
            "score \(format(Double(score), 4))  band \(report.band.words) (one-to-one rule)  threshold \(format(Double(threshold), 4)) at FMR \(fmr)")
        print("verdict: \(report.verdict) (for human review)")
        for warning in warnings { print("warning: \(warning)") }
        print("bands in one comparison (a search of a gallery sets them higher):")
        for rule in report.bands { print("  " + bandLegendLine(rule)) }
    }
}
