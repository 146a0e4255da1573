import ArgumentParser
import Console
import Evaluation
import FaceVision
import Foundation

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure what scores mean: thresholds at false-match rates 1e-1 … 1e-6 from photos grouped by person.",
        discussion: """
            Every pair of photos of the same person gives a genuine score and every pair of photos \
            of different people an impostor score (millions for a few thousand photos). The \
            thresholds at which the given share of impostor pairs still scores as high are written \
            to a calibration file that 'compare' and search use to turn scores into confidence bands.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var batchOptions: BatchOptions

    @Option(help: "Folder of photos grouped by person: DIR/<person>/<photo>.")
    var images: String

    @Option(help: "Where to write the calibration (default: calibration-<model>.json here).")
    var output: String?

    @Option(help: "A description of the photos, stored in the file.")
    var dataset: String?

    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let folder = try IdentityFolder(root: images)
        guard folder.identities.count >= 2 else { throw ValidationError("\(images) needs at least two person folders") }
        let extractor = try batchOptions.extractor(pipelineOptions)
        let progress = ProgressBar(total: folder.images.count, label: "templates")
        let outcomes = extractor.extract(folder.images.map(\.path), progress: progress.update)
        var templates: [FaceTemplate] = [], identities: [Int] = []
        for (outcome, image) in zip(outcomes, folder.images) {
            guard let template = outcome.template else { continue }
            templates.append(template)
            identities.append(image.identity)
        }
        let description =
            dataset ?? "\(URL(fileURLWithPath: images).lastPathComponent): \(folder.images.count) photos of \(folder.identities.count) people"
        let calibration = CalibrationBuilder(templates: templates, identities: identities)
            .calibration(modelID: extractor.modelID, dataset: description, workers: batchOptions.threads)
        let destination = output ?? "calibration-\(extractor.modelID.replacingOccurrences(of: "+", with: "-")).json"
        try calibration.jsonData().write(to: URL(fileURLWithPath: destination), options: .atomic)
        if outputOptions.json {
            try printJSON(calibration)
            return
        }
        print("\(calibration.images) templates of \(calibration.identities) people (\(folder.images.count - templates.count) photos without a face)")
        print("genuine pairs  \(calibration.genuine.count)  mean \(format(calibration.genuine.mean, 4))")
        print(
            "impostor pairs \(calibration.impostor.count)  mean \(format(calibration.impostor.mean, 4)) sd \(format(calibration.impostor.standardDeviation, 4))"
        )
        print("FMR       threshold  FNMR")
        for point in calibration.operatingPoints {
            print(String(format: "%-9.0e %-10.4f %.4f", point.falseMatchRate, point.threshold, point.falseNonMatchRate))
        }
        print("written to \(destination)")
    }
}
