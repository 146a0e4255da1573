import Dispatch
import Foundation
import Synchronization
import Vision

/// Exact search: every query is scored against every vector, 16 lanes at a time,
/// split across threads. The test oracle for every other index, and the default
/// for galleries small enough that a full scan answers within a few milliseconds.
///
/// Vectors are stored contiguously; removing one moves the last into its slot and
/// zeroes the freed bytes, so an erased template does not linger in memory.
public final class ExactIndex: VectorIndex, @unchecked Sendable {
    public let dimension: Int
    /// Threads a search may use.
    public let threads: Int
    private let lock = ReadWriteLock()
    private var ids: [Int64] = []
    private var vectors: [Float] = []
    private var slots: [Int64: Int] = [:]

    public init(dimension: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.dimension = dimension
        self.threads = max(1, threads)
    }

    public var count: Int { lock.read { ids.count } }

    /// The largest id stored (0 when empty): where loading from the store resumes.
    public var maxID: Int64 { lock.read { ids.max() ?? 0 } }

    public func add(id: Int64, vector: UnsafeBufferPointer<Float>) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, the index \(dimension)")
        lock.write {
            if let slot = slots[id] {
                for i in 0..<dimension { vectors[slot * dimension + i] = vector[i] }
                return
            }
            slots[id] = ids.count
            ids.append(id)
            vectors.append(contentsOf: vector)
        }
    }

    @discardableResult
    public func remove(id: Int64) -> Bool {
        lock.write {
            guard let slot = slots.removeValue(forKey: id) else { return false }
            let last = ids.count - 1
            if slot != last {
                ids[slot] = ids[last]
                slots[ids[slot]] = slot
                for i in 0..<dimension { vectors[slot * dimension + i] = vectors[last * dimension + i] }
            }
            for i in 0..<dimension { vectors[last * dimension + i] = 0 }
            ids.removeLast()
            vectors.removeLast(dimension)
            return true
        }
    }

    public func search(_ query: [Float], k: Int, filter: (@Sendable (Int64) -> Bool)?) -> [SearchHit] {
        precondition(query.count == dimension)
        guard k > 0 else { return [] }
        return lock.read {
            let n = ids.count
            // Below ~50k vectors a second thread costs more than it saves.
            let parts = min(threads, max(1, n / 50_000))
            let partials = Mutex(TopK(k: k))
            let dimension = dimension
            ids.withUnsafeBufferPointer { idBuffer in
                vectors.withUnsafeBufferPointer { vectorBuffer in
                    query.withUnsafeBufferPointer { q in
                        let ids = UnsafeSendable(idBuffer), vectors = UnsafeSendable(vectorBuffer), q = UnsafeSendable(q)
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            var best = TopK(k: k)
                            let start = n * part / parts, end = n * (part + 1) / parts
                            let base = vectors.value.baseAddress!, query = q.value.baseAddress!
                            for row in start..<end {
                                let score = dot(query, base + row * dimension, count: dimension)
                                guard score > best.floor else { continue }
                                let id = ids.value[row]
                                if let filter, !filter(id) { continue }
                                best.offer(id: id, score: score)
                            }
                            partials.withLock { $0.merge(best) }
                        }
                    }
                }
            }
            return partials.withLock { $0.hits }
        }
    }

    /// Visits every (id, vector) under the read lock.
    public func forEach(_ body: (Int64, UnsafeBufferPointer<Float>) -> Void) {
        lock.read {
            vectors.withUnsafeBufferPointer { all in
                for (row, id) in ids.enumerated() {
                    body(id, UnsafeBufferPointer(rebasing: all[(row * dimension)..<((row + 1) * dimension)]))
                }
            }
        }
    }

    /// Replaces the whole content at once (used when loading a snapshot).
    public func load(ids newIDs: [Int64], vectors newVectors: [Float]) {
        precondition(newVectors.count == newIDs.count * dimension)
        lock.write {
            ids = newIDs
            vectors = newVectors
            slots = Dictionary(uniqueKeysWithValues: newIDs.enumerated().map { ($1, $0) })
        }
    }
}

/// Lets a buffer pointer cross into concurrentPerform's closure; the buffers
/// outlive the call and are only read.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
