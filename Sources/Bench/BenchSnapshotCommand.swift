import ArgumentParser
import Console
import FaceVision
import Foundation
import Index

struct BenchSnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "How long saving and loading the index snapshot of a large gallery takes.",
        discussion: "Uses seeded random unit vectors: only sizes matter here, not faces."
    )

    @Option(help: "Number of templates.")
    var faces = 1_000_000

    @Option(help: "Template dimension.")
    var dimension = 128

    @Option(help: "Folder for the snapshot file (default: the temporary folder).")
    var folder: String?

    @OptionGroup var outputOptions: OutputOptions

    struct Report: Encodable {
        var faces: Int
        var dimension: Int
        var fileMB: Double
        var saveSeconds: Double
        var loadSeconds: Double
    }

    func run() throws {
        let index = ExactIndex(dimension: dimension)
        var state: UInt64 = 42
        var vector = [Float](repeating: 0, count: dimension)
        for id in 1...faces {
            for i in 0..<dimension {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                vector[i] = Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
            }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            index.add(id: Int64(id), vector: vector.map { $0 / norm })
        }
        let path = (folder ?? NSTemporaryDirectory()) + "/lineup-snapshot-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = ContinuousClock()
        let saveStart = clock.now
        try IndexSnapshot.save(index, modelID: "benchmark", to: path)
        let saved = clock.now - saveStart
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let loaded = ExactIndex(dimension: dimension)
        let loadStart = clock.now
        try IndexSnapshot.load(into: loaded, modelID: "benchmark", from: path)
        let loading = clock.now - loadStart
        guard loaded.count == faces else { throw ValidationError("loaded \(loaded.count) of \(faces) templates") }
        let report = Report(
            faces: faces, dimension: dimension, fileMB: Double(size) / 1e6, saveSeconds: saved.seconds,
            loadSeconds: loading.seconds)
        if outputOptions.json {
            try printJSON(report)
        } else {
            print(
                "\(faces) templates × \(dimension): snapshot \(format(report.fileMB, 0)) MB, "
                    + "saved in \(format(report.saveSeconds)) s, loaded and verified in \(format(report.loadSeconds)) s")
        }
    }
}
