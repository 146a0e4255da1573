/// A node met during a graph search, with its score against the query.
struct Candidate {
    var slot: Int32
    var score: Float
}

/// Per-search working memory, pooled by the index so a search allocates nothing.
/// Raw buffers rather than arrays: the walk touches them for every neighbour, and
/// an array's copy-on-write check there costs a call each time. The index's pool
/// hands each one to a single thread at a time.
final class SearchScratch: @unchecked Sendable {
    var visited = VisitedSet()
    var frontier = CandidateHeap(bestOnTop: true)
    var results = CandidateHeap(bestOnTop: false)
    /// A node's unvisited neighbours, gathered before they are scored.
    private(set) var fresh = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    private var freshCapacity = 0

    /// Makes `fresh` hold at least `count` slots.
    func reserveFresh(_ count: Int) {
        guard count > freshCapacity else { return }
        fresh.deallocate()
        fresh = .allocate(capacity: count)
        freshCapacity = count
    }

    deinit {
        fresh.deallocate()
        visited.release()
        frontier.release()
        results.release()
    }
}

/// Visited marks as a bitset: 128 KB for a million slots, so the check stays in the
/// core's own cache where a byte or a counter per slot would not. Clearing resets
/// only the words this search touched.
struct VisitedSet {
    private var words = UnsafeMutablePointer<UInt64>.allocate(capacity: 0)
    private var capacity = 0
    private var touched = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    private var touchedCount = 0

    /// Clears the marks of the last search and makes room for `slots` slots.
    mutating func reset(capacity slots: Int) {
        let needed = (slots + 63) / 64
        if needed > capacity {
            release()
            words = .allocate(capacity: needed)
            words.initialize(repeating: 0, count: needed)
            touched = .allocate(capacity: needed)
            capacity = needed
        } else {
            for i in 0..<touchedCount { words[Int(touched[i])] = 0 }
        }
        touchedCount = 0
    }

    /// Marks `slot`; true when it was not marked yet.
    @inline(__always)
    mutating func insert(_ slot: Int32) -> Bool {
        let word = Int(slot &>> 6), bit = UInt64(1) &<< UInt64(slot & 63)
        let value = words[word]
        if value & bit != 0 { return false }
        if value == 0 {
            touched[touchedCount] = Int32(word)
            touchedCount &+= 1
        }
        words[word] = value | bit
        return true
    }

    func release() {
        words.deallocate()
        touched.deallocate()
    }
}

/// Binary heap of candidates: best score on top (the search frontier) or worst on
/// top (the result set, trimmed from below).
struct CandidateHeap {
    private var items = UnsafeMutablePointer<Candidate>.allocate(capacity: 0)
    private var capacity = 0
    private(set) var count = 0
    private let bestOnTop: Bool

    init(bestOnTop: Bool) { self.bestOnTop = bestOnTop }

    var top: Candidate? { count > 0 ? items[0] : nil }
    var isEmpty: Bool { count == 0 }

    mutating func removeAll() { count = 0 }

    func release() { items.deallocate() }

    @inline(__always)
    private func above(_ a: Float, _ b: Float) -> Bool { bestOnTop ? a > b : a < b }

    @inline(__always)
    mutating func push(_ item: Candidate) {
        if count == capacity { grow() }
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) / 2
            guard above(item.score, items[parent].score) else { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = item
    }

    @inline(__always)
    mutating func pop() -> Candidate? {
        guard count > 0 else { return nil }
        let first = items[0]
        count &-= 1
        guard count > 0 else { return first }
        let last = items[count]
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1, right = left &+ 1
            guard left < count else { break }
            let best = right < count && above(items[right].score, items[left].score) ? right : left
            guard above(items[best].score, last.score) else { break }
            items[parent] = items[best]
            parent = best
        }
        items[parent] = last
        return first
    }

    private mutating func grow() {
        let larger = max(64, capacity * 2)
        let fresh = UnsafeMutablePointer<Candidate>.allocate(capacity: larger)
        fresh.moveInitialize(from: items, count: count)
        items.deallocate()
        items = fresh
        capacity = larger
    }

    /// The items, best first.
    func sortedBestFirst() -> [Candidate] {
        UnsafeBufferPointer(start: items, count: count).sorted { $0.score > $1.score }
    }
}
