import Dispatch
import Foundation
import Synchronization

/// Exact search: every query is scored against every vector, 16 lanes at a time,
/// split across threads. The test oracle for every other index, and the default
/// for galleries small enough that a full scan answers within a few milliseconds.
///
/// Vectors are stored contiguously, with each face's id and source beside them;
/// removing one moves the last into its slot and zeroes the freed bytes, so an
/// erased template does not linger in memory.
public final class ExactIndex: SnapshottingIndex, @unchecked Sendable {
    public let dimension: Int
    /// Threads a search may use.
    public let threads: Int
    private let lock = ReadWriteLock()
    private var ids: [Int64] = []
    private var sources: [Int64] = []
    private var vectors: [Float] = []
    private var slots: [Int64: Int] = [:]

    public init(dimension: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.dimension = dimension
        self.threads = max(1, threads)
    }

    public var engine: String { "exact, in this process" }

    public var count: Int { lock.read { ids.count } }

    public var countInProcess: Int? { count }

    public var maxID: Int64 { lock.read { ids.max() ?? 0 } }

    public func add(_ faces: [IndexedFace]) {
        for face in faces { face.vector.withUnsafeBufferPointer { add(id: face.id, source: face.source, vector: $0) } }
    }

    public func add(id: Int64, source: Int64 = 0, vector: [Float]) {
        vector.withUnsafeBufferPointer { add(id: id, source: source, vector: $0) }
    }

    /// Adds or replaces the vector of `id`.
    public func add(id: Int64, source: Int64 = 0, vector: UnsafeBufferPointer<Float>) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, the index \(dimension)")
        lock.write {
            if let slot = slots[id] {
                for i in 0..<dimension { vectors[slot * dimension + i] = vector[i] }
                sources[slot] = source
                return
            }
            slots[id] = ids.count
            ids.append(id)
            sources.append(source)
            vectors.append(contentsOf: vector)
        }
    }

    /// Removes `id` and overwrites its vector; false when it was not there.
    @discardableResult
    public func remove(id: Int64) -> Bool {
        lock.write {
            guard let slot = slots.removeValue(forKey: id) else { return false }
            let last = ids.count - 1
            if slot != last {
                ids[slot] = ids[last]
                sources[slot] = sources[last]
                slots[ids[slot]] = slot
                for i in 0..<dimension { vectors[slot * dimension + i] = vectors[last * dimension + i] }
            }
            for i in 0..<dimension { vectors[last * dimension + i] = 0 }
            ids.removeLast()
            sources.removeLast()
            vectors.removeLast(dimension)
            return true
        }
    }

    @discardableResult
    public func remove(ids: [Int64]) -> Int {
        ids.reduce(0) { $0 + (remove(id: $1) ? 1 : 0) }
    }

    /// A million ids a range, so a caller comparing range by range (reconciling with
    /// the database) holds a million ids at a time, not the whole gallery.
    public var idRangeLimit: Int64 { 1 << 20 }

    public func faceIDs(in range: Range<Int64>) -> Set<Int64> {
        lock.read { Set(ids.filter(range.contains)) }
    }

    /// The `k` best-scoring entries `filter` admits, best first.
    public func search(_ query: [Float], k: Int, filter: SearchFilter = .all) -> [SearchHit] {
        search(query, parameters: SearchParameters(k: k, filter: filter))
    }

    public func search(_ query: [Float], parameters: SearchParameters) -> [SearchHit] {
        precondition(query.count == dimension)
        let k = parameters.k
        guard k > 0 else { return [] }
        let filter = parameters.filter.admitsAll ? nil : parameters.filter
        return lock.read {
            let n = ids.count
            // Below ~50k vectors a second thread costs more than it saves.
            let parts = min(threads, max(1, n / 50_000))
            let partials = Mutex(TopK(k: k))
            let dimension = dimension
            ids.withUnsafeBufferPointer { idBuffer in
                sources.withUnsafeBufferPointer { sourceBuffer in
                    vectors.withUnsafeBufferPointer { vectorBuffer in
                        query.withUnsafeBufferPointer { q in
                            let ids = UnsafeSendable(idBuffer), sources = UnsafeSendable(sourceBuffer)
                            let vectors = UnsafeSendable(vectorBuffer), q = UnsafeSendable(q)
                            DispatchQueue.concurrentPerform(iterations: parts) { part in
                                var best = TopK(k: k)
                                let start = n * part / parts, end = n * (part + 1) / parts
                                let base = vectors.value.baseAddress!, query = q.value.baseAddress!
                                for row in start..<end {
                                    let score = dot(query, base + row * dimension, count: dimension)
                                    guard score > best.floor else { continue }
                                    let id = ids.value[row]
                                    if let filter, !filter.accepts(id: id, source: sources.value[row]) { continue }
                                    best.offer(id: id, score: score)
                                }
                                partials.withLock { $0.merge(best) }
                            }
                        }
                    }
                }
            }
            return partials.withLock { $0.hits }
        }
    }

    /// Visits every (id, source, vector) under the read lock.
    public func forEachFace(_ body: (Int64, Int64, UnsafeBufferPointer<Float>) -> Void) {
        lock.read {
            vectors.withUnsafeBufferPointer { all in
                for (row, id) in ids.enumerated() {
                    body(id, sources[row], UnsafeBufferPointer(rebasing: all[(row * dimension)..<((row + 1) * dimension)]))
                }
            }
        }
    }

    /// The ids, sources and vectors as the index holds them, contiguous, under the
    /// read lock (a snapshot is written from them without a copy).
    func withContents<Result>(
        _ body: (UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Float>) throws -> Result
    ) rethrows -> Result {
        try lock.read {
            try ids.withUnsafeBufferPointer { ids in
                try sources.withUnsafeBufferPointer { sources in
                    try vectors.withUnsafeBufferPointer { vectors in try body(ids, sources, vectors) }
                }
            }
        }
    }

    /// Replaces the whole content at once (used when loading a snapshot).
    public func load(ids newIDs: [Int64], sources newSources: [Int64], vectors newVectors: [Float]) {
        precondition(newVectors.count == newIDs.count * dimension && newSources.count == newIDs.count)
        lock.write {
            ids = newIDs
            sources = newSources
            vectors = newVectors
            slots = Dictionary(uniqueKeysWithValues: newIDs.enumerated().map { ($1, $0) })
        }
    }

    /// Empties the index.
    public func removeAll() {
        load(ids: [], sources: [], vectors: [])
    }

    public func save(modelID: String, to path: String, sealing: (any SnapshotSealing)? = nil) throws {
        try IndexSnapshot.save(self, modelID: modelID, to: path, sealing: sealing)
    }
}

/// Lets a buffer pointer cross into concurrentPerform's closure; the buffers
/// outlive the call and are only read (or each part writes its own elements).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
