/// A nearest-neighbour index over face templates (unit vectors, inner product).
///
/// Swappable: the exact index is the test oracle and the default for small
/// galleries; approximate and distributed indexes implement the same protocol.
/// Ids are the gallery's face ids.
public protocol VectorIndex: AnyObject, Sendable {
    var dimension: Int { get }
    var count: Int { get }
    /// Adds or replaces the vector of `id`.
    func add(id: Int64, vector: UnsafeBufferPointer<Float>)
    /// Removes `id` and overwrites its vector; false when it was not there.
    @discardableResult func remove(id: Int64) -> Bool
    /// Removes every id given (those that are there) and overwrites their vectors.
    @discardableResult func remove(ids: [Int64]) -> Int
    /// The `k` best-scoring entries for which `filter` (when given) is true, best first.
    func search(_ query: [Float], k: Int, filter: (@Sendable (Int64) -> Bool)?) -> [SearchHit]
}

extension VectorIndex {
    public func add(id: Int64, vector: [Float]) {
        vector.withUnsafeBufferPointer { add(id: id, vector: $0) }
    }

    @discardableResult
    public func remove(ids: [Int64]) -> Int {
        ids.reduce(0) { $0 + (remove(id: $1) ? 1 : 0) }
    }

    public func search(_ query: [Float], k: Int) -> [SearchHit] {
        search(query, k: k, filter: nil)
    }
}

public struct SearchHit: Sendable, Equatable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// The k best hits seen so far, kept sorted best first. For the small k of a
/// candidate list, insertion into a sorted array beats a heap.
struct TopK {
    let k: Int
    private(set) var hits: [SearchHit] = []

    init(k: Int) {
        self.k = k
        hits.reserveCapacity(k + 1)
    }

    /// The score a new hit must beat.
    var floor: Float { hits.count < k ? -.infinity : hits[hits.count - 1].score }

    mutating func offer(id: Int64, score: Float) {
        guard score > floor else { return }
        var position = hits.count
        while position > 0, hits[position - 1].score < score { position -= 1 }
        hits.insert(SearchHit(id: id, score: score), at: position)
        if hits.count > k { hits.removeLast() }
    }

    mutating func merge(_ other: TopK) {
        for hit in other.hits { offer(id: hit.id, score: hit.score) }
    }
}
