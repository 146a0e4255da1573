import Dispatch
import Foundation

extension HNSWIndex {
    /// Removes `id`: its neighbours are re-linked among themselves on every level so
    /// the graph stays navigable, every other link to it is dropped, and the slot's
    /// vector, code and links are overwritten with zeroes before the call returns.
    @discardableResult
    public func remove(id: Int64) -> Bool {
        remove(ids: [id]) == 1
    }

    /// Removals from which the graph is repaired in one parallel pass over the nodes
    /// that lose a link (`reconnectAfterBulkRemoval`) instead of around each removed node.
    static let bulkRemoval = 256

    /// Removes many ids at once (an erasure of a source or a jurisdiction). A few are
    /// repaired one by one: each one's neighbours re-linked among themselves with the
    /// neighbour heuristic, then one pass drops every link to any of them. Many (from
    /// `bulkRemoval`) are repaired node by node instead: each remaining node that
    /// links to a removed one takes the closest of the removed ones' own neighbours in
    /// their place (the candidates FreshDiskANN's delete consolidation uses), all
    /// nodes at once across cores. Repairing around each removed node scores about a
    /// thousand pairs per neighbour; erasing a million faces that way took hours.
    /// Returns how many were there.
    @discardableResult
    public func remove(ids: [Int64]) -> Int {
        structure.write {
            let found = state.withLock { state in Set(ids).compactMap { id in state.slots[id].map { (id, $0) } } }
            guard !found.isEmpty else { return 0 }
            let slots = found.map(\.1)
            if slots.count >= Self.bulkRemoval {
                reconnectAfterBulkRemoval(of: slots)
            } else {
                let gone = Set(slots)
                for slot in slots { repairNeighbours(of: slot, removing: gone) }
                dropLinks(to: gone)
            }
            for slot in slots { storage.erase(slot) }
            state.withLock { state in
                for (id, _) in found { state.slots.removeValue(forKey: id) }
                state.free.append(contentsOf: slots)
                if slots.contains(state.entryPoint) { (state.entryPoint, state.maxLevel) = newEntryPoint(used: state.used) }
            }
            return slots.count
        }
    }

    /// Re-links the neighbours of `slot` among themselves, leaving out every slot
    /// being removed. Runs with the structure lock held exclusively.
    private func repairNeighbours(of slot: Int32, removing gone: Set<Int32>) {
        let level = Int(storage.levels[Int(slot)])
        for layer in 0...level {
            let neighbours = links(of: slot, layer: layer).filter { !gone.contains($0) }
            let capacity = layer == 0 ? maxLinks0 : parameters.m
            for neighbour in neighbours {
                let kept = links(of: neighbour, layer: layer).filter { !gone.contains($0) }
                let pool = Set(kept + neighbours.filter { $0 != neighbour })
                let scored = pool.map { Candidate(slot: $0, score: pairScore(neighbour, $0)) }.sorted { $0.score > $1.score }
                write(selectNeighbours(scored, limit: capacity, fillUp: true).map(\.slot), to: storage.row(neighbour, layer: layer)!)
            }
        }
    }

    /// For every remaining node linking to a removed one, on every layer: its remaining
    /// links stay, and the freed places go to the closest of the removed neighbours'
    /// remaining neighbours (scored on the int8 codes). Each node writes only its own
    /// rows and reads only removed nodes' rows, which nothing writes meanwhile, so
    /// the nodes are shared out between cores. Runs with the structure lock held exclusively.
    private func reconnectAfterBulkRemoval(of slots: [Int32]) {
        let used = state.withLock { $0.used }
        var removed = [Bool](repeating: false, count: used)
        for slot in slots { removed[Int(slot)] = true }
        let gone = UnsafeSendable(removed)
        let parts = ProcessInfo.processInfo.activeProcessorCount * 4
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var candidates: [Candidate] = [], seen = Set<Int32>()
            for node in Int32(used * part / parts)..<Int32(used * (part + 1) / parts) {
                let level = Int(storage.levels[Int(node)])
                guard level >= 0, !gone.value[Int(node)] else { continue }
                for layer in 0...level {
                    let row = storage.row(node, layer: layer)!
                    let count = Int(row[0])
                    guard (0..<count).contains(where: { gone.value[Int(row[1 + $0])] }) else { continue }
                    let links = (0..<count).map { row[1 + $0] }
                    let kept = links.filter { !gone.value[Int($0)] }
                    seen = Set(kept)
                    seen.insert(node)
                    candidates.removeAll(keepingCapacity: true)
                    for lost in links where gone.value[Int(lost)] {
                        guard let lostRow = storage.row(lost, layer: layer) else { continue }
                        for i in 0..<Int(lostRow[0]) {
                            let candidate = lostRow[1 + i]
                            guard !gone.value[Int(candidate)], seen.insert(candidate).inserted,
                                Int(storage.levels[Int(candidate)]) >= layer
                            else { continue }
                            candidates.append(Candidate(slot: candidate, score: pairScore(node, candidate)))
                        }
                    }
                    candidates.sort { $0.score > $1.score }
                    let capacity = layer == 0 ? maxLinks0 : parameters.m
                    write(kept + candidates.prefix(capacity - kept.count).map(\.slot), to: row)
                }
            }
        }
    }

    /// Links are not always symmetric: anything else still pointing at a removed slot lets go.
    private func dropLinks(to gone: Set<Int32>) {
        let used = state.withLock { $0.used }
        for other in 0..<Int32(used) where !gone.contains(other) {
            let otherLevel = Int(storage.levels[Int(other)])
            guard otherLevel >= 0 else { continue }
            for layer in 0...otherLevel {
                let row = storage.row(other, layer: layer)!
                let count = Int(row[0])
                guard (0..<count).contains(where: { gone.contains(row[1 + $0]) }) else { continue }
                write((0..<count).map { row[1 + $0] }.filter { !gone.contains($0) }, to: row)
            }
        }
    }

    private func newEntryPoint(used: Int) -> (Int32, Int) {
        var best: (Int32, Int) = (-1, -1)
        for slot in 0..<used where Int(storage.levels[slot]) > best.1 { best = (Int32(slot), Int(storage.levels[slot])) }
        return best
    }

    func links(of slot: Int32, layer: Int) -> [Int32] {
        guard let row = storage.row(slot, layer: layer) else { return [] }
        return (0..<Int(row[0])).map { row[1 + $0] }
    }

    /// A copy of the stored vectors and codes of every slot handed out (for tests
    /// that look for erased bytes).
    var storedBytes: (vectors: [Float16], codes: [Int8]) {
        structure.read {
            let used = state.withLock { $0.used }
            return (
                Array(UnsafeBufferPointer(start: storage.vectors, count: used * dimension)),
                Array(UnsafeBufferPointer(start: storage.codes, count: used * storage.codeStride))
            )
        }
    }
}
