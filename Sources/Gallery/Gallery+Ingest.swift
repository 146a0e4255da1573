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

        public init(
            videoInterval: Double = 1.0, faces: FaceSelection = .all,
            withhold: (@Sendable (FaceTemplate) -> Bool)? = nil,
            recorded: (@Sendable (any MetadataTransaction, SourceFile, [Int64]) throws -> Void)? = nil,
            shouldStop: (@Sendable () -> Bool)? = nil
        ) {
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
    }

    public struct IngestSummary: Sendable, Codable {
        public var runID: Int64
        public var source: String
        public var filesSeen: Int
        public var filesIngested: Int
        public var filesSkipped: Int
        public var faces: Int
        /// Faces found but not stored because `withhold` said so.
        public var facesWithheld: Int
        public var errors: [FileError]
        public var seconds: Double
        public var facesPerSecond: Double
        public var filesPerSecond: Double
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
    public static func mediaFiles(in paths: [String], root: String) throws -> MediaFiles.Walk {
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
            let walk = MediaFiles.walk(under: url, confinedTo: rootURL)
            files.formUnion(walk.files)
            outside += walk.outside
        }
        return MediaFiles.Walk(files: files.sorted(), outside: outside.sorted())
    }

    /// Takes the files under `paths` into `source`, one worker per pipeline. Files
    /// already stored (same content) are skipped; a file that cannot be read is
    /// recorded as an error of the run and the run goes on. Each file is committed
    /// with all its faces in one transaction, and the index snapshot is saved at the end.
    public func ingest(
        source: Source, paths: [String], pipelines: [FacePipeline], options: IngestOptions = .init(),
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) throws -> IngestSummary {
        guard let sourceID = source.id, let root = source.root else {
            throw StoreError.invalid("source '\(source.name)' has no root folder to ingest from")
        }
        if let other = pipelines.first(where: { $0.modelID != modelID }) { throw Self.modelMismatch(held: modelID, asked: other.modelID) }
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let walk = try Self.mediaFiles(in: paths, root: root)
        let files = walk.files
        let start = Date()
        var run = try store.startRun(sourceID: sourceID)
        let runID = run.id!
        let done = Atomic<Int>(0), faces = Atomic<Int>(0), withheld = Atomic<Int>(0)
        let ingested = Atomic<Int>(0), skipped = Atomic<Int>(0)
        let errors = Mutex<[IngestSummary.FileError]>([])
        for link in walk.outside {
            let relative = link.hasPrefix(Self.folderPrefix(rootPath)) ? String(link.dropFirst(Self.folderPrefix(rootPath).count)) : link
            let message = "a link that leads outside the source root: not read"
            errors.withLock { $0.append(.init(path: relative, message: message)) }
            try? store.recordError(runID: runID, path: relative, message: message)
        }
        // The run says it is alive while it works, so a run whose process died (a
        // crash, kill -9) is told apart from a long one and closed later.
        let heartbeat = RunHeartbeat(store: store, runID: runID)
        defer { heartbeat.stop() }
        // Several workers each run OpenCV on one thread. One worker leaves OpenCV's
        // threads alone: the setting is process-wide, and changing it while another
        // thread is inside OpenCV (a search, another ingest) can crash its thread pool.
        let previousThreads = OpenCV.threads
        if pipelines.count > 1 { OpenCV.threads = 1 }
        defer { if pipelines.count > 1 { OpenCV.threads = previousThreads } }

        let stopped = Atomic<Bool>(false)
        drainConcurrently(count: files.count, workers: pipelines.count) { worker, index in
            if stopped.load(ordering: .relaxed) || options.shouldStop?() == true {
                stopped.store(true, ordering: .relaxed)
                return
            }
            let path = files[index]
            let relative = String(path.dropFirst(Self.folderPrefix(rootPath).count))
            do {
                switch try ingestFile(
                    path: path, relative: relative, source: source, runID: runID,
                    pipeline: pipelines[worker], options: options)
                {
                case .none:
                    skipped.add(1, ordering: .relaxed)
                case .some(let (stored, held)):
                    ingested.add(1, ordering: .relaxed)
                    faces.add(stored, ordering: .relaxed)
                    withheld.add(held, ordering: .relaxed)
                }
            } catch {
                let message = String(describing: error)
                errors.withLock { $0.append(.init(path: relative, message: message)) }
                try? store.recordError(runID: runID, path: relative, message: message)
            }
            let finished = done.add(1, ordering: .relaxed).newValue
            progress?(
                IngestProgress(
                    filesDone: finished, filesTotal: files.count, faces: faces.load(ordering: .relaxed),
                    skipped: skipped.load(ordering: .relaxed), errors: errors.withLock { $0.count }))
        }
        try saveIndex()
        let fileErrors = errors.withLock { $0 }.sorted { $0.path < $1.path }
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
            filesSkipped: run.filesSkipped, faces: run.faces,
            facesWithheld: withheld.load(ordering: .relaxed), errors: fileErrors, seconds: seconds,
            facesPerSecond: Double(run.faces) / max(seconds, 1e-9),
            filesPerSecond: Double(run.filesSeen) / max(seconds, 1e-9), stopped: run.interrupted)
    }

    /// Stores one file; returns its stored and withheld face counts, or nil when its
    /// content was stored before.
    private func ingestFile(
        path: String, relative: String, source: Source, runID: Int64, pipeline: FacePipeline,
        options: IngestOptions
    ) throws -> (stored: Int, withheld: Int)? {
        let sourceID = source.id!
        let isVideo = MediaFiles.isVideo(path)
        let bytes = isVideo ? nil : try Image.readFile(path, limits: pipeline.limits)
        let digest = try bytes.map { Data(SHA256.hash(data: $0)) } ?? Self.hashFile(path)
        if try store.containsFile(sourceID: sourceID, sha256: digest) { return nil }
        let now = Date()
        var pictures =
            try bytes.map {
                try photoPictures($0, relative: relative, sourceID: sourceID, pipeline: pipeline, selection: options.faces, at: now)
            }
            ?? videoPictures(path, relative: relative, sourceID: sourceID, pipeline: pipeline, options: options, at: now)
        let withheld = Self.withhold(from: &pictures, options: options)
        let file = SourceFile(
            sourceID: sourceID, sha256: digest, path: relative, kind: isVideo ? .video : .photo,
            faceCount: 0, ingestedAt: now, runID: runID)
        guard let stored = try store.record(file: file, pictures: pictures, alsoInTransaction: options.recorded) else { return nil }
        let faces = Self.indexed(stored, of: source)
        do {
            try index.add(faces)
        } catch {
            // Unsearchable faces are not kept (a shared index refused them): the file is
            // taken back whole, so the run reports it and the next run takes it again.
            try store.unrecord(fileSHA256: digest, sourceID: sourceID)
            options.withdrawn?(file, stored.compactMap(\.id))
            throw error
        }
        return (stored.count, withheld)
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

    private func photoPictures(
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
