import Foundation
import Synchronization
import Vision

/// Hierarchical navigable small-world graph (Malkov & Yashunin, 2018) for inner
/// product on unit vectors: approximate search in roughly logarithmic time.
///
/// Layout: vectors, ids and the level-0 neighbour lists are flat arrays indexed by
/// slot (level 0 holds every node and dominates memory: `2·M` links per node);
/// upper levels, which hold few nodes, are kept per slot. Inserts take the write
/// lock; searches share the read lock and run in parallel. A removed node's vector
/// is zeroed at once, its neighbours are re-linked among themselves so the graph
/// stays navigable, and its slot is reused by the next insert.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Links per node on upper levels (twice as many on level 0).
        public var m: Int
        /// Candidate list size while inserting.
        public var efConstruction: Int
        /// Candidate list size while searching (at least k).
        public var efSearch: Int
        /// Seed of the level generator, for reproducible builds.
        public var seed: UInt64

        public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 42) {
            self.m = m
            self.efConstruction = efConstruction
            self.efSearch = efSearch
            self.seed = seed
        }
    }

    public let dimension: Int
    public let parameters: Parameters
    /// Overrides `parameters.efSearch` (for sweeps); nil uses the parameter.
    public var efSearchOverride: Int? {
        get { lock.read { efOverride } }
        set { lock.write { efOverride = newValue } }
    }
    private var efOverride: Int?
    private let maxLinks0: Int
    private let levelFactor: Double
    private let lock = ReadWriteLock()

    private var vectors: [Float] = []
    private var ids: [Int64] = []
    private var levels: [Int] = []
    private var links0: [Int32] = []          // slot * maxLinks0 ..< (slot + 1) * maxLinks0
    private var linkCounts0: [Int32] = []
    private var upperLinks: [Int: [[Int32]]] = [:]   // slot → levels 1...level
    private var slots: [Int64: Int32] = [:]
    private var freeSlots: [Int32] = []
    private var deleted: [Bool] = []
    private var entryPoint: Int32 = -1
    private var maxLevel = -1
    private var random: UInt64

    public init(dimension: Int, parameters: Parameters = Parameters()) {
        self.dimension = dimension
        self.parameters = parameters
        maxLinks0 = 2 * parameters.m
        levelFactor = 1 / log(Double(max(2, parameters.m)))
        random = parameters.seed
    }

    public var count: Int { lock.read { slots.count } }

    // MARK: Insert

    public func add(id: Int64, vector: UnsafeBufferPointer<Float>) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, the index \(dimension)")
        lock.write {
            if let old = slots[id] { removeLocked(slot: old) }
            let slot = allocateSlot(id: id, vector: vector)
            link(slot)
        }
    }

    private func allocateSlot(id: Int64, vector: UnsafeBufferPointer<Float>) -> Int32 {
        let level = drawLevel()
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            let base = Int(slot) * dimension
            for i in 0..<dimension { vectors[base + i] = vector[i] }
            ids[Int(slot)] = id
            levels[Int(slot)] = level
            linkCounts0[Int(slot)] = 0
            deleted[Int(slot)] = false
        } else {
            slot = Int32(ids.count)
            vectors.append(contentsOf: vector)
            ids.append(id)
            levels.append(level)
            links0.append(contentsOf: repeatElement(-1, count: maxLinks0))
            linkCounts0.append(0)
            deleted.append(false)
        }
        upperLinks[Int(slot)] = level > 0 ? Array(repeating: [], count: level) : nil
        slots[id] = slot
        return slot
    }

    private func link(_ slot: Int32) {
        let level = levels[Int(slot)]
        guard entryPoint >= 0 else {
            entryPoint = slot
            maxLevel = level
            return
        }
        let start = Int(slot) * dimension
        let copy = Array(vectors[start..<start + dimension])
        copy.withUnsafeBufferPointer { buffer in
            let query = buffer.baseAddress!
            var current = entryPoint
            var currentScore = score(query, current)
            if maxLevel > level {
                for layer in stride(from: maxLevel, to: level, by: -1) {
                    (current, currentScore) = greedy(query, from: current, score: currentScore, layer: layer)
                }
            }
            for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
                let candidates = searchLayer(query, entries: [(current, currentScore)], ef: parameters.efConstruction,
                                             layer: layer, visited: &constructionVisited)
                let chosen = selectNeighbours(candidates, limit: parameters.m)
                setLinks(slot, layer: layer, to: chosen.map(\.slot))
                for neighbour in chosen { addLink(from: neighbour.slot, to: slot, layer: layer) }
                if let best = candidates.first { (current, currentScore) = (best.slot, best.score) }
            }
        }
        if level > maxLevel {
            maxLevel = level
            entryPoint = slot
        }
    }

    private var constructionVisited = VisitedSet()

    /// Adds `target` to `slot`'s links, pruning with the heuristic when full.
    private func addLink(from slot: Int32, to target: Int32, layer: Int) {
        var current = links(of: slot, layer: layer)
        guard !current.contains(target) else { return }
        current.append(target)
        let capacity = layer == 0 ? maxLinks0 : parameters.m
        if current.count > capacity {
            let scored = current.map { Candidate(slot: $0, score: pairScore(slot, $0)) }.sorted { $0.score > $1.score }
            current = selectNeighbours(scored, limit: capacity).map(\.slot)
        }
        setLinks(slot, layer: layer, to: current)
    }

    /// Malkov's heuristic: keep a candidate only if it is closer to the base than to
    /// every neighbour kept so far, which spreads links in all directions.
    private func selectNeighbours(_ candidates: [Candidate], limit: Int) -> [Candidate] {
        var kept: [Candidate] = []
        for candidate in candidates where kept.count < limit {
            if kept.allSatisfy({ pairScore(candidate.slot, $0.slot) < candidate.score }) { kept.append(candidate) }
        }
        if kept.count < limit {
            for candidate in candidates where kept.count < limit && !kept.contains(where: { $0.slot == candidate.slot }) {
                kept.append(candidate)
            }
        }
        return kept
    }

    // MARK: Remove

    @discardableResult
    public func remove(id: Int64) -> Bool {
        lock.write {
            guard let slot = slots[id] else { return false }
            removeLocked(slot: slot)
            return true
        }
    }

    /// Zeroes the vector, re-links the neighbours of the node among themselves on
    /// every level, and frees the slot.
    private func removeLocked(slot: Int32) {
        let level = levels[Int(slot)]
        for layer in 0...level {
            let neighbours = links(of: slot, layer: layer)
            for neighbour in neighbours {
                var kept = links(of: neighbour, layer: layer).filter { $0 != slot }
                let pool = Set(kept + neighbours.filter { $0 != neighbour && !kept.contains($0) })
                let scored = pool.map { Candidate(slot: $0, score: pairScore(neighbour, $0)) }.sorted { $0.score > $1.score }
                kept = selectNeighbours(scored, limit: layer == 0 ? maxLinks0 : parameters.m).map(\.slot)
                setLinks(neighbour, layer: layer, to: kept)
            }
            setLinks(slot, layer: layer, to: [])
        }
        // Anything else still pointing here (links are not always symmetric) lets go.
        for other in 0..<Int32(ids.count) where !deleted[Int(other)] && other != slot {
            for layer in 0...min(level, levels[Int(other)]) where links(of: other, layer: layer).contains(slot) {
                setLinks(other, layer: layer, to: links(of: other, layer: layer).filter { $0 != slot })
            }
        }
        let base = Int(slot) * dimension
        for i in 0..<dimension { vectors[base + i] = 0 }
        deleted[Int(slot)] = true
        slots.removeValue(forKey: ids[Int(slot)])
        upperLinks[Int(slot)] = nil
        freeSlots.append(slot)
        if slot == entryPoint { chooseNewEntryPoint() }
    }

    private func chooseNewEntryPoint() {
        entryPoint = -1
        maxLevel = -1
        for slot in 0..<ids.count where !deleted[slot] && levels[slot] > maxLevel {
            maxLevel = levels[slot]
            entryPoint = Int32(slot)
        }
    }

    // MARK: Search

    private let visitedPool = Mutex<[VisitedSet]>([])

    public func search(_ query: [Float], k: Int, filter: (@Sendable (Int64) -> Bool)?) -> [SearchHit] {
        precondition(query.count == dimension)
        guard k > 0 else { return [] }
        return lock.read {
            guard entryPoint >= 0 else { return [] }
            var visited = visitedPool.withLock { $0.popLast() } ?? VisitedSet()
            defer { visitedPool.withLock { $0.append(visited) } }
            return query.withUnsafeBufferPointer { q -> [SearchHit] in
                let pointer = q.baseAddress!
                var current = entryPoint
                var currentScore = score(pointer, current)
                for layer in stride(from: maxLevel, to: 0, by: -1) {
                    (current, currentScore) = greedy(pointer, from: current, score: currentScore, layer: layer)
                }
                let accept: ((Int32) -> Bool)? = filter.map { filter in { filter(self.ids[Int($0)]) } }
                let found = searchLayer(pointer, entries: [(current, currentScore)], ef: max(efOverride ?? parameters.efSearch, k),
                                        layer: 0, visited: &visited, accept: accept)
                return found.prefix(k).map { SearchHit(id: ids[Int($0.slot)], score: $0.score) }
            }
        }
    }

    /// Best-first search of one layer. Every node is explored (so the walk can pass
    /// through nodes the filter rejects), but only accepted, live nodes enter the results.
    private func searchLayer(_ query: UnsafePointer<Float>, entries: [(Int32, Float)], ef: Int, layer: Int,
                             visited: inout VisitedSet, accept: ((Int32) -> Bool)? = nil) -> [Candidate] {
        visited.reset(capacity: ids.count)
        var frontier = MaxHeap()
        var results = MinHeap()
        for (slot, value) in entries {
            visited.insert(slot)
            frontier.push(Candidate(slot: slot, score: value))
            if !deleted[Int(slot)], accept?(slot) ?? true { results.push(Candidate(slot: slot, score: value)) }
        }
        while let nearest = frontier.pop() {
            if results.count >= ef, let worst = results.peek, nearest.score < worst.score { break }
            forEachLink(of: nearest.slot, layer: layer) { neighbour in
                guard !visited.contains(neighbour) else { return }
                visited.insert(neighbour)
                let value = score(query, neighbour)
                if results.count < ef || value > (results.peek?.score ?? -.infinity) {
                    frontier.push(Candidate(slot: neighbour, score: value))
                    if !deleted[Int(neighbour)], accept?(neighbour) ?? true {
                        results.push(Candidate(slot: neighbour, score: value))
                        if results.count > ef { _ = results.pop() }
                    }
                }
            }
        }
        return results.sortedDescending()
    }

    private func greedy(_ query: UnsafePointer<Float>, from start: Int32, score startScore: Float, layer: Int) -> (Int32, Float) {
        var current = start, best = startScore, improved = true
        while improved {
            improved = false
            forEachLink(of: current, layer: layer) { neighbour in
                let value = score(query, neighbour)
                if value > best {
                    best = value
                    current = neighbour
                    improved = true
                }
            }
        }
        return (current, best)
    }

    /// Bytes held for vectors and links: what the index costs in memory.
    public var memoryBytes: Int {
        lock.read {
            vectors.count * 4 + links0.count * 4 + linkCounts0.count * 4 + levels.count * 8 + ids.count * 8
                + upperLinks.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count * 4 } }
        }
    }

    /// A copy of the vector storage, slot by slot (for tests that look for erased bytes).
    var storedVectors: [Float] { lock.read { vectors } }

    // MARK: Storage helpers

    private func drawLevel() -> Int {
        random = random &* 6364136223846793005 &+ 1442695040888963407
        let uniform = (Double(random >> 11) + 0.5) / Double(1 << 53)
        return Int(-log(uniform) * levelFactor)
    }

    private func pairScore(_ a: Int32, _ b: Int32) -> Float {
        vectors.withUnsafeBufferPointer {
            dot($0.baseAddress! + Int(a) * dimension, $0.baseAddress! + Int(b) * dimension, count: dimension)
        }
    }

    private func score(_ query: UnsafePointer<Float>, _ slot: Int32) -> Float {
        vectors.withUnsafeBufferPointer { dot(query, $0.baseAddress! + Int(slot) * dimension, count: dimension) }
    }

    /// Calls `body` with each link of `slot` on `layer`, without copying the list.
    @inline(__always)
    private func forEachLink(of slot: Int32, layer: Int, _ body: (Int32) -> Void) {
        if layer == 0 {
            let start = Int(slot) * maxLinks0, end = start + Int(linkCounts0[Int(slot)])
            links0.withUnsafeBufferPointer { all in
                for i in start..<end { body(all[i]) }
            }
        } else if let upper = upperLinks[Int(slot)], layer <= upper.count {
            for link in upper[layer - 1] { body(link) }
        }
    }

    private func links(of slot: Int32, layer: Int) -> [Int32] {
        if layer == 0 {
            let start = Int(slot) * maxLinks0
            return Array(links0[start..<start + Int(linkCounts0[Int(slot)])])
        }
        guard let upper = upperLinks[Int(slot)], layer <= upper.count else { return [] }
        return upper[layer - 1]
    }

    private func setLinks(_ slot: Int32, layer: Int, to newLinks: [Int32]) {
        if layer == 0 {
            let start = Int(slot) * maxLinks0
            for (i, link) in newLinks.prefix(maxLinks0).enumerated() { links0[start + i] = link }
            linkCounts0[Int(slot)] = Int32(min(newLinks.count, maxLinks0))
        } else if upperLinks[Int(slot)] != nil, layer <= upperLinks[Int(slot)]!.count {
            upperLinks[Int(slot)]![layer - 1] = Array(newLinks.prefix(parameters.m))
        }
    }
}

struct Candidate {
    var slot: Int32
    var score: Float
}

/// Visited marks by generation, so clearing between searches costs nothing.
struct VisitedSet {
    private var marks: [UInt32] = []
    private var generation: UInt32 = 0

    mutating func reset(capacity: Int) {
        if marks.count < capacity { marks.append(contentsOf: repeatElement(0, count: capacity - marks.count)) }
        generation &+= 1
        if generation == 0 {
            for i in marks.indices { marks[i] = 0 }
            generation = 1
        }
    }

    func contains(_ slot: Int32) -> Bool { marks[Int(slot)] == generation }
    mutating func insert(_ slot: Int32) { marks[Int(slot)] = generation }
}

/// Binary heap with the best (highest) score on top.
struct MaxHeap {
    private var items: [Candidate] = []
    var count: Int { items.count }
    var top: Candidate? { items.first }

    mutating func push(_ item: Candidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].score > items[parent].score else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < items.count, items[left].score > items[best].score { best = left }
            if right < items.count, items[right].score > items[best].score { best = right }
            guard best != parent else { break }
            items.swapAt(parent, best)
            parent = best
        }
        return top
    }
}

/// Binary heap with the worst (lowest) score on top: the result set, trimmed from below.
struct MinHeap {
    private var inverted = MaxHeap()
    var count: Int { inverted.count }
    var peek: Candidate? { inverted.top.map { Candidate(slot: $0.slot, score: -$0.score) } }

    mutating func push(_ item: Candidate) {
        inverted.push(Candidate(slot: item.slot, score: -item.score))
    }

    mutating func pop() -> Candidate? {
        inverted.pop().map { Candidate(slot: $0.slot, score: -$0.score) }
    }

    func sortedDescending() -> [Candidate] {
        var copy = inverted, out: [Candidate] = []
        while let item = copy.pop() { out.append(Candidate(slot: item.slot, score: -item.score)) }
        return out.reversed()
    }
}
