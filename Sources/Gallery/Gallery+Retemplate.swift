import Crypto
import FaceVision
import Foundation
import Index
import Store
import Synchronization

extension Gallery {
    public struct RetemplateProgress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var faces: Int
        public var errors: Int
    }

    public struct RetemplateSummary: Sendable, Codable {
        public var from: String
        public var to: String
        public var filesDone: Int
        public var faces: Int
        /// Faces still carrying the earlier model (their files had errors, or the run stopped).
        public var facesLeft: Int
        public var errors: [IngestSummary.FileError]
        /// Every face carries the new model: the gallery is searched with it from now on.
        public var finished: Bool
        public var stopped: Bool
        public var seconds: Double
        public var facesPerSecond: Double
    }

    /// Makes every face's template again with `pipelines` (whose model is this
    /// gallery's `modelID`, the target), from the original files under each source's
    /// root: each face is found again at its stored box (`FacePipeline.findAgain`),
    /// aligned as the pipeline says and embedded; its id, box, provenance and key stay.
    /// One transaction per file, one worker per pipeline. A file that is gone, changed
    /// or no longer shows a face is an error of the run and keeps its faces' earlier
    /// templates; the gallery changes model only when every face has the new one
    /// (then the index is made again from the database). Resumable: a run stopped by
    /// `shouldStop`, a crash or errors is taken up by the next, which does only what
    /// is left. Opt-out and access-request templates are not made again (no photo of
    /// an opt-out is kept): they are SFace templates of the same embedder and stay
    /// comparable (see the README's "Alignment"). `retiring`: the shared index of the
    /// earlier templates, dropped when the run finishes (cluster mode; nil when the new
    /// templates go to the same collection, which is made again).
    public func retemplate(
        pipelines: [FacePipeline], retiring: (any SharedFaceIndex)? = nil, shouldStop: (@Sendable () -> Bool)? = nil,
        progress: (@Sendable (RetemplateProgress) -> Void)? = nil
    ) throws -> RetemplateSummary {
        guard !pipelines.isEmpty else { throw StoreError.invalid("re-templating needs at least one pipeline") }
        if let other = pipelines.first(where: { $0.modelID != modelID }) {
            throw StoreError.invalid("the pipelines make \(other.modelID) templates, not \(modelID)")
        }
        let start = Date()
        let from = try store.beginRetemplate(to: modelID)
        guard from != modelID else {
            return RetemplateSummary(
                from: from, to: modelID, filesDone: 0, faces: 0, facesLeft: 0, errors: [], finished: true, stopped: false,
                seconds: 0, facesPerSecond: 0)
        }
        let backlog = try store.retemplateBacklog(target: modelID)
        let done = Atomic<Int>(0), faces = Atomic<Int>(0), stopped = Atomic<Bool>(false)
        let errors = Mutex<[IngestSummary.FileError]>([])
        let previousThreads = OpenCV.threads
        if pipelines.count > 1 { OpenCV.threads = 1 }
        defer { if pipelines.count > 1 { OpenCV.threads = previousThreads } }
        var after: Int64 = 0
        while !stopped.load(ordering: .relaxed) {
            let batch = try store.filesToRetemplate(target: modelID, afterFileID: after, limit: 256)
            guard let last = batch.last else { break }
            after = last.file.id!
            drainConcurrently(count: batch.count, workers: pipelines.count) { worker, index in
                if stopped.load(ordering: .relaxed) || shouldStop?() == true {
                    stopped.store(true, ordering: .relaxed)
                    return
                }
                let item = batch[index]
                do {
                    let remade = try Self.remake(item, pipeline: pipelines[worker])
                    faces.add(try store.replaceTemplates(of: remade), ordering: .relaxed)
                } catch {
                    errors.withLock { $0.append(.init(path: item.source.name + ": " + item.file.path, message: String(describing: error))) }
                }
                progress?(
                    RetemplateProgress(
                        filesDone: done.add(1, ordering: .relaxed).newValue, filesTotal: backlog.files,
                        faces: faces.load(ordering: .relaxed), errors: errors.withLock { $0.count }))
            }
        }
        let left = try store.retemplateBacklog(target: modelID).faces
        var finished = false
        if left == 0, !stopped.load(ordering: .relaxed) {
            // The new index is made and the earlier one gone before the gallery changes
            // model: a crash in between is finished by the next run, which redoes both.
            try rebuildIndexAfterRetemplate()
            try retiring?.drop()
            try removeSnapshots(ofModel: from)
            _ = try store.finishRetemplate()
            finished = true
        }
        let seconds = Date().timeIntervalSince(start)
        return RetemplateSummary(
            from: from, to: modelID, filesDone: done.load(ordering: .relaxed), faces: faces.load(ordering: .relaxed),
            facesLeft: left, errors: errors.withLock { $0 }.sorted { $0.path < $1.path }, finished: finished,
            stopped: stopped.load(ordering: .relaxed), seconds: seconds,
            facesPerSecond: Double(faces.load(ordering: .relaxed)) / max(seconds, 1e-9))
    }

    /// The faces of one file with new landmarks, quality and templates (in the clear).
    static func remake(_ item: GalleryStore.FileToRetemplate, pipeline: FacePipeline) throws -> [GalleryFace] {
        let path = try originalPath(of: item.file, in: item.source)
        var remade: [GalleryFace] = []
        func remake(_ faces: [(face: GalleryFace, picture: GalleryImage)], in image: Image) throws {
            let found = try pipeline.findAgain(faces.map(\.face.box), in: image)
            for (stored, again) in zip(faces, found) {
                guard let again else {
                    throw StoreError.invalid("face \(stored.face.id!) is no longer found at its box in the original")
                }
                var face = stored.face
                let template = try pipeline.embedder.embed(again, in: image)
                face.landmarks = again.landmarks
                face.quality = again.quality
                face.modelID = template.modelID
                face.template = GalleryFace.encode(template)
                remade.append(face)
            }
        }
        // The file's digest taken as ingest took it: a photo's bytes, a web archive
        // picture's payload (read again at its record), a video read in pieces.
        let bytes: [UInt8]? =
            switch item.file.kind {
            case .photo: try Image.readFile(path, limits: pipeline.limits)
            case .webImage: try Self.archivedPayload(at: item.file.recordOffset ?? 0, in: path, limits: pipeline.limits)
            case .video: nil
            }
        guard (try bytes.map({ Data(SHA256.hash(data: $0)) }) ?? hashFile(path)) == item.file.sha256 else {
            throw StoreError.invalid("the original has changed since it was ingested")
        }
        if let bytes {
            try remake(item.faces, in: try Image(data: bytes, limits: pipeline.limits))
        } else {
            let reader = try VideoReader(path: path)
            // The frame each face was kept from, by its number (as `sample` timed it).
            func frameNumber(_ seconds: Double) -> Int { Int((seconds * reader.framesPerSecond).rounded()) }
            let byFrame = Dictionary(grouping: item.faces) { frameNumber($0.picture.frameSeconds ?? 0) }
            var seen = 0
            try reader.frames(at: item.faces.map { $0.picture.frameSeconds ?? 0 }) { frame, seconds in
                guard let faces = byFrame[frameNumber(seconds)] else { return }
                seen += 1
                try remake(faces, in: frame)
            }
            guard seen == byFrame.count else { throw StoreError.invalid("the video ends before a frame a face was kept from") }
        }
        return remade
    }

    /// Where a stored file's original is: under its source's root, never outside it.
    static func originalPath(of file: SourceFile, in source: Source) throws -> String {
        guard let root = source.root else { throw StoreError.invalid("source '\(source.name)' has no root folder to read originals from") }
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
        let url = rootURL.appendingPathComponent(file.path).standardizedFileURL.resolvingSymlinksInPath()
        guard url.path.hasPrefix(folderPrefix(rootURL.path)) else { throw StoreError.outsideSourceRoot(path: file.path, root: root) }
        guard FileManager.default.fileExists(atPath: url.path) else { throw StoreError.invalid("the original is gone from the source's root") }
        return url.path
    }

    /// The index made again from the new templates: in this process, loaded from the
    /// database and saved; a shared one emptied and filled again.
    private func rebuildIndexAfterRetemplate() throws {
        if indexKindKnownNow == .shared {
            _ = try rebuildSharedIndex()
        } else {
            try saveIndex()
        }
    }
}
