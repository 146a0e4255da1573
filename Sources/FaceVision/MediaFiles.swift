import Dispatch
import Foundation
import Synchronization

/// Which files Lineup reads as photos and videos, judged by name, and how it lists them.
public enum MediaFiles {
    public static let photoExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mkv", "avi", "webm", "mov"]

    public static func isPhoto(_ path: String) -> Bool { photoExtensions.contains(pathExtension(path)) }
    public static func isVideo(_ path: String) -> Bool { videoExtensions.contains(pathExtension(path)) }
    public static func isPhotoOrVideo(_ path: String) -> Bool { isPhoto(path) || isVideo(path) }
    /// A web archive: `.warc`, or `.warc.gz` (gzip'd record by record).
    public static func isWebArchive(_ path: String) -> Bool {
        let name = path.lowercased()
        return name.hasSuffix(".warc") || name.hasSuffix(".warc.gz")
    }

    /// The photos and videos under `folder`, walked recursively with hidden entries
    /// skipped, sorted; a link that leads outside `folder` is left out.
    public static func list(under folder: URL) -> [String] {
        walk(under: folder, confinedTo: folder).files
    }

    /// What a walk found: files to read, by their real paths inside the root, and the
    /// entries that lead outside it (links), by the paths they were found at.
    public struct Walk: Sendable, Equatable {
        public var files: [String]
        public var outside: [String]

        public init(files: [String], outside: [String]) {
            self.files = files
            self.outside = outside
        }
    }

    /// The photos and videos (or the files `matching` picks) under `folder`, walked
    /// recursively with hidden entries skipped. Every entry is resolved through its links: a file whose real path lies
    /// inside `root` is listed by that real path (a link to another file of the root is
    /// that file), one that leaves `root` is only named in `outside`, and a link to a
    /// folder is never descended, so nothing outside the root is ever read.
    public static func walk(
        under folder: URL, confinedTo root: URL, matching: (String) -> Bool = isPhotoOrVideo
    ) -> Walk {
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        let prefix = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
        let walker = FileManager.default.enumerator(
            at: folder, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey],
            options: [.skipsHiddenFiles])
        var files = Set<String>(), outside: [String] = []
        while let item = walker?.nextObject() as? URL {
            guard matching(item.path) else { continue }
            let real = item.resolvingSymlinksInPath().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: real, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            if real.hasPrefix(prefix) { files.insert(real) } else { outside.append(item.path) }
        }
        return Walk(files: files.sorted(), outside: outside.sorted())
    }

    private static func pathExtension(_ path: String) -> String { (path as NSString).pathExtension.lowercased() }
}

extension Array {
    /// At most `count` elements taken at even steps from the start: a sample that
    /// spans the whole list (photos sorted by person span many people).
    public func evenlySpaced(count: Int) -> [Element] {
        guard count > 0, !isEmpty else { return [] }
        let step = Swift.max(1, self.count / count)
        return Array(stride(from: 0, to: self.count, by: step).map { self[$0] }.prefix(count))
    }
}

/// Runs `body(worker, item)` for every item in `0..<count` on `workers` threads; each
/// worker takes the next item as soon as it is free, so slow items do not hold up
/// the others. Returns when all items are done.
public func drainConcurrently(count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: Swift.max(1, workers)) { worker in
        while true {
            let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard item < count else { return }
            body(worker, item)
        }
    }
}
