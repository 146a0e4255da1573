import CScan
import Dispatch
import Foundation
import Synchronization

/// A scan of every face on compact codes, the best re-scored on the templates: the
/// default index of a large gallery on one machine.
///
/// Every face is kept twice: its template in half precision, and 4-bit product-
/// quantised codes (`ProductQuantizer`, 32 bytes for 128 values) laid out in blocks
/// of 32 so that a SIMD shuffle scores 16 faces per instruction (`lineup_pq4_scan`).
/// A search scores every code, keeps the best `rescored` admitted by the filter on
/// each core, re-scores those on the half-precision templates and returns the best.
///
/// Why a scan and not a graph: a graph walk's recall depends on the data. On
/// templates spread like random directions, a walk 2048 wide found a third of the
/// true ten best among ten million faces, and widening it costs more time than the
/// search has. A scan looks at every face, so a true neighbour is missed only when
/// the codes rank it below the re-scored few hundred; its time grows with the
/// gallery (about 3 ms a million faces on two cores) but not with how the
/// templates happen to lie. It also has no links to repair when faces are erased
/// and nothing to build: adding a face is encoding it.
///
/// Until `trainingFaces` faces are held (4096 by default) there is no codebook and the templates are
/// scanned directly. The codebook is learnt from the faces held (at most
/// `trainingSample`), and learnt again, every code rewritten, whenever the gallery
/// has grown fourfold since, until it was learnt from a full sample.
///
/// Removing a face moves the last face into its slot and overwrites what the last
/// slot held, so an erased template does not linger in memory.
public final class ScanIndex: SnapshottingIndex, @unchecked Sendable {
    public let dimension: Int
    public let threads: Int
    /// Candidates each core re-scores when a search names no breadth: enough for
    /// recall@10 of 0.99 against exact search on random-direction templates at ten
    /// million faces, for about a tenth of a millisecond.
    public static let defaultRescored = 1024
    /// Below this many faces (by default) the templates themselves are scanned.
    public static let defaultTrainingFaces = 4096
    /// Faces from which a codebook is learnt.
    public let trainingFaces: Int
    /// The most faces a codebook is learnt from.
    public static let trainingSample = 65_536
    /// Blocks of 32 faces scored per call of the kernel: 8,192 sums, in the core's cache.
    static let chunkBlocks = 256
    /// Blocks of 32 faces a core scans before taking its next stripe (65,536 faces).
    static let stripeBlocks = 2048

    /// Replaces `defaultRescored` for searches that name no breadth.
    public var rescoredOverride: Int? {
        get { settings.withLock { $0 } }
        set { settings.withLock { $0 = newValue } }
    }
    private let settings = Mutex<Int?>(nil)

    let lock = ReadWriteLock()
    var ids: [Int64] = []
    var sources: [Int64] = []
    /// Per block of 32 faces: their source when they all share one, `mixedSources`
    /// otherwise. A search leaving a source out skips its blocks whole, without
    /// scoring them or asking about each face (a source's faces mostly arrive together).
    var blockSources: [Int64] = []
    static let mixedSources = Int64.min
    var vectors: [Float16] = []
    /// `blocks × subquantizers × 16` bytes once trained, empty before.
    var codes: [UInt8] = []
    var quantizer: ProductQuantizer?
    /// How many faces the codebook was learnt from.
    var trainedOn = 0
    /// The slot of each id, made when first needed: appending faces with ever larger
    /// ids (every ingest) and searching never need it, so opening ten million faces
    /// does not build it.
    var slotsByID: [Int64: Int]?
    /// No id above this was ever added: a larger one is new without a look-up.
    var largestID: Int64 = .min

    /// Whether templates of `dimension` values can be coded (pairs of values, 16-bit sums).
    public static func accepts(dimension: Int) -> Bool { dimension > 0 && dimension % 2 == 0 && dimension / 2 <= 257 }

    public init(
        dimension: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        trainingFaces: Int = ScanIndex.defaultTrainingFaces
    ) {
        precondition(Self.accepts(dimension: dimension), "the scan index takes 2 to 514 values, an even number")
        self.dimension = dimension
        self.threads = max(1, threads)
        self.trainingFaces = max(ProductQuantizer.centres, trainingFaces)
    }

    public var engine: String { "scan of 4-bit codes (\(String(cString: lineup_pq4_kernel()))), in this process" }

    public var count: Int { lock.read { ids.count } }

    public var countInProcess: Int? { count }

    public var maxID: Int64 { lock.read { ids.max() ?? 0 } }

    /// Bytes held per face: the half-precision template, the codes, the id and the source.
    public var bytesPerFace: Int { dimension * 2 + dimension / 4 + 16 }

    var subquantizers: Int { dimension / 2 }

    public func add(_ faces: [IndexedFace]) {
        add(ids: faces.map(\.id), sources: faces.map(\.source), vectors: faces.map(\.vector))
    }

    public func add(id: Int64, source: Int64 = 0, vector: [Float]) {
        add(ids: [id], sources: [source], vectors: [vector])
    }

    /// Adds or replaces faces; a large batch is encoded on every core.
    public func add(ids newIDs: [Int64], sources newSources: [Int64], vectors newVectors: [[Float]]) {
        precondition(newIDs.count == newSources.count && newIDs.count == newVectors.count)
        for vector in newVectors { precondition(vector.count == dimension, "vector has \(vector.count) values, the index \(dimension)") }
        guard !newIDs.isEmpty else { return }
        lock.write {
            let first = ids.count
            var appended: [Int] = []
            for (i, id) in newIDs.enumerated() {
                if id <= largestID, let slot = slot(of: id) {
                    for j in 0..<dimension { vectors[slot * dimension + j] = Float16(newVectors[i][j]) }
                    sources[slot] = newSources[i]
                    updateBlockSource(slot / 32)
                    if quantizer != nil { encode([slot]) }
                    continue
                }
                largestID = max(largestID, id)
                slotsByID?[id] = ids.count
                appended.append(ids.count)
                ids.append(id)
                sources.append(newSources[i])
                if ids.count % 32 == 1 {
                    blockSources.append(newSources[i])
                } else if blockSources[blockSources.count - 1] != newSources[i] {
                    blockSources[blockSources.count - 1] = Self.mixedSources
                }
                vectors.append(contentsOf: newVectors[i].lazy.map { Float16($0) })
            }
            guard !appended.isEmpty else { return }
            if quantizer != nil, trainedOn < Self.trainingSample, ids.count >= 4 * trainedOn {
                train()
            } else if quantizer != nil {
                codes.append(contentsOf: repeatElement(0, count: blocks(ids.count) * subquantizers * 16 - codes.count))
                encode(Array(first..<ids.count))
            } else if ids.count >= trainingFaces {
                train()
            }
        }
    }

    private func blocks(_ faces: Int) -> Int { (faces + 31) / 32 }

    /// Sets `blockSources[block]` from its faces' sources; drops it when the block is empty.
    func updateBlockSource(_ block: Int) {
        let faces = block * 32..<min(ids.count, block * 32 + 32)
        guard !faces.isEmpty else {
            blockSources.removeLast(blockSources.count - block)
            return
        }
        let first = sources[faces.lowerBound]
        blockSources[block] = sources[faces].allSatisfy { $0 == first } ? first : Self.mixedSources
    }

    /// Every block's source, from the faces' (after loading a snapshot).
    func computeBlockSources() {
        blockSources = [Int64](repeating: Self.mixedSources, count: blocks(ids.count))
        for block in blockSources.indices { updateBlockSource(block) }
    }

    /// The slot holding `id`, building the map on first need. Under the write lock.
    private func slot(of id: Int64) -> Int? {
        if slotsByID == nil {
            var map = [Int64: Int](minimumCapacity: ids.count)
            for (slot, id) in ids.enumerated() { map[id] = slot }
            slotsByID = map
        }
        return slotsByID![id]
    }

    /// Learns the codebook from the faces held and encodes every one. Under the write lock.
    private func train() {
        let count = ids.count, sampleSize = min(count, Self.trainingSample)
        // An even spread of the faces held: the first ones may all be one source's.
        var sample = [Float](repeating: 0, count: sampleSize * dimension)
        for i in 0..<sampleSize {
            let slot = i * count / sampleSize
            for j in 0..<dimension { sample[i * dimension + j] = Float(vectors[slot * dimension + j]) }
        }
        quantizer = sample.withUnsafeBufferPointer { ProductQuantizer.train(dimension: dimension, sample: $0) }
        trainedOn = sampleSize
        codes = [UInt8](repeating: 0, count: blocks(count) * subquantizers * 16)
        encode(Array(0..<count))
    }

    /// Writes the codes of `slots` from their templates, on every core for many.
    private func encode(_ slots: [Int]) {
        guard let quantizer else { return }
        let dimension = dimension, subquantizers = subquantizers
        let parts = min(threads, max(1, slots.count / 4096))
        vectors.withUnsafeBufferPointer { vectorBuffer in
            codes.withUnsafeMutableBufferPointer { codeBuffer in
                let vectors = UnsafeSendable(vectorBuffer), codes = UnsafeSendable(codeBuffer)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    var values = [Float](repeating: 0, count: dimension)
                    var code = [UInt8](repeating: 0, count: subquantizers)
                    let range = Self.blockAligned(slots, part: part, of: parts)..<Self.blockAligned(slots, part: part + 1, of: parts)
                    for slot in slots[range] {
                        for j in 0..<dimension { values[j] = Float(vectors.value[slot * dimension + j]) }
                        quantizer.encode(values, into: &code)
                        for m in 0..<subquantizers {
                            Self.setCode(code[m], slot: slot, subquantizer: m, subquantizers: subquantizers, in: codes.value)
                        }
                    }
                }
            }
        }
    }

    /// Where part `part` of `parts` of the ascending `slots` starts, moved on to the
    /// next block of 32: faces of one block share code bytes, so one part writes them all.
    static func blockAligned(_ slots: [Int], part: Int, of parts: Int) -> Int {
        var start = slots.count * part / parts
        while start > 0, start < slots.count, slots[start] / 32 == slots[start - 1] / 32 { start += 1 }
        return start
    }

    /// Makes room for `faces` faces in all, so a bulk load grows its arrays once.
    public func reserveCapacity(_ faces: Int) {
        lock.write {
            ids.reserveCapacity(faces)
            sources.reserveCapacity(faces)
            vectors.reserveCapacity(faces * dimension)
        }
    }

    @inline(__always)
    static func codeByte(slot: Int, subquantizer m: Int, subquantizers: Int) -> (index: Int, shift: UInt8) {
        let (block, position) = slot.quotientAndRemainder(dividingBy: 32)
        return ((block * subquantizers + m) * 16 + position % 16, position < 16 ? 0 : 4)
    }

    @inline(__always)
    static func setCode(_ value: UInt8, slot: Int, subquantizer m: Int, subquantizers: Int, in codes: UnsafeMutableBufferPointer<UInt8>) {
        let (index, shift) = codeByte(slot: slot, subquantizer: m, subquantizers: subquantizers)
        codes[index] = codes[index] & ~(15 << shift) | (value << shift)
    }

    @inline(__always)
    static func code(slot: Int, subquantizer m: Int, subquantizers: Int, in codes: [UInt8]) -> UInt8 {
        let (index, shift) = codeByte(slot: slot, subquantizer: m, subquantizers: subquantizers)
        return (codes[index] >> shift) & 15
    }

    @discardableResult
    public func remove(ids toRemove: [Int64]) -> Int {
        lock.write {
            var removed = 0
            for id in toRemove {
                guard let slot = slot(of: id) else { continue }
                moveLast(into: slot)
                removed += 1
            }
            return removed
        }
    }

    /// Moves the last face into `slot` (whose face goes) and overwrites the last
    /// slot's template and codes with zeroes. Under the write lock.
    private func moveLast(into slot: Int) {
        let last = ids.count - 1
        slotsByID![ids[slot]] = nil
        if slot != last {
            ids[slot] = ids[last]
            sources[slot] = sources[last]
            slotsByID![ids[slot]] = slot
            for j in 0..<dimension { vectors[slot * dimension + j] = vectors[last * dimension + j] }
        }
        for j in 0..<dimension { vectors[last * dimension + j] = 0 }
        if quantizer != nil {
            let subquantizers = subquantizers
            let moved = (0..<subquantizers).map { Self.code(slot: last, subquantizer: $0, subquantizers: subquantizers, in: codes) }
            codes.withUnsafeMutableBufferPointer { buffer in
                for m in 0..<subquantizers {
                    if slot != last { Self.setCode(moved[m], slot: slot, subquantizer: m, subquantizers: subquantizers, in: buffer) }
                    Self.setCode(0, slot: last, subquantizer: m, subquantizers: subquantizers, in: buffer)
                }
            }
            if last % 32 == 0 { codes.removeLast(subquantizers * 16) }
        }
        ids.removeLast()
        sources.removeLast()
        vectors.removeLast(dimension)
        updateBlockSource(last / 32)
        if slot != last { updateBlockSource(slot / 32) }
    }

    /// A million ids a range, as for the exact index.
    public var idRangeLimit: Int64 { 1 << 20 }

    public func faceIDs(in range: Range<Int64>) -> Set<Int64> {
        lock.read { Set(ids.filter(range.contains)) }
    }

    public func search(_ query: [Float], parameters: SearchParameters) -> [SearchHit] {
        precondition(query.count == dimension)
        let k = parameters.k
        guard k > 0 else { return [] }
        let filter = parameters.filter.admitsAll ? nil : parameters.filter
        let rescored = max(k, parameters.breadth ?? rescoredOverride ?? Self.defaultRescored)
        return lock.read {
            guard !ids.isEmpty else { return [] }
            return query.withUnsafeBufferPointer { q in
                withBuffers { held in
                    if let quantizer {
                        searchCodes(q.baseAddress!, held, quantizer: quantizer, k: k, rescored: rescored, filter: filter)
                    } else {
                        searchTemplates(q.baseAddress!, held, k: k, filter: filter)
                    }
                }
            }
        }
    }

    /// Every face's codes scored, on every core for a large gallery; each core
    /// re-scores its best `rescored` on their templates. Under the read lock.
    private func searchCodes(
        _ query: UnsafePointer<Float>, _ held: Held, quantizer: ProductQuantizer, k: Int, rescored: Int, filter: SearchFilter?
    ) -> [SearchHit] {
        let table = quantizer.table(for: query)
        let blockCount = blocks(held.ids.count), dimension = dimension
        let parts = min(threads, max(1, blockCount / Self.stripeBlocks))
        let stripes = (blockCount + Self.stripeBlocks - 1) / Self.stripeBlocks
        let best = Mutex(TopK(k: k)), query = UnsafeSendable(query)
        table.entries.withUnsafeBufferPointer { entries in
            let entries = UnsafeSendable(entries)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                var candidates = CodeCandidates(capacity: rescored)
                // Each core takes every parts-th stripe, so a source left out (whose
                // blocks are skipped) costs every core alike, wherever its faces lie.
                for stripe in stride(from: part, to: stripes, by: parts) {
                    Self.scanCodes(
                        held, blocks: stripe * Self.stripeBlocks..<min(blockCount, (stripe + 1) * Self.stripeBlocks),
                        subquantizers: quantizer.subquantizers, table: entries.value.baseAddress!, into: &candidates,
                        excludedSources: filter?.excludedSources ?? []
                    ) { slot in filter?.accepts(id: held.ids[slot], source: held.sources[slot]) ?? true }
                }
                var mine = TopK(k: k)
                for candidate in candidates.slots {
                    mine.offer(id: held.ids[Int(candidate)], score: held.score(query.value, slot: Int(candidate), dimension: dimension))
                }
                best.withLock { $0.merge(mine) }
            }
        }
        return best.withLock { $0.hits }
    }

    /// Every admitted template scored (a gallery too small to have learnt codes).
    private func searchTemplates(_ query: UnsafePointer<Float>, _ held: Held, k: Int, filter: SearchFilter?) -> [SearchHit] {
        var best = TopK(k: k)
        for slot in held.ids.indices where filter?.accepts(id: held.ids[slot], source: held.sources[slot]) ?? true {
            best.offer(id: held.ids[slot], score: held.score(query, slot: slot, dimension: dimension))
        }
        return best.hits
    }

    /// Scores the codes of `blocks` and offers each face above the candidates' floor
    /// that `admits` lets through; blocks of one excluded source are neither scored
    /// nor asked about.
    private static func scanCodes(
        _ held: Held, blocks: Range<Int>, subquantizers: Int, table: UnsafePointer<UInt8>,
        into candidates: inout CodeCandidates, excludedSources: Set<Int64>, admits: (Int) -> Bool
    ) {
        let codes = held.codes.baseAddress!, faces = held.ids.count
        var sums = [UInt16](repeating: 0, count: chunkBlocks * 32), masks = [UInt32](repeating: 0, count: chunkBlocks)
        // Neighbouring blocks mostly share a source: the last answer is kept.
        var last = (source: mixedSources, excluded: false)
        let skips: ((Int) -> Bool)? =
            excludedSources.isEmpty
            ? nil
            : { block in
                let source = held.blockSources[block]
                if source != last.source { last = (source, source != mixedSources && excludedSources.contains(source)) }
                return last.excluded
            }
        sums.withUnsafeMutableBufferPointer { sums in
            masks.withUnsafeMutableBufferPointer { above in
                var start = blocks.lowerBound
                while start < blocks.upperBound {
                    // A run of blocks to score: up to a chunk, none skipped.
                    if let skips, skips(start) {
                        start += 1
                        continue
                    }
                    var end = start + 1
                    while end < min(blocks.upperBound, start + chunkBlocks), !(skips?(end) ?? false) { end += 1 }
                    // Once the candidates are full, most blocks hold no face above their
                    // floor: the kernel says which faces are, as each block's mask.
                    var floor = candidates.floor
                    lineup_pq4_scan_above(
                        codes + start * subquantizers * 16, end - start, subquantizers, table, floor, sums.baseAddress!, above.baseAddress!)
                    let firstSlot = start * 32, faceCount = min((end - start) * 32, faces - firstSlot)
                    for block in 0..<(end - start) {
                        var mask = above[block]
                        while mask != 0 {
                            let i = block * 32 + mask.trailingZeroBitCount
                            mask &= mask - 1
                            guard i < faceCount, Int32(sums[i]) > floor else { continue }
                            let slot = firstSlot + i
                            guard admits(slot) else { continue }
                            candidates.offer(slot: Int32(slot), sum: sums[i])
                            floor = candidates.floor
                        }
                    }
                    start = end
                }
            }
        }
    }

    /// What the index holds, as buffers that may cross into `concurrentPerform`; valid
    /// while the caller holds the lock.
    struct Held: @unchecked Sendable {
        let ids: UnsafeBufferPointer<Int64>
        let sources: UnsafeBufferPointer<Int64>
        let vectors: UnsafeBufferPointer<Float16>
        let codes: UnsafeBufferPointer<UInt8>
        let blockSources: UnsafeBufferPointer<Int64>

        /// The query's inner product with the half-precision template in `slot`.
        @inline(__always)
        func score(_ query: UnsafePointer<Float>, slot: Int, dimension: Int) -> Float {
            innerProduct(query, vectors.baseAddress! + slot * dimension, count: dimension)
        }
    }

    /// The arrays as `Held` buffers, under a lock the caller holds.
    func withBuffers<Result>(_ body: (Held) throws -> Result) rethrows -> Result {
        try ids.withUnsafeBufferPointer { ids in
            try sources.withUnsafeBufferPointer { sources in
                try vectors.withUnsafeBufferPointer { vectors in
                    try codes.withUnsafeBufferPointer { codes in
                        try blockSources.withUnsafeBufferPointer { blockSources in
                            try body(Held(ids: ids, sources: sources, vectors: vectors, codes: codes, blockSources: blockSources))
                        }
                    }
                }
            }
        }
    }

    /// Half-precision scores, as the graph index's: within 5·10⁻⁴ of the float ones.
    public var rangeScoreTolerance: Float { halfPrecisionScoreTolerance }

    /// Every face scored from its half-precision template, split across cores.
    public func rangeSearch(_ query: [Float], minScore: Float) -> [SearchHit]? {
        precondition(query.count == dimension)
        return lock.read {
            let n = ids.count, dimension = dimension
            let parts = max(1, min(threads, n / 100_000))
            let found = Mutex<[SearchHit]>([])
            withBuffers { held in
                query.withUnsafeBufferPointer { q in
                    let q = UnsafeSendable(q)
                    DispatchQueue.concurrentPerform(iterations: parts) { part in
                        var mine: [SearchHit] = []
                        for slot in n * part / parts..<n * (part + 1) / parts {
                            let score = held.score(q.value.baseAddress!, slot: slot, dimension: dimension)
                            if score >= minScore { mine.append(SearchHit(id: held.ids[slot], score: score)) }
                        }
                        found.withLock { $0.append(contentsOf: mine) }
                    }
                }
            }
            return found.withLock { $0 }.sorted { $0.score > $1.score }
        }
    }

    public func save(modelID: String, to path: String, sealing: (any SnapshotSealing)? = nil) throws {
        try save(modelID: modelID, to: path, sealing: sealing, chunkSize: SnapshotStream.defaultChunkSize)
    }

    /// A copy of what the index keeps of every face (for tests that look for erased bytes).
    var storedBytes: (vectors: [Float16], codes: [UInt8]) { lock.read { (vectors, codes) } }
}

/// The best `capacity` faces by code sum: a min-heap on the sum, so the floor to
/// beat is its root.
struct CodeCandidates {
    let capacity: Int
    private var sums: [UInt16] = []
    private(set) var slots: [Int32] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        sums.reserveCapacity(self.capacity)
        slots.reserveCapacity(self.capacity)
    }

    /// The sum a face must beat (-1 while there is room).
    var floor: Int32 { sums.count < capacity ? -1 : Int32(sums[0]) }

    mutating func offer(slot: Int32, sum: UInt16) {
        if sums.count < capacity {
            sums.append(sum)
            slots.append(slot)
            var child = sums.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard sums[parent] > sums[child] else { break }
                sums.swapAt(parent, child)
                slots.swapAt(parent, child)
                child = parent
            }
            return
        }
        guard sum > sums[0] else { return }
        sums[0] = sum
        slots[0] = slot
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < sums.count, sums[left] < sums[smallest] { smallest = left }
            if right < sums.count, sums[right] < sums[smallest] { smallest = right }
            guard smallest != parent else { return }
            sums.swapAt(parent, smallest)
            slots.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
