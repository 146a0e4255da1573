import ArgumentParser
import Console
import Evaluation
import FaceVision
import Foundation
import Index

struct BenchVisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision",
        abstract: "Single-thread time per photo (decode, detect, align, embed) against an onnxruntime reference.",
        discussion: """
            Both pipelines do the same work on the same photos with the same ONNX models: \
            decode, detect all faces, refine every face's landmarks as the alignment mode says \
            (the same passes over the same views), align and embed the most prominent one (with \
            its mirror image when flip augmentation is on). The reference runs onnxruntime with \
            one thread (scripts/bench-reference.sh installs it); its detector sees each photo \
            padded as Lineup's does (--reference-detector fitted) or at the shipped model's \
            640×640 (shipped, what a plain Python pipeline does). Each photo is read once \
            before timing, so that neither side's decode includes the disk. Each mode asked \
            for is measured in turn, Lineup then the reference.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Folder of photos, searched recursively (default: the shared LFW development photos).")
    var images: String?

    @Option(help: "How many photos, taken evenly across the folder.")
    var count = 200

    @Flag(help: "Skip the onnxruntime reference.")
    var noReference = false

    enum ReferenceDetector: String, ExpressibleByArgument, CaseIterable {
        case fitted, shipped
    }

    @Option(help: "The reference's detector input: fitted (padded to a multiple of 32, the same work as Lineup) or shipped (640×640).")
    var referenceDetector = ReferenceDetector.fitted

    @Option(
        parsing: .upToNextOption,
        help: "Alignment modes to measure (default: every mode; --alignment measures one).")
    var modes: [AlignmentMode] = []

    @OptionGroup var outputOptions: OutputOptions

    struct Timings: Codable {
        var decode: Double
        var detect: Double
        var align: Double
        var embed: Double
        var total: Double
    }

    struct Report: Encodable {
        var alignment: AlignmentMode
        var images: Int
        var faces: Int
        var lineup: Timings
        var lineupEngine: String
        var reference: Timings?
        var referenceEngine: String?
        var ratio: Double?
        var templateAgreement: Double?
        /// The processor and its vector features: ratios differ between CPUs.
        var processor = Processor.detailed
    }

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        guard let folder = images ?? ProjectPaths.sharedLFWImages else {
            throw ValidationError("no --images folder given and the shared LFW photos were not found")
        }
        let paths = try sample(folder)
        let chosen = !modes.isEmpty ? modes : pipelineOptions.alignment.map { [$0] } ?? AlignmentMode.allCases
        var reports: [Report] = []
        for mode in chosen {
            var options = pipelineOptions
            options.alignment = mode
            let report = try measure(paths, options: options, mode: mode)
            if !outputOptions.json { printTable(report) }
            reports.append(report)
        }
        if outputOptions.json { try printJSON(reports) }
    }

    private func measure(_ paths: [String], options pipelineOptions: PipelineOptions, mode: AlignmentMode) throws -> Report {
        let pipeline = try pipelineOptions.pipeline()
        OpenCV.threads = 1
        // Every photo read once first, so that neither side's decode time includes the
        // disk (the reference, running second, would otherwise find them all cached).
        for path in paths { _ = FileManager.default.contents(atPath: path) }
        for path in paths.prefix(3) { _ = try? measure(path, pipeline: pipeline) }

        var sums = [Double](repeating: 0, count: 4)
        var faces = 0
        var templates: [String: FaceTemplate] = [:]
        let progress = ProgressBar(total: paths.count, label: "lineup")
        for (index, path) in paths.enumerated() {
            let result = try measure(path, pipeline: pipeline)
            for stage in 0..<2 { sums[stage] += result.seconds[stage] }
            if let template = result.template {
                sums[2] += result.seconds[2]
                sums[3] += result.seconds[3]
                faces += 1
                templates[path] = template
            }
            progress.update(index + 1)
        }
        let lineup = timings(
            decode: sums[0] / Double(paths.count), detect: sums[1] / Double(paths.count),
            align: sums[2] / Double(max(1, faces)), embed: sums[3] / Double(max(1, faces)))
        var report = Report(
            alignment: mode, images: paths.count, faces: faces, lineup: lineup, lineupEngine: "Lineup, \(try pipelineOptions.inferenceEngine.summary)"
        )
        if !noReference {
            let reference = try runReference(paths, models: try pipelineOptions.modelDirectory(), alignment: mode)
            report.reference = reference.timings
            report.referenceEngine = reference.engine + ", detector input \(referenceDetector.rawValue)"
            report.ratio = lineup.total / reference.timings.total
            let agreements = templates.compactMap { path, template in
                reference.templates[path].map { Double(dot(template.vector, FaceTemplate(modelID: template.modelID, vector: $0).vector)) }
            }
            report.templateAgreement = agreements.isEmpty ? nil : agreements.reduce(0, +) / Double(agreements.count)
        }
        return report
    }

    private func timings(decode: Double, detect: Double, align: Double, embed: Double) -> Timings {
        Timings(
            decode: decode * 1000, detect: detect * 1000, align: align * 1000, embed: embed * 1000,
            total: (decode + detect + align + embed) * 1000)
    }

    /// Seconds for decode, detect, align and embed, and the template when a face was found.
    private func measure(_ path: String, pipeline: FacePipeline) throws -> (seconds: [Double], template: FaceTemplate?) {
        let clock = ContinuousClock()
        let t0 = clock.now
        let image = try pipeline.loadImage(path)
        let t1 = clock.now
        let faces = try pipeline.detectProbe(in: image)
        let t2 = clock.now
        let embedder = pipeline.embedder
        guard let index = faces.mostProminentIndex(imageWidth: image.width, imageHeight: image.height) else {
            return ([(t1 - t0).seconds, (t2 - t1).seconds, 0, 0], nil)
        }
        let aligned = try embedder.alignedFace(faces[index], in: image)
        let t3 = clock.now
        let template = try embedder.embed(alignedFace: aligned)
        let t4 = clock.now
        return ([(t1 - t0).seconds, (t2 - t1).seconds, (t3 - t2).seconds, (t4 - t3).seconds], template)
    }

    private func sample(_ folder: String) throws -> [String] {
        let photos = MediaFiles.list(under: URL(fileURLWithPath: folder)).filter(MediaFiles.isPhoto)
        guard !photos.isEmpty else { throw ValidationError("no photos in \(folder)") }
        return photos.evenlySpaced(count: count)
    }

    private struct ReferenceOutput: Decodable {
        var engine: String
        var ms: [String: Double]
        var templates: [String: [Float]]
    }

    private func runReference(_ paths: [String], models: ModelDirectory, alignment: AlignmentMode) throws
        -> (timings: Timings, engine: String, templates: [String: [Float]])
    {
        guard let root = ProjectPaths.root else { throw ValidationError("scripts/bench-reference.sh not found; run from the checkout") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let list = scratch.appendingPathComponent("photos.txt"), output = scratch.appendingPathComponent("reference.json")
        try paths.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        // The reference gets the shipped 640×640 detector, not Lineup's dynamic-size edit.
        let shippedDetector = root + "/.lineup/downloads/face_detection_yunet_2023mar.onnx"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: root + "/scripts/bench-reference.sh")
        process.arguments = [
            "--list", list.path, "--detector", shippedDetector, "--embedder", models.embedderPath,
            "--output", output.path, "--alignment", alignment.rawValue,
            "--view-detector", models.detectorPath, "--retinaface", models.landmarkPath,
            "--detector-input", referenceDetector.rawValue, "--detect-size", String(pipelineOptions.detectSize),
        ]
        if !outputOptions.json { printError("running the onnxruntime reference on \(paths.count) photos (alignment \(alignment.rawValue))…") }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("the reference pipeline failed (exit \(process.terminationStatus))")
        }
        let decoded = try JSONDecoder().decode(ReferenceOutput.self, from: Data(contentsOf: output))
        let ms = decoded.ms
        let timings = Timings(
            decode: ms["decode"] ?? 0, detect: ms["detect"] ?? 0, align: ms["align"] ?? 0,
            embed: ms["embed"] ?? 0, total: ms["total"] ?? 0)
        return (timings, decoded.engine, decoded.templates)
    }

    private func printTable(_ r: Report) {
        print("alignment \(r.alignment.rawValue): \(r.images) photos, \(r.faces) faces embedded, 1 thread")
        print("stage              Lineup ms   reference ms   ratio")
        let rows: [(String, KeyPath<Timings, Double>)] = [
            ("decode", \.decode), ("detect + landmarks", \.detect), ("align (per face)", \.align),
            ("embed (per face)", \.embed), ("end to end", \.total),
        ]
        for (name, key) in rows {
            let mine = r.lineup[keyPath: key]
            let theirs = r.reference?[keyPath: key]
            let ratio = theirs.map { $0 > 0 ? format(mine / $0) + "×" : "-" } ?? "-"
            print(
                name.padding(toLength: 19, withPad: " ", startingAt: 0)
                    + format(mine).leftPad(9) + (theirs.map { format($0) } ?? "-").leftPad(15) + ratio.leftPad(8))
        }
        print("Lineup:    \(r.lineupEngine)")
        print("CPU:       \(r.processor)")
        if let engine = r.referenceEngine { print("reference: \(engine)") }
        if let agreement = r.templateAgreement {
            print("template agreement (mean cosine, Lineup vs reference): \(format(agreement, 4))")
        }
    }
}
