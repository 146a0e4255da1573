import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Store

struct BenchIngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest throughput against the bare vision cost measured in the same run, and search latency.",
        discussion: """
            First measures, single-threaded, what the vision work of ingest costs per photo (decode, \
            detect, align and embed every face). With T workers the ideal rate is T photos per that \
            cost; the pipeline overhead is how far the real ingest (hashing, database, index, \
            scheduling) falls short of it. Then searches the new gallery with some of its photos and \
            reports the engine call's latency (decode, detect, embed, index search, provenance) and \
            the index search alone.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Folder of photos, searched recursively (default: the shared LFW development photos).")
    var images: String?

    @Option(help: "How many photos to ingest, taken evenly across the folder.")
    var count = 1000

    @Option(help: "Worker threads for ingest (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "How many searches to time.")
    var searches = 100

    @Flag(
        help: "Then ingest the same photos from a web archive (a .warc.gz written for the run) and as a folder, alternating, and compare the rates.")
    var warc = false

    @Option(help: "With --warc: how many times each of the two ingests runs; each side's best rate is compared.")
    var rounds = 2

    @OptionGroup var outputOptions: OutputOptions

    struct Report: Encodable {
        var photos: Int
        var threads: Int
        var visionMsPerPhoto: Double
        var idealPhotosPerSecond: Double
        var photosPerSecond: Double
        var facesPerSecond: Double
        var overheadPercent: Double
        var galleryFaces: Int
        var searchMsP50: Double
        var searchMsP95: Double
        var indexMsP50: Double
        var webArchive: WebArchiveReport?
    }

    func validate() throws {
        guard count >= 1, searches >= 1, threads >= 1, rounds >= 1 else {
            throw ValidationError("--count, --searches, --threads and --rounds must be positive")
        }
    }

    func run() throws {
        guard let folder = images ?? ProjectPaths.sharedLFWImages else {
            throw ValidationError("no --images folder given and the shared LFW photos were not found")
        }
        let root = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
        let all = MediaFiles.list(under: URL(fileURLWithPath: root)).filter(MediaFiles.isPhoto)
        guard !all.isEmpty else { throw ValidationError("no photos in \(folder)") }
        let photos = all.evenlySpaced(count: count)

        // 1. The bare vision cost, one thread, on up to 200 of the photos.
        let pipeline = try pipelineOptions.pipeline()
        OpenCV.threads = 1
        let sample = Array(photos.prefix(200))
        let clock = ContinuousClock()
        for path in sample.prefix(3) { _ = try? visionWork(path, pipeline) }
        let visionStart = clock.now
        for path in sample { _ = try? visionWork(path, pipeline) }
        let visionSeconds = (clock.now - visionStart).seconds / Double(sample.count)

        // 2. The real ingest.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let gallery = try Gallery(
            directory: scratch, modelID: pipeline.modelID, dimension: pipeline.embedder.dimension,
            keyring: .ephemeral())
        let source = try gallery.store.addSource(
            Source(
                name: "benchmark", kind: .folder, root: root, legalBasis: .legitimateInterest,
                specialCategoryCondition: .archivingOrResearch, jurisdiction: "ZZ", retentionDays: 1, createdBy: "benchmark"))
        let pipelines = try [pipeline] + (1..<threads).map { _ in try pipelineOptions.pipeline() }
        let bar = ProgressBar(total: 0, label: "ingest")
        let summary = try gallery.ingest(source: source, paths: photos, pipelines: pipelines) { p in
            bar.show(done: p.filesDone, total: p.filesTotal, faces: p.faces, detail: "\(p.errors) errors")
        }
        let ideal = Double(threads) / visionSeconds

        // 3. Search latency with the engine's default threading.
        OpenCV.threads = 0
        var engine: [Double] = [], indexOnly: [Double] = []
        let probes = stride(from: 0, to: photos.count, by: max(1, photos.count / searches)).prefix(searches).map { photos[$0] }
        for path in probes {
            let started = clock.now
            guard let result = try? gallery.search(image: Image(contentsOf: path), pipeline: pipeline, top: 10) else { continue }
            engine.append((clock.now - started).seconds * 1000)
            indexOnly.append(result.searchMilliseconds)
        }
        let webArchive = try warc ? compareWebArchive(photos, root: root, pipelines: pipelines) : nil
        let report = Report(
            photos: photos.count, threads: threads, visionMsPerPhoto: visionSeconds * 1000, idealPhotosPerSecond: ideal,
            photosPerSecond: summary.filesPerSecond, facesPerSecond: summary.facesPerSecond,
            overheadPercent: (ideal / summary.filesPerSecond - 1) * 100, galleryFaces: try gallery.indexedFaces(),
            searchMsP50: percentile(engine, 0.5), searchMsP95: percentile(engine, 0.95), indexMsP50: percentile(indexOnly, 0.5),
            webArchive: webArchive)
        if outputOptions.json {
            try printJSON(report)
            return
        }
        print("\(report.photos) photos, \(report.galleryFaces) faces, \(threads) ingest threads")
        print("vision work alone     \(format(report.visionMsPerPhoto)) ms/photo on 1 thread → ideal \(format(ideal, 1)) photos/s on \(threads)")
        print("ingest                \(format(report.photosPerSecond, 1)) photos/s, \(format(report.facesPerSecond, 1)) faces/s")
        print("pipeline overhead     \(format(report.overheadPercent, 1)) %")
        print("search (engine call)  p50 \(format(report.searchMsP50)) ms, p95 \(format(report.searchMsP95)) ms over \(engine.count) probes")
        print("index search alone    p50 \(format(report.indexMsP50, 3)) ms")
        if let webArchive { Self.printWebArchive(webArchive, photos: report.photos, threads: threads) }
    }

    /// What ingest does to a photo, minus the bookkeeping: decode, detect, align and embed every face.
    private func visionWork(_ path: String, _ pipeline: FacePipeline) throws -> Int {
        let image = try pipeline.loadImage(path)
        let faces = try pipeline.detect(in: image)
        for face in faces { _ = try pipeline.embedder.embed(face, in: image) }
        return faces.count
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }
}
