import Dispatch
import Foundation
import Synchronization

extension HNSWIndex {
    /// Half-precision scores (`halfPrecisionScoreTolerance`).
    public var rangeScoreTolerance: Float { halfPrecisionScoreTolerance }

    /// Every live slot scored from its half-precision vector, split across cores: at
    /// ten million 128-value templates, 2.6 GB read once.
    public func rangeSearch(_ query: [Float], minScore: Float) -> [SearchHit]? {
        precondition(query.count == dimension)
        return structure.read {
            let used = state.withLock { $0.used }
            let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, used / 100_000))
            let found = Mutex<[SearchHit]>([])
            let storage = UnsafeSendable(storage), dimension = dimension
            query.withUnsafeBufferPointer { q in
                let q = UnsafeSendable(q)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    var mine: [SearchHit] = []
                    let store = storage.value
                    for slot in used * part / parts..<used * (part + 1) / parts where store.levels[slot] >= 0 {
                        let score = innerProduct(q.value.baseAddress!, store.vector(Int32(slot)), count: dimension)
                        if score >= minScore { mine.append(SearchHit(id: store.ids[slot], score: score)) }
                    }
                    found.withLock { $0.append(contentsOf: mine) }
                }
            }
            return found.withLock { $0 }.sorted { $0.score > $1.score }
        }
    }
}

extension ExactIndex {
    /// Exact scores: every float vector compared.
    public var rangeScoreTolerance: Float { 0 }

    public func rangeSearch(_ query: [Float], minScore: Float) -> [SearchHit]? {
        var found: [SearchHit] = []
        query.withUnsafeBufferPointer { q in
            forEachFace { id, _, vector in
                let score = dot(q.baseAddress!, vector.baseAddress!, count: dimension)
                if score >= minScore { found.append(SearchHit(id: id, score: score)) }
            }
        }
        return found.sorted { $0.score > $1.score }
    }
}
