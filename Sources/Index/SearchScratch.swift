/// A node met during a graph search, with its score against the query.
struct Candidate {
    var slot: Int32
    var score: Float
}

/// Per-search working memory, pooled by the index so a search allocates nothing.
struct SearchScratch {
    var visited = VisitedSet()
    var frontier = CandidateHeap(bestOnTop: true)
    var results = CandidateHeap(bestOnTop: false)
    /// Link rows copied out under a node's lock during construction.
    var row: [Int32] = []
}

/// Visited marks by generation, so clearing between searches costs nothing.
struct VisitedSet {
    private var marks: [UInt16] = []
    private var generation: UInt16 = 0

    mutating func reset(capacity: Int) {
        if marks.count < capacity { marks.append(contentsOf: repeatElement(0, count: capacity - marks.count)) }
        generation &+= 1
        if generation == 0 {
            for i in marks.indices { marks[i] = 0 }
            generation = 1
        }
    }

    /// Marks `slot`; true when it was not marked yet.
    @inline(__always)
    mutating func insert(_ slot: Int32) -> Bool {
        marks.withUnsafeMutableBufferPointer { marks in
            if marks[Int(slot)] == generation { return false }
            marks[Int(slot)] = generation
            return true
        }
    }
}

/// Binary heap of candidates: best score on top (the search frontier) or worst on
/// top (the result set, trimmed from below).
struct CandidateHeap {
    private var items: [Candidate] = []
    private let bestOnTop: Bool

    init(bestOnTop: Bool) { self.bestOnTop = bestOnTop }

    var count: Int { items.count }
    var top: Candidate? { items.first }
    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    @inline(__always)
    private static func above(_ a: Float, _ b: Float, _ bestOnTop: Bool) -> Bool { bestOnTop ? a > b : a < b }

    mutating func push(_ item: Candidate) {
        items.append(item)
        let bestOnTop = bestOnTop
        items.withUnsafeMutableBufferPointer { items in
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.above(item.score, items[parent].score, bestOnTop) else { break }
                items[child] = items[parent]
                child = parent
            }
            items[child] = item
        }
    }

    mutating func pop() -> Candidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        let bestOnTop = bestOnTop
        items.withUnsafeMutableBufferPointer { items in
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = -1
                if left < items.count { best = left }
                if right < items.count, Self.above(items[right].score, items[left].score, bestOnTop) { best = right }
                guard best >= 0, Self.above(items[best].score, last.score, bestOnTop) else { break }
                items[parent] = items[best]
                parent = best
            }
            items[parent] = last
        }
        return first
    }

    /// The items, best first (empties the heap's order, not its storage).
    func sortedBestFirst() -> [Candidate] {
        items.sorted { $0.score > $1.score }
    }
}
