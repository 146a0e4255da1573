extension HNSWIndex {
    /// Removes `id`: its neighbours are re-linked among themselves on every level so
    /// the graph stays navigable, every other link to it is dropped, and the slot's
    /// vector, code and links are overwritten with zeroes before the call returns.
    @discardableResult
    public func remove(id: Int64) -> Bool {
        structure.write {
            guard let slot = state.withLock({ $0.slots[id] }) else { return false }
            repairAround(slot)
            storage.erase(slot)
            state.withLock { state in
                state.slots.removeValue(forKey: id)
                state.free.append(slot)
                if state.entryPoint == slot { (state.entryPoint, state.maxLevel) = newEntryPoint(used: state.used) }
            }
            return true
        }
    }

    /// Runs with the structure lock held exclusively.
    private func repairAround(_ slot: Int32) {
        let level = Int(storage.levels[Int(slot)])
        for layer in 0...level {
            let neighbours = links(of: slot, layer: layer)
            let capacity = layer == 0 ? maxLinks0 : parameters.m
            for neighbour in neighbours {
                let kept = links(of: neighbour, layer: layer).filter { $0 != slot }
                let pool = Set(kept + neighbours.filter { $0 != neighbour })
                let scored = pool.map { Candidate(slot: $0, score: pairScore(neighbour, $0)) }.sorted { $0.score > $1.score }
                write(selectNeighbours(scored, limit: capacity, fillUp: true).map(\.slot), to: storage.row(neighbour, layer: layer)!)
            }
        }
        // Links are not always symmetric: anything else still pointing here lets go.
        let used = state.withLock { $0.used }
        for other in 0..<Int32(used) where other != slot {
            let otherLevel = Int(storage.levels[Int(other)])
            guard otherLevel >= 0 else { continue }
            for layer in 0...min(level, otherLevel) {
                let row = storage.row(other, layer: layer)!
                let count = Int(row[0])
                guard (0..<count).contains(where: { row[1 + $0] == slot }) else { continue }
                write((0..<count).map { row[1 + $0] }.filter { $0 != slot }, to: row)
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
            return (Array(UnsafeBufferPointer(start: storage.vectors, count: used * dimension)),
                    Array(UnsafeBufferPointer(start: storage.codes, count: used * storage.codeStride)))
        }
    }
}
