import Dispatch
import Foundation
import Synchronization

/// Which files Lineup reads as photos and videos, judged by name, and how it lists them.
public enum MediaFiles {
    public static let photoExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mkv", "avi", "webm", "mov"]

    public static func isPhoto(_ path: String) -> Bool { photoExtensions.contains(pathExtension(path)) }
    public static func isVideo(_ path: String) -> Bool { videoExtensions.contains(pathExtension(path)) }

    /// The photos and videos under `folder`, walked recursively with hidden entries skipped, sorted.
    public static func list(under folder: URL) -> [String] {
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey],
                                                    options: [.skipsHiddenFiles])
        var files: [String] = []
        while let item = walker?.nextObject() as? URL {
            if isPhoto(item.path) || isVideo(item.path) { files.append(item.path) }
        }
        return files.sorted()
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
