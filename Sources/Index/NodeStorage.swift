#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The graph's memory, slot by slot, in flat raw buffers: half-precision vectors
/// (for final scores), int8 codes (for traversal), level-0 link rows, upper-level
/// link rows, ids, sources (what a search filter leaves out by) and levels. Half precision holds a unit vector's components to
/// 2⁻¹¹ of their size, so a re-scored inner product is within 5·10⁻⁴ of the float
/// one (10⁻⁵ typically), at half the memory: with the codes, a node costs less than
/// its float vector alone would. A link row is `[count, link…]`. Rows and codes are padded to
/// whole cache lines, so one node's links or code never straddle more lines than
/// they must.
///
/// Not thread-safe on its own: the index grows it only while it holds its
/// structure lock exclusively; rows are written under the node's lock.
final class NodeStorage {
    let dimension: Int
    let codeStride: Int
    let rowStride0: Int
    let rowStrideUpper: Int
    private(set) var capacity = 0

    private(set) var vectors: UnsafeMutablePointer<Float16>
    private(set) var codes: UnsafeMutablePointer<Int8>
    private(set) var rows0: UnsafeMutablePointer<Int32>
    private(set) var upperRows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    private(set) var ids: UnsafeMutablePointer<Int64>
    private(set) var sources: UnsafeMutablePointer<Int64>
    /// The node's top level, or -1 for a free slot.
    private(set) var levels: UnsafeMutablePointer<Int32>

    init(dimension: Int, maxLinks0: Int, maxLinksUpper: Int) {
        self.dimension = dimension
        codeStride = (dimension + 63) / 64 * 64
        rowStride0 = ((maxLinks0 + 1) * 4 + 63) / 64 * 16
        rowStrideUpper = maxLinksUpper + 1
        vectors = Self.allocate(Float16.self, 0)
        codes = Self.allocate(Int8.self, 0)
        rows0 = Self.allocate(Int32.self, 0)
        upperRows = Self.allocate(UnsafeMutablePointer<Int32>?.self, 0)
        ids = Self.allocate(Int64.self, 0)
        sources = Self.allocate(Int64.self, 0)
        levels = Self.allocate(Int32.self, 0)
    }

    deinit {
        for slot in 0..<capacity { upperRows[slot]?.deallocate() }
        for pointer in [
            UnsafeMutableRawPointer(vectors), UnsafeMutableRawPointer(codes), UnsafeMutableRawPointer(rows0),
            UnsafeMutableRawPointer(upperRows), UnsafeMutableRawPointer(ids), UnsafeMutableRawPointer(sources),
            UnsafeMutableRawPointer(levels),
        ] {
            free(pointer)
        }
    }

    @inline(__always) func vector(_ slot: Int32) -> UnsafeMutablePointer<Float16> { vectors + Int(slot) &* dimension }
    @inline(__always) func code(_ slot: Int32) -> UnsafeMutablePointer<Int8> { codes + Int(slot) &* codeStride }

    /// The link row of `slot` on `layer` (count first), or nil above the node's level.
    @inline(__always) func row(_ slot: Int32, layer: Int) -> UnsafeMutablePointer<Int32>? {
        if layer == 0 { return rows0 + Int(slot) &* rowStride0 }
        guard layer <= Int(levels[Int(slot)]), let upper = upperRows[Int(slot)] else { return nil }
        return upper + (layer - 1) * rowStrideUpper
    }

    /// Fills a slot: vector, code, id, source, level and empty link rows on every level.
    func occupy(_ slot: Int32, id: Int64, source: Int64, level: Int, vector: UnsafeBufferPointer<Float>, quantizer: ScalarQuantizer) {
        let s = Int(slot)
        let half = self.vector(slot)
        for i in 0..<dimension { half[i] = Float16(vector[i]) }
        quantizer.encode(vector.baseAddress!, into: code(slot))
        ids[s] = id
        sources[s] = source
        rows0[s * rowStride0] = 0
        upperRows[s]?.deallocate()
        upperRows[s] = nil
        if level > 0 {
            let upper = UnsafeMutablePointer<Int32>.allocate(capacity: level * rowStrideUpper)
            upper.initialize(repeating: 0, count: level * rowStrideUpper)
            upperRows[s] = upper
        }
        levels[s] = Int32(level)
    }

    /// Overwrites everything the slot held with zeroes and marks it free.
    func erase(_ slot: Int32) {
        let s = Int(slot)
        vector(slot).update(repeating: 0, count: dimension)
        code(slot).update(repeating: 0, count: codeStride)
        (rows0 + s * rowStride0).update(repeating: 0, count: rowStride0)
        if let upper = upperRows[s] {
            upper.update(repeating: 0, count: Int(levels[s]) * rowStrideUpper)
            upper.deallocate()
            upperRows[s] = nil
        }
        ids[s] = 0
        sources[s] = 0
        levels[s] = -1
    }

    /// Grows every buffer to `newCapacity` slots; new slots are free.
    func grow(to newCapacity: Int) {
        guard newCapacity > capacity else { return }
        vectors = Self.reallocate(vectors, capacity * dimension, newCapacity * dimension)
        codes = Self.reallocate(codes, capacity * codeStride, newCapacity * codeStride)
        rows0 = Self.reallocate(rows0, capacity * rowStride0, newCapacity * rowStride0)
        upperRows = Self.reallocate(upperRows, capacity, newCapacity)
        ids = Self.reallocate(ids, capacity, newCapacity)
        sources = Self.reallocate(sources, capacity, newCapacity)
        levels = Self.reallocate(levels, capacity, newCapacity)
        (levels + capacity).update(repeating: -1, count: newCapacity - capacity)
        capacity = newCapacity
    }

    /// Bytes held by the buffers and the upper link rows.
    var memoryBytes: Int {
        var upper = 0
        for slot in 0..<capacity where levels[slot] > 0 { upper += Int(levels[slot]) * rowStrideUpper * 4 }
        return capacity * (dimension * 2 + codeStride + rowStride0 * 4 + 8 + 8 + 8 + 4) + upper
    }

    /// Zero-filled, cache-line-aligned buffer.
    private static func allocate<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        var raw: UnsafeMutableRawPointer?
        precondition(posix_memalign(&raw, 64, max(64, count * MemoryLayout<T>.stride)) == 0, "out of memory")
        memset(raw!, 0, max(64, count * MemoryLayout<T>.stride))
        return raw!.bindMemory(to: T.self, capacity: max(1, count))
    }

    private static func reallocate<T>(_ old: UnsafeMutablePointer<T>, _ oldCount: Int, _ newCount: Int) -> UnsafeMutablePointer<T> {
        let fresh = allocate(T.self, newCount)
        UnsafeMutableRawPointer(fresh).copyMemory(from: old, byteCount: oldCount * MemoryLayout<T>.stride)
        memset(UnsafeMutableRawPointer(old), 0, oldCount * MemoryLayout<T>.stride)
        free(old)
        return fresh
    }
}

/// A fixed set of mutexes shared by slot number: a node's link rows are written
/// only under its stripe's lock, and no code path holds two stripes at once.
final class StripedLocks: @unchecked Sendable {
    private let count: Int
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>

    init(count: Int = 4096) {
        self.count = count
        mutexes = .allocate(capacity: count)
        for i in 0..<count { pthread_mutex_init(mutexes + i, nil) }
    }

    deinit {
        for i in 0..<count { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
    }

    @inline(__always)
    func withLock<T>(_ slot: Int32, _ body: () throws -> T) rethrows -> T {
        let mutex = mutexes + Int(UInt32(bitPattern: slot) % UInt32(count))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

extension NodeStorage {
    /// Takes ownership of an upper-level row buffer read from a snapshot.
    func adoptUpperRows(_ rows: UnsafeMutablePointer<Int32>, slot: Int) {
        upperRows[slot]?.deallocate()
        upperRows[slot] = rows
    }

    /// Every row count within its row and every link to a live slot of a level
    /// high enough: what a loaded snapshot must satisfy before a search walks it.
    func linksAreValid(used: Int, maxLinks0: Int, maxLinksUpper: Int) -> Bool {
        for slot in 0..<used where levels[slot] >= 0 {
            for layer in 0...Int(levels[slot]) {
                guard let row = row(Int32(slot), layer: layer) else { return false }
                let count = Int(row[0])
                guard count >= 0, count <= (layer == 0 ? maxLinks0 : maxLinksUpper) else { return false }
                for i in 0..<count {
                    let link = Int(row[1 + i])
                    guard link >= 0, link < used, Int(levels[link]) >= layer else { return false }
                }
            }
        }
        return true
    }
}
