import ArgumentParser
import Console
import Dispatch
import Evaluation
import FaceVision
import Foundation
import Gallery
import Governance
import Store
import Synchronization

extension Gallery.FaceSelection: ExpressibleByArgument {}

struct EvalIdentificationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identification",
        abstract: "Open-set 1:N identification figures: rank-1, rank-10, FNIR at FPIR 0.01 and 0.001.",
        discussion: """
            Each LIST is a text file of photo paths, one per line; a person's name is the photo's \
            folder. The gallery photos are ingested into a temporary gallery exactly as 'lineup \
            ingest' does (every face found), then every probe is searched as 'lineup search' does. \
            By default only each gallery photo's subject is enrolled, because the folder names \
            the subject and no one else in the photo (--enrol all stores every face, as ingest does). \
            A probe that is also a gallery photo is searched with its own photo left out, so the \
            gallery list can serve as the mated list for a leave-one-out run. A candidate is the \
            right person when its photo is in the probe person's folder. Mated probes whose person \
            has no other photo in the gallery are not counted.
            """
    )

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Photos to enrol.")
    var gallery: String

    @Option(help: "Probes whose person is in the gallery.")
    var mated: String

    @Option(help: "Probes whose person is not in the gallery.")
    var nonmated: String?

    @Option(help: "Candidate list length.")
    var top = 50

    @Option(help: "Faces to enrol from each gallery photo: subject (the labelled person, the most prominent face) or all.")
    var enrol: Gallery.FaceSelection = .subject

    @Option(help: "Worker threads (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help: ArgumentHelp(
            "Photos per probe: each person's probe photos, in list order, are searched K at a time as one fused probe.",
            discussion: "An incomplete last group is not searched. Every photo of a group is left out of the gallery during its search."))
    var probesPerIdentity = 1

    @Option(help: "What the lists are (protocol and photos), written into the report; the model card quotes it.")
    var dataset: String?

    @OptionGroup var outputOptions: OutputOptions

    struct Report: Encodable {
        var model: String
        var dataset: String?
        var enrol: String
        var probesPerIdentity: Int
        var galleryPhotos: Int
        var galleryFaces: Int
        var matedProbes: Int
        var nonmatedProbes: Int
        var rank1: Double
        var rank10: Double
        var fnirAtFpir001: Double?
        var fnirAtFpir0001: Double?
        var thresholdAtFpir001: Float?
        var thresholdAtFpir0001: Float?
        var probesWithoutFace: Int
        var ingestSeconds: Double
        var searchSeconds: Double
        /// Mated probes whose mate was not first: for inspection.
        var misses: [Miss]

        enum CodingKeys: String, CodingKey {
            case model, dataset, enrol, probesPerIdentity, galleryPhotos, galleryFaces, matedProbes, nonmatedProbes, rank1, rank10
            case fnirAtFpir001 = "fnir_at_fpir_0.01"
            case fnirAtFpir0001 = "fnir_at_fpir_0.001"
            case thresholdAtFpir001 = "threshold_at_fpir_0.01"
            case thresholdAtFpir0001 = "threshold_at_fpir_0.001"
            case probesWithoutFace, ingestSeconds, searchSeconds, misses
        }
    }

    struct Miss: Encodable {
        var probe: String
        var mateRank: Int?
        var mateScore: Float?
        var firstCandidate: String?
        var firstScore: Float?
    }

    func validate() throws {
        guard top >= 10 else { throw ValidationError("--top must be at least 10 (rank-10 is reported)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (1...Governance.maxProbePhotos).contains(probesPerIdentity) else {
            throw ValidationError("--probes-per-identity must be from 1 to \(Governance.maxProbePhotos)")
        }
    }

    func run() throws {
        let galleryPaths = try Self.list(gallery), matedPaths = try Self.list(mated)
        let nonmatedPaths = try nonmated.map(Self.list) ?? []
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-eval-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let pipelines = try (0..<threads).map { _ in try pipelineOptions.pipeline() }
        let store = try Gallery(
            directory: scratch, modelID: pipelines[0].modelID, dimension: pipelines[0].embedder.dimension,
            keyring: .ephemeral())
        let source = try store.store.addSource(
            Source(
                name: "evaluation", kind: .folder, root: "/", legalBasis: .legitimateInterest,
                specialCategoryCondition: .archivingOrResearch, jurisdiction: "ZZ", retentionDays: 1, createdBy: "evaluation"))
        let bar = ProgressBar(total: 0, label: "enrol")
        let ingest = try store.ingest(
            source: source, paths: galleryPaths, pipelines: pipelines,
            options: .init(faces: enrol)
        ) { progress in
            bar.show(done: progress.filesDone, total: progress.filesTotal, faces: progress.faces, detail: "\(progress.errors) errors")
        }
        // "/" + origin is the photo's path; its folder names the person.
        let origins = try store.store.faceOrigins(modelID: store.modelID)
        let person = origins.mapValues { Self.person(of: "/" + $0) }
        let galleryPeople = Set(galleryPaths.map(Self.person))
        let matedGroups = Self.groups(of: matedPaths, size: probesPerIdentity).filter { group in
            // A leave-one-out probe needs another photo of its person in the gallery.
            galleryPaths.contains { Self.person(of: $0) == Self.person(of: group[0]) && !group.contains($0) }
        }
        let nonmatedGroups = Self.groups(of: nonmatedPaths.filter { !galleryPeople.contains(Self.person(of: $0)) }, size: probesPerIdentity)
        let probes = matedGroups.map { ($0, true) } + nonmatedGroups.map { ($0, false) }

        let searchStart = Date()
        let outcomes = Mutex([Int: (mated: IdentificationMetrics.MatedOutcome?, top: Float?, first: String?)]())
        let done = Atomic<Int>(0), noFace = Atomic<Int>(0)
        let searchBar = ProgressBar(total: probes.count, label: "search")
        drainConcurrently(count: probes.count, workers: pipelines.count) { worker, index in
            let (group, isMated) = probes[index]
            let path = group[0]
            let own = Set(group.map { String(URL(fileURLWithPath: $0).standardizedFileURL.path.dropFirst()) })
            let result = try? store.search(
                probe: Gallery.Probe.fused(
                    group.map { try store.probe(image: Image(contentsOf: $0), pipeline: pipelines[worker]) }),
                top: top, filter: { !own.contains(origins[$0] ?? "") })
            if result == nil { noFace.add(1, ordering: .relaxed) }
            let candidates = result?.candidates ?? []
            let mate = candidates.first { person[$0.faceID] == Self.person(of: path) }
            outcomes.withLock {
                $0[index] = (
                    isMated ? .init(rank: mate?.rank, score: mate?.score) : nil, candidates.first?.score,
                    candidates.first.map { "/" + $0.originURI }
                )
            }
            searchBar.update(done.add(1, ordering: .relaxed).newValue)
        }
        let all = outcomes.withLock { $0 }
        let matedOutcomes = (0..<probes.count).compactMap { all[$0]?.mated }
        let nonmatedTops = (0..<probes.count).filter { !probes[$0].1 }.map { all[$0]?.top }
        let strict = nonmatedTops.isEmpty ? nil : IdentificationMetrics.fnir(matedOutcomes, nonMatedTopScores: nonmatedTops, atFPIR: 0.001)
        let loose = nonmatedTops.isEmpty ? nil : IdentificationMetrics.fnir(matedOutcomes, nonMatedTopScores: nonmatedTops, atFPIR: 0.01)
        let report = Report(
            model: store.modelID, dataset: dataset, enrol: enrol.rawValue, probesPerIdentity: probesPerIdentity, galleryPhotos: galleryPaths.count,
            galleryFaces: try store.indexedFaces(),
            matedProbes: matedOutcomes.count, nonmatedProbes: nonmatedTops.count,
            rank1: IdentificationMetrics.hitRate(matedOutcomes, rank: 1), rank10: IdentificationMetrics.hitRate(matedOutcomes, rank: 10),
            fnirAtFpir001: loose?.fnir, fnirAtFpir0001: strict?.fnir, thresholdAtFpir001: loose?.threshold,
            thresholdAtFpir0001: strict?.threshold, probesWithoutFace: noFace.load(ordering: .relaxed),
            ingestSeconds: ingest.seconds, searchSeconds: Date().timeIntervalSince(searchStart),
            misses: (0..<probes.count).compactMap { index in
                guard let outcome = all[index], let mated = outcome.mated, mated.rank != 1 else { return nil }
                return Miss(
                    probe: probes[index].0.joined(separator: " + "), mateRank: mated.rank, mateScore: mated.score,
                    firstCandidate: outcome.first, firstScore: outcome.top)
            })
        if outputOptions.json {
            try printJSON(report)
            return
        }
        print("gallery: \(report.galleryPhotos) photos, \(report.galleryFaces) faces (\(ingest.errors.count) unreadable); model \(report.model)")
        if probesPerIdentity > 1 { print("each probe fuses \(probesPerIdentity) photos of its person") }
        print("mated probes \(report.matedProbes): rank-1 \(format(report.rank1 * 100))%, rank-10 \(format(report.rank10 * 100))%")
        if let loose, let strict {
            print(
                "non-mated probes \(report.nonmatedProbes): FNIR \(format(loose.fnir * 100))% at FPIR 0.01 (threshold \(format(Double(loose.threshold), 4))), "
                    + "\(format(strict.fnir * 100))% at FPIR 0.001 (threshold \(format(Double(strict.threshold), 4)))")
        }
        print(
            "probes without a face: \(report.probesWithoutFace); enrol \(format(report.ingestSeconds, 1)) s, search \(format(report.searchSeconds, 1)) s"
        )
    }

    static func list(_ path: String) throws -> [String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("cannot read the list \(path): \(error.localizedDescription)")
        }
        let paths = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard !paths.isEmpty else { throw ValidationError("the list \(path) is empty") }
        return paths
    }

    /// Each person's paths, in list order, cut into groups of `size`; an incomplete last group is dropped.
    static func groups(of paths: [String], size: Int) -> [[String]] {
        var byPerson: [String: [String]] = [:], order: [String] = []
        for path in paths {
            let name = person(of: path)
            if byPerson[name] == nil { order.append(name) }
            byPerson[name, default: []].append(path)
        }
        return order.flatMap { name in
            let photos = byPerson[name]!
            return stride(from: 0, to: photos.count - size + 1, by: size).map { Array(photos[$0..<$0 + size]) }
        }
    }

    static func person(of path: String) -> String { URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent }
}
