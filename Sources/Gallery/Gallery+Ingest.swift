import Crypto
import Dispatch
import FaceVision
import Foundation
import Index
import Store
import Synchronization

extension Gallery {
    public struct IngestOptions: Sendable {
        /// Seconds between the video frames that are looked at.
        public var videoInterval: Double
        /// Which faces of a photo to store.
        public var faces: FaceSelection
        /// Faces for which this returns true are not stored (the opt-out list).
        public var withhold: (@Sendable (FaceTemplate) -> Bool)?
        /// Runs in the transaction that stores a file, with the file and its face ids:
        /// where Governance writes the file's audit entry, so a face is never held
        /// without the log saying so, even if the process dies before the run ends.
        public var recorded: (@Sendable (any MetadataTransaction, SourceFile, [Int64]) throws -> Void)?
        /// Told when a file recorded is taken back out (the shared index refused its
        /// templates), so the log says that too.
        public var withdrawn: (@Sendable (SourceFile, [Int64]) -> Void)?
        /// Asked before each file: true stops the run at a file boundary (the server
        /// shutting down), with every file stored so far whole.
        public var shouldStop: (@Sendable () -> Bool)?
        /// The manifest saying where a folder's photos were published (from the root,
        /// or absolute); nil: one of `ProvenanceManifest.defaultNames` at the root, if any.
        public var manifest: String?
        /// Runs in the transaction that changes a stored file's places of publication
        /// (a corrected manifest, an archive's new pages): where Governance logs it.
        public var provenanceUpdated: (@Sendable (any MetadataTransaction, SourceFile) throws -> Void)?

        public init(
            videoInterval: Double = 1.0, faces: FaceSelection = .all,
            withhold: (@Sendable (FaceTemplate) -> Bool)? = nil,
            recorded: (@Sendable (any MetadataTransaction, SourceFile, [Int64]) throws -> Void)? = nil,
            shouldStop: (@Sendable () -> Bool)? = nil, manifest: String? = nil
        ) {
            self.manifest = manifest
            self.videoInterval = videoInterval
            self.faces = faces
            self.withhold = withhold
            self.recorded = recorded
            self.shouldStop = shouldStop
        }
    }

    public enum FaceSelection: String, Sendable, CaseIterable {
        /// Every face found: what a gallery of real material needs.
        case all
        /// Only the photo's subject (its most prominent face), as in a labelled
        /// evaluation set where the label names the subject and no one else.
        case subject
    }

    public struct IngestProgress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var faces: Int
        public var skipped: Int
        public var errors: Int
        /// The first pass of a web archive ingest, before any picture is counted: the
        /// bytes of the archives read so far, of `archiveBytesTotal` (0 otherwise).
        public var archiveBytesRead: Int64 = 0
        public var archiveBytesTotal: Int64 = 0
    }

    public struct IngestSummary: Sendable, Codable {
        public var runID: Int64
        public var source: String
        public var filesSeen: Int
        public var filesIngested: Int
        public var filesSkipped: Int
        /// Of the files skipped (held before), those whose places of publication changed.
        public var provenanceUpdated: Int = 0
        public var faces: Int
        /// Faces found but not stored because `withhold` said so.
        public var facesWithheld: Int
        public var errors: [FileError]
        public var seconds: Double
        public var facesPerSecond: Double
        public var filesPerSecond: Double
        /// What the counts count: files of a folder, pictures of a web archive.
        public var unit: String = "files"
        /// Stopped before every file was looked at (`IngestOptions.shouldStop`); a later
        /// run takes the rest.
        public var stopped: Bool = false

        public struct FileError: Sendable, Codable {
            public var path: String
            public var message: String
        }
    }

    /// The photo and video files under `paths` (files or folders, walked recursively,
    /// hidden entries skipped), sorted. A relative path is taken from the source root,
    /// never from the server's working folder. Every path must lie inside the root,
    /// and so must every file found by walking a folder: links that lead outside it
    /// are returned in `outside`, never read.
    public static func mediaFiles(
        in paths: [String], root: String, matching: (String) -> Bool = MediaFiles.isPhotoOrVideo
    ) throws -> MediaFiles.Walk {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootURL.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError.invalid("the source root \(root) is not a folder")
        }
        var files: Set<String> = [], outside: [String] = []
        for path in paths.isEmpty ? [rootURL.path] : paths {
            let given = path.hasPrefix("/") ? URL(fileURLWithPath: path) : rootURL.appendingPathComponent(path)
            let url = given.standardizedFileURL.resolvingSymlinksInPath()
            guard url.path == rootURL.path || url.path.hasPrefix(folderPrefix(rootURL.path)) else {
                throw StoreError.outsideSourceRoot(path: path, root: root)
            }
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw StoreError.invalid("no such file or folder: \(path)")
            }
            if !isDirectory.boolValue {
                files.insert(url.path)
                continue
            }
            let walk = MediaFiles.walk(under: url, confinedTo: rootURL, matching: matching)
            files.formUnion(walk.files)
            outside += walk.outside
        }
        return MediaFiles.Walk(files: files.sorted(), outside: outside.sorted())
    }

    /// Takes the files under `paths` into `source`, one worker per pipeline. Files
    /// already stored (same content) are skipped; a file that cannot be read is
    /// recorded as an error of the run and the run goes on. Each file is committed
    /// with all its faces in one transaction, and the index snapshot is saved at the end.
    ///
    /// A manifest (`IngestOptions.manifest`, or one of `ProvenanceManifest.defaultNames`
    /// at the source root) says where the photos were published; its bad rows are
    /// errors of the run naming their lines, and for a photo stored before, its rows
    /// replace what an earlier manifest said. A web archive source reads its archives
    /// instead (`ingestWebArchives`).
    public func ingest(
        source: Source, paths: [String], pipelines: [FacePipeline], options: IngestOptions = .init(),
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) throws -> IngestSummary {
        guard let root = source.root else {
            throw StoreError.invalid("source '\(source.name)' has no root folder to ingest from")
        }
        if let other = pipelines.first(where: { $0.modelID != modelID }) { throw Self.modelMismatch(held: modelID, asked: other.modelID) }
        if source.kind == .webArchive {
            return try ingestWebArchives(source: source, paths: paths, pipelines: pipelines, options: options, progress: progress)
        }
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let walk = try Self.mediaFiles(in: paths, root: root)
        let manifest = try Self.manifest(options.manifest, root: root)
        return try performRun(source: source, pipelines: pipelines, options: options, progress: progress) { run in
            for link in walk.outside {
                run.report(Self.relative(link, to: rootPath), "a link that leads outside the source root: not read")
            }
            if let manifest {
                for problem in manifest.problems { run.report(manifest.name, "manifest \(problem)") }
            }
            return walk.files.map { path in
                let relative = Self.relative(path, to: rootPath)
                let places = manifest.map { manifest in manifest.entries[relative]?.publication.map { [$0] } ?? [] }
                return FileItem(path: path, relative: relative, manifestPlaces: places)
            }
        } label: {
            $0.relative
        } work: { item, pipeline, runID in
            try ingestFile(item, source: source, runID: runID, pipeline: pipeline, options: options)
        }
    }

    /// A file of a folder run, with what its manifest says (nil: no manifest this run).
    struct FileItem: Sendable {
        var path: String
        var relative: String
        var manifestPlaces: [Publication]?
    }

    /// What one item of a run came to.
    enum ItemOutcome {
        case stored(faces: Int, withheld: Int)
        /// Held before (same content); `updated` when its provenance changed.
        case skipped(updated: Bool)
    }

    /// The run being performed, for its preparation: its id, and where problems go.
    struct RunInProgress {
        let runID: Int64
        let report: (_ path: String, _ message: String) -> Void
        /// Counts a held file whose places of publication changed while preparing.
        let provenanceUpdated: () -> Void
    }

    /// The frame of every ingest run: the run recorded and kept alive while it works,
    /// `prepare` listing its items (reporting what it cannot take), `work` done on each
    /// by one worker per pipeline with every error recorded against the item's label,
    /// progress told after each, the index saved and the run closed with its counts.
    func performRun<Item: Sendable>(
        source: Source, pipelines: [FacePipeline], options: IngestOptions, progress: (@Sendable (IngestProgress) -> Void)?,
        prepare: (RunInProgress) throws -> [Item], label: @Sendable (Item) -> String,
        work: @Sendable (Item, FacePipeline, Int64) throws -> ItemOutcome
    ) throws -> IngestSummary {
        let start = Date()
        var run = try store.startRun(sourceID: source.id!)
        let runID = run.id!
        let done = Atomic<Int>(0), faces = Atomic<Int>(0), withheld = Atomic<Int>(0)
        let ingested = Atomic<Int>(0), skipped = Atomic<Int>(0), updated = Atomic<Int>(0)
        let errors = Mutex<[IngestSummary.FileError]>([])
        let report: @Sendable (String, String) -> Void = { [store] path, message in
            errors.withLock { $0.append(.init(path: path, message: message)) }
            try? store.recordError(runID: runID, path: path, message: message)
        }
        // The run says it is alive while it works, so a run whose process died (a
        // crash, kill -9) is told apart from a long one and closed later.
        let heartbeat = RunHeartbeat(store: store, runID: runID)
        defer { heartbeat.stop() }
        let items = try prepare(RunInProgress(runID: runID, report: report) { updated.add(1, ordering: .relaxed) })
        // Several workers each run OpenCV on one thread. One worker leaves OpenCV's
        // threads alone: the setting is process-wide, and changing it while another
        // thread is inside OpenCV (a search, another ingest) can crash its thread pool.
        let previousThreads = OpenCV.threads
        if pipelines.count > 1 { OpenCV.threads = 1 }
        defer { if pipelines.count > 1 { OpenCV.threads = previousThreads } }

        let stopped = Atomic<Bool>(false)
        drainConcurrently(count: items.count, workers: pipelines.count) { worker, index in
            if stopped.load(ordering: .relaxed) || options.shouldStop?() == true {
                stopped.store(true, ordering: .relaxed)
                return
            }
            do {
                switch try work(items[index], pipelines[worker], runID) {
                case .skipped(let changed):
                    skipped.add(1, ordering: .relaxed)
                    if changed { updated.add(1, ordering: .relaxed) }
                case .stored(let stored, let held):
                    ingested.add(1, ordering: .relaxed)
                    faces.add(stored, ordering: .relaxed)
                    withheld.add(held, ordering: .relaxed)
                }
            } catch {
                report(label(items[index]), String(describing: error))
            }
            let finished = done.add(1, ordering: .relaxed).newValue
            progress?(
                IngestProgress(
                    filesDone: finished, filesTotal: items.count, faces: faces.load(ordering: .relaxed),
                    skipped: skipped.load(ordering: .relaxed), errors: errors.withLock { $0.count }))
        }
        try saveIndex()
        let fileErrors = errors.withLock { $0 }.sorted { ($0.path, $0.message) < ($1.path, $1.message) }
        heartbeat.stop()
        run.finishedAt = Date()
        run.heartbeatAt = run.finishedAt
        run.filesSeen = done.load(ordering: .relaxed)
        run.interrupted = stopped.load(ordering: .relaxed)
        run.filesIngested = ingested.load(ordering: .relaxed)
        run.filesSkipped = skipped.load(ordering: .relaxed)
        run.faces = faces.load(ordering: .relaxed)
        run.errors = fileErrors.count
        try store.update(run)
        let seconds = run.finishedAt!.timeIntervalSince(start)
        return IngestSummary(
            runID: runID, source: source.name, filesSeen: run.filesSeen, filesIngested: run.filesIngested,
            filesSkipped: run.filesSkipped, provenanceUpdated: updated.load(ordering: .relaxed), faces: run.faces,
            facesWithheld: withheld.load(ordering: .relaxed), errors: fileErrors, seconds: seconds,
            facesPerSecond: Double(run.faces) / max(seconds, 1e-9),
            filesPerSecond: Double(run.filesSeen) / max(seconds, 1e-9), stopped: run.interrupted)
    }

    /// The manifest a run reads: the one named, else one of the default names at the
    /// root, else none. A manifest named but missing is refused before the run starts.
    static func manifest(_ named: String?, root: String) throws -> (
        name: String, entries: [String: ProvenanceManifest.Entry], problems: [ProvenanceManifest.Problem]
    )? {
        let rootURL = URL(fileURLWithPath: root)
        let path: String
        if let named {
            path = named.hasPrefix("/") ? named : rootURL.appendingPathComponent(named).path
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.invalid("no manifest \(named)") }
        } else {
            guard
                let found = ProvenanceManifest.defaultNames.map({ rootURL.appendingPathComponent($0).path })
                    .first(where: FileManager.default.fileExists(atPath:))
            else { return nil }
            path = found
        }
        let manifest = try ProvenanceManifest(contentsOf: path, root: root)
        return (URL(fileURLWithPath: path).lastPathComponent, manifest.entries, manifest.problems)
    }

    /// A path under the root, relative to it.
    static func relative(_ path: String, to rootPath: String) -> String {
        path.hasPrefix(folderPrefix(rootPath)) ? String(path.dropFirst(folderPrefix(rootPath).count)) : path
    }

    /// Stores one file with its faces and places of publication; for a file stored
    /// before, brings its manifest provenance up to date.
    private func ingestFile(
        _ item: FileItem, source: Source, runID: Int64, pipeline: FacePipeline, options: IngestOptions
    ) throws -> ItemOutcome {
        let sourceID = source.id!
        let isVideo = MediaFiles.isVideo(item.path)
        let bytes = isVideo ? nil : try Image.readFile(item.path, limits: pipeline.limits)
        let digest = try bytes.map { Data(SHA256.hash(data: $0)) } ?? Self.hashFile(item.path)
        if try store.containsFile(sourceID: sourceID, sha256: digest) {
            return .skipped(updated: try updateManifestPlaces(item.manifestPlaces, sourceID: sourceID, sha256: digest, options: options))
        }
        let now = Date()
        var pictures =
            try bytes.map {
                try photoPictures($0, relative: item.relative, sourceID: sourceID, pipeline: pipeline, selection: options.faces, at: now)
            }
            ?? videoPictures(item.path, relative: item.relative, sourceID: sourceID, pipeline: pipeline, options: options, at: now)
        for index in pictures.indices { pictures[index].publications = item.manifestPlaces ?? [] }
        let file = SourceFile(
            sourceID: sourceID, sha256: digest, path: item.relative, kind: isVideo ? .video : .photo,
            faceCount: 0, ingestedAt: now, runID: runID)
        guard let outcome = try store(file, pictures: &pictures, of: source, options: options) else {
            // Stored meanwhile by another worker or run: its provenance is brought up to date instead.
            return .skipped(updated: try updateManifestPlaces(item.manifestPlaces, sourceID: sourceID, sha256: digest, options: options))
        }
        return outcome
    }

    private func updateManifestPlaces(_ places: [Publication]?, sourceID: Int64, sha256: Data, options: IngestOptions) throws -> Bool {
        guard let places else { return false }
        return try store.updatePublications(
            sourceID: sourceID, sha256: sha256, places: places, recordedFrom: .manifest, .replace,
            alsoInTransaction: options.provenanceUpdated)
    }

    /// Stores a file's pictures (opted-out faces withheld) and adds their faces to the
    /// index; nil when the content was stored meanwhile.
    func store(
        _ file: SourceFile, pictures: inout [GalleryStore.PictureToStore], of source: Source, options: IngestOptions
    ) throws -> ItemOutcome? {
        let withheld = Self.withhold(from: &pictures, options: options)
        guard let stored = try store.record(file: file, pictures: pictures, alsoInTransaction: options.recorded) else { return nil }
        let faces = Self.indexed(stored, of: source)
        do {
            try index.add(faces)
        } catch {
            // Unsearchable faces are not kept (a shared index refused them): the file is
            // taken back whole, so the run reports it and the next run takes it again.
            try store.unrecord(fileSHA256: file.sha256, sourceID: source.id!)
            options.withdrawn?(file, stored.compactMap(\.id))
            throw error
        }
        return .stored(faces: stored.count, withheld: withheld)
    }
    /// Removes the faces `options.withhold` refuses (opted-out people) from the
    /// pictures, and says how many went.
    static func withhold(from pictures: inout [GalleryStore.PictureToStore], options: IngestOptions) -> Int {
        guard let withhold = options.withhold else { return 0 }
        var withheld = 0
        for index in pictures.indices {
            let before = pictures[index].faces.count
            pictures[index].faces.removeAll { face in
                withhold(FaceTemplate(modelID: face.modelID, normalizedVector: clearFloats(of: face)))
            }
            withheld += before - pictures[index].faces.count
        }
        return withheld
    }

    /// Faces just stored, as the index takes them.
    static func indexed(_ stored: [GalleryFace], of source: Source) -> [IndexedFace] {
        stored.map { face in
            IndexedFace(
                id: face.id!, vector: clearFloats(of: face), source: source.id!,
                organisation: source.organisationID ?? 0, jurisdiction: source.jurisdiction)
        }
    }

    /// The floats of a face the pipeline made: in the clear until the store seals them,
    /// and handed back in the clear by `GalleryStore.record`.
    static func clearFloats(of face: GalleryFace) -> [Float] {
        guard let floats = face.template.floats else { preconditionFailure("face \(face.id ?? 0) came back sealed") }
        return floats
    }

    func photoPictures(
        _ bytes: [UInt8], relative: String, sourceID: Int64, pipeline: FacePipeline,
        selection: FaceSelection, at now: Date
    ) throws -> [GalleryStore.PictureToStore] {
        let image = try Image(data: bytes, limits: pipeline.limits)
        let detected: [DetectedFace]
        switch selection {
        case .all:
            detected = try pipeline.detect(in: image)
        case .subject:
            // The subject is known to be there: look as a probe would.
            let candidates = try pipeline.detectProbe(in: image)
            detected = candidates.mostProminentIndex(imageWidth: image.width, imageHeight: image.height).map { [candidates[$0]] } ?? []
        }
        let faces = try detected.map { face in
            Self.galleryFace(face, template: try pipeline.embedder.embed(face, in: image))
        }
        let picture = GalleryImage(
            sourceID: sourceID, fileID: 0, originURI: relative, capturedAt: ExifDate.captureDate(in: bytes),
            ingestedAt: now, width: image.width, height: image.height)
        return [.init(image: picture, faces: faces)]
    }

    private func videoPictures(
        _ path: String, relative: String, sourceID: Int64, pipeline: FacePipeline,
        options: IngestOptions, at now: Date
    ) throws -> [GalleryStore.PictureToStore] {
        let video = try VideoReader(path: path)
        var tracker = FaceTracker()
        try video.sample(every: options.videoInterval) { frame, seconds in
            let sightings = try pipeline.detect(in: frame).map { face in
                FaceTracker.Sighting(face: face, template: try pipeline.embedder.embed(face, in: frame), frame: frame, seconds: seconds)
            }
            tracker.add(sightings)
            return true
        }
        return tracker.finish().map { track in
            let best = track.best
            var face = Self.galleryFace(best.face, template: best.template)
            face.trackFirstSeconds = track.firstSeconds
            face.trackLastSeconds = track.lastSeconds
            let picture = GalleryImage(
                sourceID: sourceID, fileID: 0, originURI: relative, ingestedAt: now,
                width: best.frame.width, height: best.frame.height, frameSeconds: best.seconds)
            return .init(image: picture, faces: [face])
        }
    }

    /// A folder's path with exactly one trailing slash ("/" stays "/").
    static func folderPrefix(_ folder: String) -> String { folder.hasSuffix("/") ? folder : folder + "/" }

    static func galleryFace(_ face: DetectedFace, template: FaceTemplate) -> GalleryFace {
        GalleryFace(
            imageID: 0, box: face.box, landmarks: face.landmarks, detectorScore: face.score, quality: face.quality,
            modelID: template.modelID, template: GalleryFace.encode(template))
    }

    /// SHA-256 of a file read in 1 MiB pieces (videos can be larger than memory allows).
    static func hashFile(_ path: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageError.unreadable(path: path, reason: "cannot open the file")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Data(hasher.finalize())
    }
}

/// Says every `interval` that an ingest run is alive, until stopped. A run whose
/// heartbeat is older than `Governance.abandonedRunAfter` is one whose process died.
final class RunHeartbeat: Sendable {
    static let interval: Double = 20
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    init(store: GalleryStore, runID: Int64) {
        try? store.beat(runID: runID)
        let wake = self.wake
        Thread.detachNewThread {
            while wake.wait(timeout: .now() + Self.interval) == .timedOut { try? store.beat(runID: runID) }
        }
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        wake.signal()
    }

    deinit { stop() }
}
