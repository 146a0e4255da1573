import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance
import Index
import Milvus
import Store

/// The whole gallery at scale: store, sealed templates, provenance, policy, opt-outs,
/// access requests, erasure, snapshots, the CLI and the web pages, measured on one
/// machine at the sizes users hold (one and ten million faces).
struct BenchGalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "Fill a gallery of millions of faces through the real write path and measure it as a whole.",
        discussion: """
            Synthetic face-like templates (SyntheticTemplates) fill six sources in five \
            jurisdictions through Governance's bulk ingest (sealed templates, provenance, an audit \
            entry per file); the LFW photos are ingested the normal way so real probes have real \
            mates. Then: index build, cold open (`lineup status`), `lineup serve`'s memory and web \
            pages, searches through Governance with and without a rule excluding half the gallery \
            and with opt-outs in force (recall@10 against an exact scan of the sealed templates), \
            opt-out and access requests (completeness against the exact scan), retention, key \
            rotation, and erasure of the source holding a tenth of the gallery (then every file of \
            the folder is searched for a sample of its sealed templates). With --reuse the fill and \
            the index build resume where they stopped; the erased source is filled again.
            """
    )

    @Option(help: "Faces of the synthetic gallery (1000000 and 10000000 are the sizes that matter).")
    var faces = 1_000_000

    @Option(help: "Gallery folder to build in, or to measure again if a run of this benchmark made it (default: a new temporary folder).")
    var reuse: String?

    @Option(help: "The LFW image folder (images/<Name>/<Name>_0001.jpg): its photos are ingested, probed and opted out.")
    var lfw: String

    @Option(help: "Searches per condition (LFW people with at least two photos, one probe each).")
    var probes = 200

    @Option(help: "Opt-outs in force while searching (LFW people with one photo each).")
    var optOuts = 1000

    @Option(help: "Access requests made and checked for completeness.")
    var accessRequests = 5

    @Option(help: "Sealed templates of the erased source looked for in the gallery folder afterwards.")
    var erasureSample = 1000

    @Option(help: "What the gallery is searched with: scan (4-bit codes, the best re-scored) or graph (HNSW).")
    var largeIndex: LargeGalleryIndex = .scan

    @Option(
        parsing: .upToNextOption,
        help:
            "Also measure searches at these efforts, each against the exact answer: candidates re-scored (scan) or the walk's breadth (graph, HNSW efSearch) (default: none)."
    )
    var breadths: [Int] = []

    /// The parts measured once the gallery is built.
    enum Part: String, ExpressibleByArgument, CaseIterable {
        case pages, check, searches, rights
    }

    @Option(
        parsing: .upToNextOption,
        help:
            "What to measure once the gallery is built: pages (status, serve, web pages), check (lineup status --check, which reads the whole database), searches, rights (retention, keys, erasure) (default: all but check)."
    )
    var measure: [Part] = [.pages, .searches, .rights]

    @Flag(help: "Keep the gallery folder even when it was a temporary one.")
    var keep = false

    @Option(
        help:
            "embedded, or cluster: measure the searches of a gallery this benchmark made and `lineup migrate` copied into PostgreSQL and Milvus (LINEUP_POSTGRES_URL, LINEUP_MILVUS_URL; needs --reuse and --measure searches)."
    )
    var mode: DeploymentMode = .embedded

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var outputOptions: OutputOptions

    /// One measured figure.
    struct Figure: Encodable {
        var name: String
        var value: Double
        var unit: String
        var note: String?
    }

    func validate() throws {
        if mode == .cluster, reuse == nil || measure != [.searches] {
            throw ValidationError("--mode cluster measures the searches of a migrated gallery: give --reuse DIR and --measure searches")
        }
        guard faces >= 1000 else { throw ValidationError("--faces is at least 1000") }
        guard breadths.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--breadths are at least 1") }
        guard probes >= 1, optOuts >= 0, accessRequests >= 1, erasureSample >= 1 else {
            throw ValidationError("--probes, --access-requests and --erasure-sample are at least 1; --opt-outs at least 0")
        }
        guard FileManager.default.fileExists(atPath: lfw) else { throw ValidationError("no LFW image folder at \(lfw)") }
    }

    func run() throws {
        let directory = reuse ?? NSTemporaryDirectory() + "lineup-bench-gallery-\(UUID().uuidString)"
        defer { if reuse == nil, !keep { try? FileManager.default.removeItem(atPath: directory) } }
        var figures: [Figure] = []
        func record(_ name: String, _ value: Double, _ unit: String, _ note: String? = nil) {
            figures.append(Figure(name: name, value: value, unit: unit, note: note))
            if !outputOptions.json {
                print("\(name): \(format(value, unit == "faces/s" || unit == "bytes" ? 0 : 3)) \(unit)\(note.map { " (\($0))" } ?? "")")
                fflush(nil)  // every line as it is measured, also into a file
            }
        }
        let cpu = Processor.summary
        if !outputOptions.json {
            print("gallery benchmark, \(faces) synthetic faces, on \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        }

        let pipeline = try pipelineOptions.pipeline()
        let people = try LFWPeople(images: lfw)
        var g = try open(directory)
        let world = try BenchGalleryWorld.prepare(g, lfwImages: lfw)
        if mode == .cluster {
            // The gallery was filled, ingested and given its opt-outs before it was
            // migrated; Milvus searches it through its index once the index is built.
            if let milvus = try g.gallery.index as? MilvusIndex {
                let started = ContinuousClock.now
                let held = try milvus.count()
                try milvus.waitUntilIndexed(rows: held)
                record("Milvus indexed", (ContinuousClock.now - started).seconds, "s", "\(held) faces searched through \(milvus.builtLayout)")
            }
            try measureSearches(g, world, people: people, pipeline: pipeline, record: record)
            if outputOptions.json { try printJSON(figures) }
            return
        }
        let filled = try fill(g, world)
        if filled.faces > 0 {
            record(
                "fill rate", Double(filled.faces) / max(filled.seconds, 1e-9), "faces/s", "\(filled.faces) faces in \(format(filled.seconds, 0)) s")
        }

        // The index as a new process finds it: a snapshot, or built from the database.
        g = try open(directory)
        let clock = ContinuousClock()
        var started = clock.now
        let origin = try g.gallery.indexOrigin
        record(
            "index load", (clock.now - started).seconds, "s",
            "\(try g.gallery.indexedFaces()) faces, \(try g.gallery.indexKind.rawValue) index from \(origin)")
        record("bench process peak RSS after the index", Double(ProcessMemory.own().peak), "bytes")
        // What opening costs with a key per face: every template read, its key unwrapped, opened.
        started = clock.now
        var opened = 0
        try g.gallery.store.forEachTemplate(modelID: g.gallery.modelID) { _, _, _ in opened += 1 }
        record(
            "templates opened", Double(opened) / max((clock.now - started).seconds, 1e-9), "faces/s",
            "each sealed template read, its face's key unwrapped, the template opened")

        // Every run ingests the LFW folder: what an earlier run stored is skipped by its hash.
        started = clock.now
        let summary = try g.ingest(
            as: world.admin, source: BenchGalleryWorld.lfwSource, paths: [],
            pipelines: (0..<ProcessInfo.processInfo.activeProcessorCount).map { _ in try pipelineOptions.pipeline() })
        if summary.faces > 0 {
            record("LFW ingest", (clock.now - started).seconds, "s", "\(summary.faces) faces of \(summary.filesIngested) photos, snapshot saved")
        }
        try makeOptOuts(g, world, people: people, pipeline: pipeline, record: record)
        try g.gallery.saveIndex()
        record("database", Double(Self.bytes(ofFilesIn: directory, named: { $0.hasPrefix("gallery.sqlite") })), "bytes")
        record("key vault", Double(Self.bytes(ofFilesIn: directory, named: { $0.hasPrefix("keys.sqlite") })), "bytes")
        record("index snapshot", Double(Self.bytes(ofFilesIn: directory, named: { $0.hasSuffix(".bin") })), "bytes")

        if measure.contains(.pages) { try measureEntryPoints(directory: directory, world: world, g: g, record: record) }
        if measure.contains(.searches) { try measureSearches(g, world, people: people, pipeline: pipeline, record: record) }
        if measure.contains(.rights) {
            try measureRightsAndErasure(g, world, people: people, pipeline: pipeline, directory: directory, record: record)
        }
        record("bench process peak RSS", Double(ProcessMemory.own().peak), "bytes")
        if outputOptions.json { try printJSON(figures) }
    }

    func open(_ directory: String) throws -> Governance {
        if mode == .cluster {
            // The cluster's addresses and collection come from the environment, as for `lineup`.
            return try GalleryOptions.parse(["--store", directory, "--mode", "cluster"]).governance(pipelineOptions)
        }
        return try Governance(
            gallery: Gallery(
                directory: directory, modelID: pipelineOptions.modelID, dimension: SFaceEmbedder.templateDimension,
                largeGalleryIndex: largeIndex.kind))
    }

    /// Bytes of the files in `directory` whose names `named` accepts.
    static func bytes(ofFilesIn directory: String, named: (String) -> Bool) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(named).reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
        }
    }
}

/// The resident memory of a process, from /proc: now and at its peak.
struct ProcessMemory {
    var resident: Int
    var peak: Int

    static func own() -> ProcessMemory { of(pid: "self") }

    static func of(pid: String) -> ProcessMemory {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func kilobytes(_ key: String) -> Int {
            // "VmHWM:\t  643656 kB": a tab, then padding that vanishes at eight digits.
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return (Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") ?? 0) * 1024
        }
        return ProcessMemory(resident: kilobytes("VmRSS"), peak: kilobytes("VmHWM"))
    }
}

/// LFW's people and their photos, in name order.
struct LFWPeople {
    let images: String
    let photos: [String: [String]]

    init(images: String) throws {
        self.images = images
        var photos: [String: [String]] = [:]
        for person in try FileManager.default.contentsOfDirectory(atPath: images) {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: images + "/" + person)) ?? []).filter { $0.hasSuffix(".jpg") }.sorted()
            if !files.isEmpty { photos[person] = files.map { images + "/" + person + "/" + $0 } }
        }
        guard !photos.isEmpty else { throw ValidationError("no LFW photos under \(images)") }
        self.photos = photos
    }

    /// People with at least two photos, spread over the alphabet: probes with mates.
    func withMates(_ count: Int) -> [String] {
        let names = photos.filter { $0.value.count >= 2 }.keys.sorted()
        let step = max(1, names.count / max(1, count))
        return Array(stride(from: 0, to: names.count, by: step).map { names[$0] }.prefix(count))
    }

    /// People with one photo: the opt-outs, none of them a probe.
    func alone(_ count: Int) -> [String] {
        Array(photos.filter { $0.value.count == 1 }.keys.sorted().prefix(count))
    }
}
