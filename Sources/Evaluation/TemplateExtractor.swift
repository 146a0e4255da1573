import Dispatch
import FaceVision
import Foundation
import Synchronization

/// Computes the template of the most prominent face of many photos in parallel.
///
/// Each worker owns a pipeline (networks are not shared across threads) and runs
/// OpenCV single-threaded: parallelism across photos scales better than inside
/// one small network pass.
public struct TemplateExtractor: Sendable {
    public let pipelines: [FacePipeline]
    public let cache: TemplateCache?

    /// Builds `workers` pipelines with `make`.
    public init(workers: Int, cache: TemplateCache?, make: () throws -> FacePipeline) rethrows {
        pipelines = try (0..<max(1, workers)).map { _ in try make() }
        self.cache = cache
    }

    public var modelID: String { pipelines[0].modelID }

    /// Outcomes in the order of `paths`. `progress` is called after each photo with the
    /// number done so far (from worker threads).
    public func extract(_ paths: [String], progress: (@Sendable (Int) -> Void)? = nil) -> [ExtractionOutcome] {
        let results = Mutex([ExtractionOutcome](repeating: .noFace, count: paths.count))
        let done = Atomic<Int>(0)
        // Several workers each run OpenCV on one thread; one worker leaves the
        // process-wide setting alone (see `Gallery.ingest`).
        let previousThreads = OpenCV.threads
        if pipelines.count > 1 { OpenCV.threads = 1 }
        defer { if pipelines.count > 1 { OpenCV.threads = previousThreads } }
        drainConcurrently(count: paths.count, workers: pipelines.count) { worker, index in
            let outcome = extractOne(paths[index], pipeline: pipelines[worker])
            results.withLock { $0[index] = outcome }
            progress?(done.wrappingAdd(1, ordering: .relaxed).newValue)
        }
        try? cache?.flush()
        return results.withLock { $0 }
    }

    private func extractOne(_ path: String, pipeline: FacePipeline) -> ExtractionOutcome {
        do {
            let bytes = try Image.readFile(path, limits: pipeline.limits)
            let key = TemplateCache.key(of: bytes)
            if let cached = cache?.lookup(key) { return cached }
            let image = try Image(data: bytes, limits: pipeline.limits)
            let faces = try pipeline.detectProbe(in: image)
            let outcome: ExtractionOutcome = faces.isEmpty ? .noFace : .template(try pipeline.embed(in: image, faces: faces).template)
            cache?.store(outcome, for: key)
            return outcome
        } catch {
            return .failed(String(describing: error))
        }
    }
}

/// Photos grouped by person: every image file in `root/<person>/`.
public struct IdentityFolder: Sendable {
    public var identities: [String]
    /// Image paths with the index of their identity.
    public var images: [(path: String, identity: Int)]

    public init(root: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: root])
        }
        identities = []
        images = []
        for person in try manager.contentsOfDirectory(atPath: root).sorted() {
            let folder = root + "/" + person
            guard manager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let files = try manager.contentsOfDirectory(atPath: folder).sorted()
                .filter(MediaFiles.isPhoto)
            guard !files.isEmpty else { continue }
            identities.append(person)
            images += files.map { (folder + "/" + $0, identities.count - 1) }
        }
    }
}
