import Foundation
import Index
import Store

extension Gallery {
    /// What bringing a shared index back in line with the metadata store changed.
    public struct Reconciliation: Sendable, Codable, Equatable {
        /// Faces the store holds that the index lacked (an ingest cut short between
        /// its commit and the index), now added.
        public var added: Int
        /// Faces the index held that the store no longer does (an erasure whose removal
        /// from the index failed), now removed.
        public var removed: Int
        public var faces: Int
    }

    /// Compares the shared index with the metadata store, the truth, range of ids by
    /// range, and adds or removes what differs. An embedded gallery's index is rebuilt
    /// from the store when it opens, so there is nothing to do.
    public func reconcileSharedIndex() throws -> Reconciliation {
        guard let sharedIndex else { return Reconciliation(added: 0, removed: 0, faces: index.count) }
        let maxID = try store.database.read { db in try db.scalar("SELECT COALESCE(max(id), 0) FROM face").int64() }
        var result = Reconciliation(added: 0, removed: 0, faces: 0)
        let width = sharedIndex.idRangeLimit
        for start in stride(from: Int64(0), through: maxID, by: Int(width)) {
            let range = start..<(start + width)
            let held = Set(try store.database.read { db in
                try db.ids("SELECT id FROM face WHERE modelID = ? AND id >= ? AND id < ?",
                           [.text(modelID), .integer(range.lowerBound), .integer(range.upperBound)])
            })
            let indexed = try sharedIndex.faceIDs(in: range)
            result.faces += held.count
            let stray = indexed.subtracting(held), missing = held.subtracting(indexed)
            if !stray.isEmpty {
                try sharedIndex.remove(faceIDs: stray.sorted())
                result.removed += stray.count
            }
            if !missing.isEmpty {
                try sharedIndex.add(try indexedFaces(missing))
                result.added += missing.count
            }
        }
        // Above every stored face: the newest faces, erased.
        let above = (maxID + 1)..<Int64.max
        var stray = try sharedIndex.faceIDs(in: above)
        while !stray.isEmpty {
            try sharedIndex.remove(faceIDs: stray.sorted())
            result.removed += stray.count
            let left = try sharedIndex.faceIDs(in: above)
            guard left != stray else { break } // removals not applied yet: the next run finishes them
            stray = left
        }
        return result
    }

    /// The faces with their templates opened and what the policy filters by.
    func indexedFaces(_ ids: Set<Int64>) throws -> [IndexedFace] {
        let provenance = try store.provenance(faceIDs: Array(ids))
        let templates = try store.templates(faceIDs: Array(ids))
        return provenance.values.compactMap { p -> IndexedFace? in
            guard let id = p.face.id, let vector = templates[id] else { return nil }
            return IndexedFace(id: id, vector: vector, source: p.source.id!, organisation: p.source.organisationID ?? 0,
                               jurisdiction: p.source.jurisdiction)
        }
    }
}
