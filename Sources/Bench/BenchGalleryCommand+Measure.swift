import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance
import Index
import Milvus
import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

typealias FigureRecorder = (_ name: String, _ value: Double, _ unit: String, _ note: String?) -> Void

extension BenchGalleryCommand {
    /// Opt-out requests from LFW people with one photo until `optOuts` are in force,
    /// each timed (at least a few, so a reused gallery still has the figure).
    func makeOptOuts(_ g: Governance, _ world: BenchGalleryWorld, people: LFWPeople, pipeline: FacePipeline, record: FigureRecorder) throws {
        let existing = try g.optOuts(as: world.officer).count
        let wanted = max(optOuts - existing, min(5, optOuts))
        guard wanted > 0 else { return }
        var times: [Double] = []
        let clock = ContinuousClock()
        for person in people.alone(existing + wanted).suffix(wanted) {
            let photo = try readPhoto(people.photos[person]![0], limits: pipeline.limits)
            let started = clock.now
            _ = try g.requestOptOut(photo: photo, contact: "\(person)@example.org", pipeline: pipeline)
            times.append((clock.now - started).seconds * 1000)
        }
        let sorted = times.sorted()
        record(
            "opt-out request", Self.percentile(sorted, 0.5), "ms",
            "p99 \(format(Self.percentile(sorted, 0.99), 1)) ms over \(times.count), photo detection and embedding included; \(existing + wanted) in force"
        )
    }

    /// `lineup status` from a new process (the cold open), then `lineup serve`: time
    /// until it answers, its memory, and the pages that list things.
    func measureEntryPoints(directory: String, world: BenchGalleryWorld, g: Governance, record: FigureRecorder) throws {
        let lineup = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lineup").path
        let clock = ContinuousClock()
        var started = clock.now
        let status = try Self.runProcess(lineup, ["status", "--json", "--store", directory, "--token", world.adminToken] + lineupArguments)
        guard status.status == 0 else { throw ValidationError("lineup status failed: \(status.stderr)") }
        record("cold open (lineup status)", (clock.now - started).seconds, "s", "a new process: gallery opened, index loaded, counts")
        if measure.contains(.check) {
            started = clock.now
            let checked = try Self.runProcess(
                lineup, ["status", "--json", "--check", "--store", directory, "--token", world.adminToken] + lineupArguments)
            guard checked.status == 0 else { throw ValidationError("lineup status --check failed: \(checked.stderr)") }
            record("database check (lineup status --check)", (clock.now - started).seconds, "s", "the engine's integrity check and every reference")
        }

        let port = 20_000 + Int.random(in: 0..<20_000)
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: lineup)
        serve.arguments = ["serve", "--store", directory, "--port", String(port)] + lineupArguments
        serve.standardOutput = FileHandle.nullDevice
        // Its messages go to a file, so a serve that stops says why.
        let log = NSTemporaryDirectory() + "lineup-bench-serve-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        serve.standardError = FileHandle(forWritingAtPath: log)
        started = clock.now
        try serve.run()
        defer {
            serve.terminate()
            serve.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        while (try? Self.get(base + "/api/v1/health"))?.status != 200 {
            guard serve.isRunning, clock.now - started < .seconds(1800) else {
                let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw ValidationError("lineup serve did not start: " + said.suffix(2000))
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        record("lineup serve ready", (clock.now - started).seconds, "s", "index loaded, answering health")
        let admin = try g.signIn(token: world.adminToken).session.token
        let officerToken = try g.issueToken(as: world.officer, label: "bench pages", days: 1).token
        let officer = try g.signIn(token: officerToken).session.token
        for (page, session) in [("/sources", admin), ("/audit", admin), ("/privacy", officer)] {
            var times: [Double] = []
            for _ in 0..<5 {
                let pageStarted = clock.now
                let response = try Self.get(base + page, cookie: "lineup_session=\(session)")
                guard response.status == 200 else { throw ValidationError("GET \(page) answered \(response.status)") }
                times.append((clock.now - pageStarted).seconds * 1000)
            }
            record("page \(page)", Self.percentile(times.sorted(), 0.5), "ms", "median of 5")
        }
        let memory = ProcessMemory.of(pid: String(serve.processIdentifier))
        record("lineup serve steady RSS", Double(memory.resident), "bytes", nil)
        record("lineup serve peak RSS", Double(memory.peak), "bytes", nil)
    }

    /// What every `lineup` this benchmark starts is given: the same pipeline and index.
    var lineupArguments: [String] {
        (pipelineOptions.flip ? [] : ["--no-flip"]) + (pipelineOptions.models.map { ["--models", $0] } ?? [])
            + ["--large-index", largeIndex.rawValue]
    }

    /// Searches through Governance (probe detection and embedding not timed), without
    /// and with the rule excluding half the gallery, opt-outs in force; recall@10 and
    /// access-request completeness against one exact scan of the sealed templates.
    func measureSearches(_ g: Governance, _ world: BenchGalleryWorld, people: LFWPeople, pipeline: FacePipeline, record: FigureRecorder) throws {
        let justification = Justification(caseNumber: "BENCH/1", purpose: "measuring search at scale", legalBasis: "benchmark")
        let probePeople = people.withMates(probes)
        let photos = try probePeople.map { try readPhoto(people.photos[$0]![0], limits: pipeline.limits) }
        let made = try photos.map { try g.gallery.probe(image: Image(data: $0, limits: pipeline.limits), pipeline: pipeline) }
        let accessPeople = Array(probePeople.prefix(accessRequests))
        let accessPhotos = try accessPeople.map { try readPhoto(people.photos[$0]![1], limits: pipeline.limits) }
        let accessTemplates = try accessPhotos.map {
            try g.gallery.probe(image: Image(data: $0, limits: pipeline.limits), pipeline: pipeline).template.vector
        }

        // Face-like templates beside the photos, as `bench index` queries: a new sample of
        // a synthetic gallery identity (mated) and a new identity (non-mated), each
        // searched with a photo's probe whose template is replaced.
        let synthetic = try syntheticProbes(g, count: probes)
        let allProbes =
            made
            + synthetic.map { vector -> Gallery.Probe in
                var probe = made[0]
                probe.template = FaceTemplate(modelID: probe.template.modelID, vector: vector.template)
                return probe
            }
        let groups = ["LFW photos"] + synthetic.map { $0.mated ? "synthetic mated" : "synthetic non-mated" }
        let groupOf = (0..<allProbes.count).map { $0 < made.count ? groups[0] : groups[1 + $0 - made.count] }
        let allPhotos = photos + synthetic.indices.map { photos[$0 % photos.count] }

        // The exact answer: every sealed template opened and scored.
        let clock = ContinuousClock()
        let suppressed = Set(try g.optOuts(as: world.officer).filter { $0.0.status != .rejected }.flatMap(\.1))
        let excluded = Set(try g.sources(as: world.admin).filter { $0.jurisdiction == "US-IL" }.compactMap(\.id))
        let scanStarted = clock.now
        var exact = ExactAnswers(probes: allProbes.map(\.template.vector), k: 10, access: accessTemplates, accessThreshold: g.accessRequestThreshold)
        try g.gallery.store.forEachTemplate(modelID: g.gallery.modelID) { id, source, vector in
            exact.offer(id: id, vector: vector, suppressed: suppressed.contains(id), excluded: excluded.contains(source))
        }
        let scan = (clock.now - scanStarted).seconds

        let effort = try SearchEffort(g.gallery.index)
        let own = effort.current
        for breadth in [own] + (breadths.isEmpty ? effort.alsoMeasured : breadths).map(Optional.some) {
            effort.set(breadth)
            let effort = effort.describe(breadth)
            try? g.removeRule(as: world.admin, named: BenchGalleryWorld.excludeRule.name)
            for (condition, ruled) in [("no exclude rule", false), ("rule excluding half the gallery", true)] {
                if ruled { try g.putRule(as: world.admin, BenchGalleryWorld.excludeRule) }
                var times: [Double] = [], recall: [String: (sum: Double, count: Int)] = [:]
                for (((photo, probe), truth), group) in zip(zip(zip(allPhotos, allProbes), exact.best(ruled ? 1 : 0)), groupOf) {
                    let started = clock.now
                    let result = try g.search(
                        as: world.investigator, justification: justification, photo: photo, probe: probe, .init(top: 10, belowThreshold: true))
                    times.append((clock.now - started).seconds * 1000)
                    let returned = Set(result.result.candidates.map(\.faceID)), expected = Set(truth)
                    let share = expected.isEmpty ? 1 : Double(returned.intersection(expected).count) / Double(expected.count)
                    for key in ["all", group] {
                        recall[key, default: (0, 0)].sum += share
                        recall[key, default: (0, 0)].count += 1
                    }
                }
                let sorted = times.sorted()
                record(
                    "search p99, \(condition), \(effort)", Self.percentile(sorted, 0.99), "ms",
                    "p50 \(format(Self.percentile(sorted, 0.5), 1)) ms over \(times.count) searches through Governance, opt-outs in force")
                let split = ["LFW photos", "synthetic mated", "synthetic non-mated"].compactMap { key in
                    recall[key].map { "\(key) \(format($0.sum / Double($0.count), 3))" }
                }
                record(
                    "recall@10, \(condition), \(effort)", recall["all"].map { $0.sum / Double($0.count) } ?? 0, "",
                    "\(split.joined(separator: ", ")); against an exact scan of every sealed template (\(format(scan, 0)) s)")
            }
            try g.removeRule(as: world.admin, named: BenchGalleryWorld.excludeRule.name)
        }
        effort.set(own)

        var times: [Double] = [], expected = 0, found = 0, extra = 0
        for (photo, truth) in zip(accessPhotos, exact.accessMatches) {
            let started = clock.now
            let receipt = try g.requestAccess(photo: photo, contact: "bench@example.org", pipeline: pipeline)
            times.append((clock.now - started).seconds)
            let candidates = Set(try g.reviewAccess(as: world.officer, reference: receipt.reference).candidates.map(\.faceID))
            expected += truth.count
            found += truth.intersection(candidates).count
            extra += candidates.subtracting(truth).count
        }
        record(
            "access request", times.max() ?? 0, "s",
            "slowest of \(times.count); found \(found) of the \(expected) stored faces above the threshold, \(extra) others")
    }

    /// Retention, key rotation, then erasure of the source holding a tenth of the
    /// gallery, after which every file of the folder is searched for a sample of
    /// that source's sealed templates.
    func measureRightsAndErasure(
        _ g: Governance, _ world: BenchGalleryWorld, people: LFWPeople, pipeline: FacePipeline, directory: String,
        record: FigureRecorder
    ) throws {
        let clock = ContinuousClock()
        var started = clock.now
        let receipts = try g.runRetention(as: world.admin)
        record("retention run", (clock.now - started).seconds, "s", "\(receipts.count) erasures due")
        started = clock.now
        let rotation = try g.rotateKeys(as: world.admin)
        record("key rotation", (clock.now - started).seconds, "s", "\(rotation.resealed) values resealed, snapshot sealed again")

        let tenth = try g.gallery.store.source(named: "tenth")
        let held = try g.gallery.store.database.read { db in
            try db.count("SELECT count(*) FROM image JOIN face ON face.imageID = image.id WHERE image.sourceID = ?", [.integer(tenth.id!)])
        }
        let step = max(1, held / erasureSample)
        var needles: [Data] = []
        try g.gallery.store.database.read { db in
            try db.forEachRow(
                "SELECT face.template FROM face JOIN image ON image.id = face.imageID WHERE image.sourceID = ? AND face.id % ? = 0 LIMIT ?",
                [.integer(tenth.id!), .integer(Int64(step)), .integer(Int64(erasureSample))]
            ) { row in
                // Past the nonce: 32 bytes of ciphertext, found nowhere by chance.
                let sealed = try row[0].data()
                needles.append(sealed.subdata(in: (sealed.startIndex + 12)..<(sealed.startIndex + 44)))
            }
        }
        started = clock.now
        let receipt = try g.erase(as: world.admin, .source("tenth"), reason: "benchmark: erasing a tenth of the gallery")
        record("erase a source", (clock.now - started).seconds, "s", "\(receipt.faces) faces (\(held) held)")
        started = clock.now
        let left = try SealedBytesSearch(needles: needles).filesHolding(under: directory)
        record(
            "erased templates found in the gallery folder", Double(left.count), "of \(needles.count) sampled",
            "every file searched in \(format((clock.now - started).seconds, 0)) s\(left.isEmpty ? "" : ": " + left.joined(separator: ", "))")
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }

    static func runProcess(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    static func get(_ url: String, cookie: String? = nil) throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 600
        if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answer: (Int, Data)?
        nonisolated(unsafe) var failure: (any Error)?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { failure = error } else { answer = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw failure }
        return answer!
    }
}

/// The exact top k of every probe under both conditions (opt-outs in force; without
/// and with the excluded sources), and every face above the access-request threshold
/// for each requester: what the searches and requests are checked against.
struct ExactAnswers {
    let probes: [[Float]]
    let k: Int
    let access: [[Float]]
    let accessThreshold: Float
    private var top: [[[(Int64, Float)]]]
    private(set) var accessMatches: [Set<Int64>]

    init(probes: [[Float]], k: Int, access: [[Float]], accessThreshold: Float) {
        self.probes = probes
        self.k = k
        self.access = access
        self.accessThreshold = accessThreshold
        top = [Array(repeating: [], count: probes.count), Array(repeating: [], count: probes.count)]
        accessMatches = Array(repeating: [], count: access.count)
    }

    mutating func offer(id: Int64, vector: UnsafeBufferPointer<Float>, suppressed: Bool, excluded: Bool) {
        for (index, template) in access.enumerated() where dot(vector, template) >= accessThreshold {
            accessMatches[index].insert(id)
        }
        guard !suppressed else { return }
        for (index, probe) in probes.enumerated() {
            let score = dot(vector, probe)
            for condition in excluded ? [0] : [0, 1] {
                var list = top[condition][index]
                guard list.count < k || score > list[list.count - 1].1 else { continue }
                list.append((id, score))
                list.sort { $0.1 > $1.1 }
                if list.count > k { list.removeLast() }
                top[condition][index] = list
            }
        }
    }

    func best(_ condition: Int) -> [[Int64]] { top[condition].map { $0.map(\.0) } }
}

/// Finds byte strings in every file under a folder: a 64 Ki-entry table of each
/// needle's first two bytes screens every position, and only a screened position
/// is compared in full.
struct SealedBytesSearch {
    let needles: [Data]
    private let screen: [Bool]
    private let byPrefix: [UInt64: [Data]]

    init(needles: [Data]) {
        self.needles = needles
        var screen = [Bool](repeating: false, count: 65_536)
        var byPrefix: [UInt64: [Data]] = [:]
        for needle in needles where needle.count >= 8 {
            let bytes = [UInt8](needle)
            screen[Int(bytes[0]) << 8 | Int(bytes[1])] = true
            byPrefix[Self.word(bytes, 0), default: []].append(needle)
        }
        self.screen = screen
        self.byPrefix = byPrefix
    }

    static func word(_ bytes: UnsafePointer<UInt8>, _ at: Int) -> UInt64 {
        UnsafeRawPointer(bytes + at).loadUnaligned(as: UInt64.self)
    }

    static func word(_ bytes: [UInt8], _ at: Int) -> UInt64 { bytes.withUnsafeBufferPointer { word($0.baseAddress!, at) } }

    /// The files (relative to `folder`) holding any needle.
    func filesHolding(under folder: String) throws -> [String] {
        var found: [String] = []
        let walker = FileManager.default.enumerator(atPath: folder)
        while let name = walker?.nextObject() as? String {
            let path = folder + "/" + name
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            if try holds(path) { found.append(name) }
        }
        return found
    }

    private func holds(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let length = needles.map(\.count).max() ?? 0
        var carry = Data()
        while let chunk = try handle.read(upToCount: 64 << 20), !chunk.isEmpty {
            let window = carry + chunk
            let hit = window.withUnsafeBytes { raw -> Bool in
                let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
                let end = raw.count - length
                guard end >= 0 else { return false }
                for at in 0...end where screen[Int(bytes[at]) << 8 | Int(bytes[at + 1])] {
                    guard let candidates = byPrefix[Self.word(bytes, at)] else { continue }
                    for needle in candidates where needle.withUnsafeBytes({ memcmp($0.baseAddress!, bytes + at, needle.count) == 0 }) {
                        return true
                    }
                }
                return false
            }
            if hit { return true }
            carry = window.suffix(max(0, length - 1))
        }
        return false
    }
}

extension BenchGalleryCommand {
    /// `count` face-like probe templates, alternating mated (a new sample of an
    /// identity of the synthetic source `press-gb`) and non-mated (a new identity).
    func syntheticProbes(_ g: Governance, count: Int) throws -> [(template: [Float], mated: Bool)] {
        guard let source = try g.gallery.store.sources().first(where: { $0.name == "press-gb" }) else { return [] }
        let identities = max(1, faces / 10 / SyntheticFiles.facesPerIdentity)
        return (0..<count).map { q in
            if q % 2 == 0 {
                let identity = (q * 7919) % identities
                var centre = SyntheticTemplates(dimension: SFaceEmbedder.templateDimension, seed: SyntheticFiles.mix(Int(source.id!), identity, 1))
                var sample = SyntheticTemplates(dimension: SFaceEmbedder.templateDimension, seed: SyntheticFiles.mix(Int(source.id!), identity, 9))
                return (sample.sample(around: centre.centre()), true)
            }
            var generator = SyntheticTemplates(dimension: SFaceEmbedder.templateDimension, seed: SyntheticFiles.mix(-1, q, 7))
            return (generator.centre(), false)
        }
    }
}

/// The effort a search spends, whichever index the gallery holds: the candidates a
/// scan re-scores, a graph walk's breadth, or Milvus's ef; nothing to set for exact search.
struct SearchEffort {
    let index: any FaceIndex

    init(_ index: any FaceIndex) { self.index = index }

    var current: Int? {
        switch index {
        case let scan as ScanIndex: scan.rescoredOverride ?? ScanIndex.defaultRescored
        case let graph as HNSWIndex: graph.efSearchOverride ?? graph.parameters.efSearch
        case let milvus as MilvusIndex: milvus.effortOverride
        default: nil
        }
    }

    /// Efforts measured beside the index's own when none are asked for: for Milvus,
    /// the one its rule chooses for recall@10 ≥ 0.99 at this size.
    var alsoMeasured: [Int] {
        guard let milvus = index as? MilvusIndex, let faces = try? milvus.count() else { return [] }
        return [
            MilvusSearchEffort.effort(
                layout: milvus.builtLayout, faces: faces, recallTarget: 0.99, limit: 10 + MilvusIndex.searchSlack)
        ]
    }

    func set(_ effort: Int?) {
        switch index {
        case let scan as ScanIndex: scan.rescoredOverride = effort
        case let graph as HNSWIndex: graph.efSearchOverride = effort
        case let milvus as MilvusIndex: milvus.effortOverride = effort
        default: break
        }
    }

    func describe(_ effort: Int?) -> String {
        switch index {
        case is ScanIndex: effort.map { "scan re-scoring \($0)" } ?? "scan"
        case is HNSWIndex: effort.map { "graph breadth \($0)" } ?? "graph"
        case let milvus as MilvusIndex:
            effort.map { "milvus ef \($0)" }
                ?? "milvus at recall target \(milvus.recallTarget) (ef \((try? milvus.searchEffort(limit: 10 + MilvusIndex.searchSlack)) ?? 0))"
        default: "exact index"
        }
    }
}
