import CPrefetch
import Dispatch
import Foundation
import Synchronization

/// Hierarchical navigable small-world graph (Malkov & Yashunin, 2018) for inner
/// product on unit vectors: approximate search in roughly logarithmic time.
///
/// The graph is walked with int8 codes (a quarter of the memory traffic of floats:
/// measured 2.3× the queries per second of a float walk at 128 dimensions and 1.4
/// to 1.7× at 512, at the same recall), and the best candidates are re-scored from
/// half-precision vectors, so returned scores are within 5·10⁻⁴ of exact (see
/// `NodeStorage`). Memory lives in `NodeStorage`'s flat buffers.
///
/// Concurrency: searches and inserts share the structure lock, so they run in
/// parallel with each other; an insert writes a node's link rows under that node's
/// stripe lock, and searches read rows without locking (every value a reader can
/// see is a valid slot whose data was written before it was linked). Growing the
/// buffers and removing a node take the structure lock exclusively: a removal must
/// be complete before any later search starts, and erasure is rare.
public final class HNSWIndex: SnapshottingIndex, @unchecked Sendable {
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

    struct State {
        var slots: [Int64: Int32] = [:]
        var free: [Int32] = []
        /// Slots handed out so far (the high-water mark).
        var used = 0
        var entryPoint: Int32 = -1
        var maxLevel = -1
        var random: UInt64
    }

    public let dimension: Int
    public let parameters: Parameters
    let maxLinks0: Int
    let storage: NodeStorage
    let quantizer: ScalarQuantizer
    let structure = ReadWriteLock()
    let nodeLocks = StripedLocks()
    let state: Mutex<State>
    private let levelFactor: Double
    private let scratchPool = Mutex<[SearchScratch]>([])
    private let efOverride = Atomic<Int>(0)

    public init(dimension: Int, parameters: Parameters = Parameters()) {
        precondition(parameters.m >= 2 && parameters.efConstruction >= 1, "need M ≥ 2 and efConstruction ≥ 1")
        self.dimension = dimension
        self.parameters = parameters
        maxLinks0 = 2 * parameters.m
        levelFactor = 1 / log(Double(parameters.m))
        storage = NodeStorage(dimension: dimension, maxLinks0: maxLinks0, maxLinksUpper: parameters.m)
        quantizer = ScalarQuantizer(dimension: dimension)
        state = Mutex(State(random: parameters.seed))
    }

    public var engine: String { "graph (HNSW, M \(parameters.m), ef \(efSearchOverride ?? parameters.efSearch)), in this process" }

    public var count: Int { state.withLock { $0.slots.count } }

    public var countInProcess: Int? { count }

    public var maxID: Int64 { state.withLock { $0.slots.keys.max() ?? 0 } }

    /// Overrides `parameters.efSearch` (the gallery's own breadth, or a sweep's); nil uses the parameter.
    public var efSearchOverride: Int? {
        get {
            let value = efOverride.load(ordering: .relaxed)
            return value > 0 ? value : nil
        }
        set { efOverride.store(newValue ?? 0, ordering: .relaxed) }
    }

    /// Bytes held for vectors, codes and links: what the index costs in memory.
    public var memoryBytes: Int { structure.read { storage.memoryBytes } + count * 24 }

    // MARK: Insert

    public func add(_ faces: [IndexedFace]) {
        for face in faces { face.vector.withUnsafeBufferPointer { add(id: face.id, source: face.source, vector: $0) } }
    }

    public func add(id: Int64, source: Int64 = 0, vector: [Float]) {
        vector.withUnsafeBufferPointer { add(id: id, source: source, vector: $0) }
    }

    /// Adds or replaces the vector of `id`.
    public func add(id: Int64, source: Int64 = 0, vector: UnsafeBufferPointer<Float>) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, the index \(dimension)")
        while true {
            if state.withLock({ $0.slots[id] != nil }) { remove(id: id) }
            switch structure.read({ insertShared(id: id, source: source, vector: vector) }) {
            case .inserted: return
            case .idTaken: continue
            case .full: reserve(capacity: max(1024, storage.capacity * 2))
            }
        }
    }

    /// Inserts many vectors with `threads` threads at once. With one thread the
    /// graph is the same for the same seed and order; with more it depends on timing.
    ///
    /// Each thread takes its own contiguous share of the list: galleries arrive
    /// grouped (a person's photos together), and two photos of one person inserted
    /// at the same moment would not see each other. Measured on face-like data
    /// (20,000 × 512, M = 16, ef 128): recall@10 0.747 with interleaved threads,
    /// 0.755 to 0.763 with contiguous shares (one thread: 0.759).
    public func add(ids: [Int64], sources: [Int64]? = nil, vectors: [[Float]], threads: Int) {
        precondition(ids.count == vectors.count && (sources?.count ?? ids.count) == ids.count)
        reserve(capacity: count + ids.count)
        let parts = max(1, min(threads, ids.count))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for i in ids.count * part / parts..<ids.count * (part + 1) / parts {
                add(id: ids[i], source: sources?[i] ?? 0, vector: vectors[i])
            }
        }
    }

    /// A million ids a range, so a caller comparing range by range holds a million at a time.
    public var idRangeLimit: Int64 { 1 << 20 }

    public func faceIDs(in range: Range<Int64>) -> Set<Int64> {
        state.withLock { Set($0.slots.keys.filter(range.contains)) }
    }

    /// Makes room for `capacity` nodes without further growth.
    public func reserve(capacity: Int) {
        structure.write { storage.grow(to: capacity) }
    }

    private enum Insertion { case inserted, idTaken, full }

    /// Runs under the shared structure lock.
    private func insertShared(id: Int64, source: Int64, vector: UnsafeBufferPointer<Float>) -> Insertion {
        let capacity = storage.capacity
        let claimed = state.withLock { state -> (slot: Int32, level: Int)?? in
            guard state.slots[id] == nil else { return .some(nil) }
            let slot: Int32
            if let reused = state.free.popLast() {
                slot = reused
            } else if state.used < capacity {
                slot = Int32(state.used)
                state.used += 1
            } else {
                return nil
            }
            state.slots[id] = slot
            return (slot, drawLevel(&state.random))
        }
        guard let claimed else { return .full }
        guard let (slot, level) = claimed else { return .idTaken }
        storage.occupy(slot, id: id, source: source, level: level, vector: vector, quantizer: quantizer)
        let start = state.withLock { state -> (Int32, Int)? in
            guard state.entryPoint >= 0 else {
                (state.entryPoint, state.maxLevel) = (slot, level)
                return nil
            }
            return (state.entryPoint, state.maxLevel)
        }
        guard let (entry, top) = start else { return .inserted }
        connect(slot, level: level, entry: entry, top: top)
        state.withLock { state in
            if level > state.maxLevel { (state.entryPoint, state.maxLevel) = (slot, level) }
        }
        return .inserted
    }

    /// Finds the new node's neighbours level by level, top down, then links both ways
    /// from level 0 up. That order matters to searches running meanwhile: once a
    /// node can be reached on a level, its links below are already in place, so a
    /// walk never descends into a node that has no level-0 links yet.
    private func connect(_ slot: Int32, level: Int, entry: Int32, top: Int) {
        let query = UnsafePointer(storage.code(slot))
        var chosen: [[Candidate]] = []
        withScratch { scratch in
            var current = Candidate(slot: entry, score: score(query, entry))
            for layer in stride(from: top, to: level, by: -1) {
                current = greedy(query, from: current, layer: layer, locked: true)
            }
            for layer in stride(from: min(level, top), through: 0, by: -1) {
                let found = searchLayer(
                    query, from: current, ef: parameters.efConstruction, layer: layer, locked: true,
                    accept: nil, scratch: scratch
                ).filter { $0.slot != slot }
                chosen.append(selectNeighbours(found, limit: parameters.m))
                if let best = found.first { current = best }
            }
        }
        for (layer, neighbours) in chosen.reversed().enumerated() where !neighbours.isEmpty {
            setOwnLinks(slot, layer: layer, neighbours)
            for neighbour in neighbours { addLink(from: neighbour.slot, to: slot, layer: layer) }
        }
    }

    /// Writes a new node's links. Other inserts may already have linked to it on
    /// this layer (they found it through a level above); those links are kept too,
    /// pruned with the heuristic if together they exceed the row.
    private func setOwnLinks(_ slot: Int32, layer: Int, _ chosen: [Candidate]) {
        nodeLocks.withLock(slot) {
            let row = storage.row(slot, layer: layer)!
            let existing = (0..<Int(row[0])).map { row[1 + $0] }
            guard !existing.isEmpty else { return write(chosen.map(\.slot), to: row) }
            var pool = chosen
            for link in existing where !chosen.contains(where: { $0.slot == link }) {
                pool.append(Candidate(slot: link, score: pairScore(slot, link)))
            }
            pool.sort { $0.score > $1.score }
            let capacity = layer == 0 ? maxLinks0 : parameters.m
            write(pool.count > capacity ? selectNeighbours(pool, limit: capacity).map(\.slot) : pool.map(\.slot), to: row)
        }
    }

    /// Adds `target` to `slot`'s links, pruning with the heuristic when full.
    private func addLink(from slot: Int32, to target: Int32, layer: Int) {
        nodeLocks.withLock(slot) {
            guard let row = storage.row(slot, layer: layer) else { return }
            let count = Int(row[0]), capacity = layer == 0 ? maxLinks0 : parameters.m
            for i in 0..<count where row[1 + i] == target { return }
            if count < capacity {
                row[1 + count] = target
                row[0] = Int32(count + 1)
                return
            }
            var pool = (0..<count).map { Candidate(slot: row[1 + $0], score: pairScore(slot, row[1 + $0])) }
            pool.append(Candidate(slot: target, score: pairScore(slot, target)))
            pool.sort { $0.score > $1.score }
            write(selectNeighbours(pool, limit: capacity).map(\.slot), to: row)
        }
    }

    /// Malkov's heuristic: keep a candidate only if it is closer to the base than to
    /// every neighbour kept so far, which spreads links in all directions.
    /// With `fillUp`, the pruned candidates then fill the free places, best first:
    /// repairs after a removal use it, so the nodes around an erased one keep their
    /// degree instead of thinning with every removal.
    func selectNeighbours(_ candidates: [Candidate], limit: Int, fillUp: Bool = false) -> [Candidate] {
        guard candidates.count > limit else { return candidates }
        var kept: [Candidate] = [], pruned: [Candidate] = []
        kept.reserveCapacity(limit)
        for candidate in candidates where kept.count < limit {
            if kept.allSatisfy({ pairScore(candidate.slot, $0.slot) < candidate.score }) {
                kept.append(candidate)
            } else if fillUp {
                pruned.append(candidate)
            }
        }
        if fillUp { kept += pruned.prefix(limit - kept.count) }
        return kept
    }

    /// Writes a link row: the links first, the count last.
    func write(_ links: [Int32], to row: UnsafeMutablePointer<Int32>) {
        for (i, link) in links.enumerated() { row[1 + i] = link }
        row[0] = Int32(links.count)
    }

    private func drawLevel(_ random: inout UInt64) -> Int {
        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let uniform = (Double(random >> 11) + 0.5) / Double(1 << 53)
        return Int(-log(uniform) * levelFactor)
    }

    // MARK: Search

    /// The `k` best-scoring entries `filter` admits, best first.
    public func search(_ query: [Float], k: Int, filter: SearchFilter = .all) -> [SearchHit] {
        search(query, parameters: SearchParameters(k: k, filter: filter))
    }

    public func search(_ query: [Float], parameters search: SearchParameters) -> [SearchHit] {
        precondition(query.count == dimension, "query has \(query.count) values, the index \(dimension)")
        let k = search.k
        guard k > 0 else { return [] }
        return structure.read {
            let (entry, top) = state.withLock { ($0.entryPoint, $0.maxLevel) }
            guard entry >= 0 else { return [] }
            let ef = max(search.breadth ?? efSearchOverride ?? parameters.efSearch, k)
            let ids = storage.ids, sources = storage.sources
            let filter = search.filter
            let accept: ((Int32) -> Bool)? = filter.admitsAll ? nil : { filter.accepts(id: ids[Int($0)], source: sources[Int($0)]) }
            if let accept, let hits = exactSearchIfSelective(query, k: k, ef: ef, accept: accept) { return hits }
            return query.withUnsafeBufferPointer { vector in
                withUnsafeTemporaryAllocation(of: Int8.self, capacity: storage.codeStride) { code in
                    quantizer.encode(vector.baseAddress!, into: code.baseAddress!)
                    let query = UnsafePointer(code.baseAddress!)
                    return withScratch { scratch in
                        var current = Candidate(slot: entry, score: score(query, entry))
                        for layer in stride(from: top, to: 0, by: -1) {
                            current = greedy(query, from: current, layer: layer, locked: false)
                        }
                        var found = searchLayer(query, from: current, ef: ef, layer: 0, locked: false, accept: accept, scratch: scratch)
                        // The int8 order is close to the exact one: re-scoring the best
                        // few times k recovers the exact top k.
                        found = Array(found.prefix(Self.rescored(k: k)))
                        for i in found.indices {
                            found[i].score = innerProduct(vector.baseAddress!, storage.vector(found[i].slot), count: dimension)
                        }
                        found.sort { $0.score > $1.score }
                        return found.prefix(k).map { SearchHit(id: ids[Int($0.slot)], score: $0.score) }
                    }
                }
            }
        }
    }

    /// A filter that keeps a small share of the gallery starves the graph walk: it
    /// must visit about `ef / share` nodes to collect `ef` accepted ones. Scoring
    /// the accepted nodes directly costs `share × N`. The share is estimated on
    /// 256 evenly spaced slots, and the cheaper way is taken.
    private func exactSearchIfSelective(_ query: [Float], k: Int, ef: Int, accept: (Int32) -> Bool) -> [SearchHit]? {
        let used = state.withLock { $0.used }
        let step = max(1, used / 256)
        var live = 0, accepted = 0
        for slot in stride(from: 0, to: used, by: step) where storage.levels[slot] >= 0 {
            live += 1
            if accept(Int32(slot)) { accepted += 1 }
        }
        let share = max(0.5, Double(accepted)) / Double(max(1, live))
        let graphCost = Double(Self.scoredPerCandidate * ef) / share
        guard share * Double(used) <= graphCost else { return nil }
        var best = TopK(k: k)
        query.withUnsafeBufferPointer { vector in
            for slot in 0..<used where storage.levels[slot] >= 0 && accept(Int32(slot)) {
                best.offer(id: storage.ids[slot], score: innerProduct(vector.baseAddress!, storage.vector(Int32(slot)), count: dimension))
            }
        }
        return best.hits
    }

    /// Nodes scored per unit of ef by an unfiltered walk on level 0 (counted on
    /// face-like data, M = 16…32: 20 to 40).
    static let scoredPerCandidate = 30

    /// Candidates re-scored with floats for a top `k`.
    static func rescored(k: Int) -> Int { max(4 * k, 40) }

    /// The walk's score: the int8 codes' approximate inner product.
    @inline(__always)
    func score(_ query: UnsafePointer<Int8>, _ slot: Int32) -> Float {
        quantizer.score(query, storage.code(slot))
    }

    /// Asks for the cache lines `score` will read for `slot`.
    @inline(__always)
    private func prefetch(_ slot: Int32) {
        let code = UnsafeRawPointer(storage.code(slot))
        for line in stride(from: 0, to: storage.codeStride, by: 64) { lineup_prefetch(code + line) }
    }

    @inline(__always)
    func pairScore(_ a: Int32, _ b: Int32) -> Float {
        quantizer.score(storage.code(a), storage.code(b))
    }

    /// Best-first search of one layer. Every node is explored (so the walk can pass
    /// through nodes the filter rejects), but only accepted, live nodes enter the results.
    private func searchLayer(
        _ query: UnsafePointer<Int8>, from start: Candidate, ef: Int, layer: Int, locked: Bool,
        accept: ((Int32) -> Bool)?, scratch: SearchScratch
    ) -> [Candidate] {
        // Local copies of the scratch structures (raw buffers inside): the loop then
        // touches no class property.
        var visited = scratch.visited, frontier = scratch.frontier, results = scratch.results
        defer { (scratch.visited, scratch.frontier, scratch.results) = (visited, frontier, results) }
        visited.reset(capacity: storage.capacity)
        frontier.removeAll()
        results.removeAll()
        scratch.reserveFresh(maxLinks0)
        let fresh = scratch.fresh, levels = storage.levels
        _ = visited.insert(start.slot)
        frontier.push(start)
        if levels[Int(start.slot)] >= 0, accept?(start.slot) ?? true { results.push(start) }
        var floor = results.count >= ef ? results.top!.score : -Float.infinity
        while let nearest = frontier.pop() {
            if nearest.score < floor { break }
            // Unvisited neighbours first, their data prefetched, then scored.
            var count = 0
            forEachLink(of: nearest.slot, layer: layer, locked: locked) { neighbour in
                guard visited.insert(neighbour) else { return }
                fresh[count] = neighbour
                count &+= 1
                prefetch(neighbour)
            }
            for i in 0..<count {
                let neighbour = fresh[i]
                let value = score(query, neighbour)
                guard value > floor else { continue }
                frontier.push(Candidate(slot: neighbour, score: value))
                guard levels[Int(neighbour)] >= 0, accept?(neighbour) ?? true else { continue }
                results.push(Candidate(slot: neighbour, score: value))
                if results.count > ef { _ = results.pop() }
                if results.count >= ef { floor = results.top!.score }
            }
        }
        return results.sortedBestFirst()
    }

    private func greedy(_ query: UnsafePointer<Int8>, from start: Candidate, layer: Int, locked: Bool) -> Candidate {
        var current = start, improved = true
        while improved {
            improved = false
            forEachLink(of: current.slot, layer: layer, locked: locked) { neighbour in
                let value = score(query, neighbour)
                if value > current.score {
                    current = Candidate(slot: neighbour, score: value)
                    improved = true
                }
            }
        }
        return current
    }

    /// Calls `body` with each link of `slot` on `layer`. While building, the row is
    /// copied under the node's lock first; searches read it as it is.
    @inline(__always)
    private func forEachLink(of slot: Int32, layer: Int, locked: Bool, _ body: (Int32) -> Void) {
        guard let row = storage.row(slot, layer: layer) else { return }
        if locked {
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: maxLinks0 + 1) { copy in
                let count = nodeLocks.withLock(slot) { () -> Int in
                    let count = Int(row[0])
                    copy.baseAddress!.update(from: row + 1, count: count)
                    return count
                }
                for i in 0..<count { body(copy[i]) }
            }
        } else {
            let count = Int(row[0])
            for i in 0..<count { body(row[1 + i]) }
        }
    }

    private func withScratch<T>(_ body: (SearchScratch) -> T) -> T {
        let scratch = scratchPool.withLock { $0.popLast() } ?? SearchScratch()
        defer { scratchPool.withLock { $0.append(scratch) } }
        return body(scratch)
    }
}
