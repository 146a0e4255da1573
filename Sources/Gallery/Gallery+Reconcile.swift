import Foundation
import Index
import Store

extension Gallery {
    /// What bringing the index back in line with the metadata store changed.
    public struct Reconciliation: Sendable, Codable, Equatable {
        /// Faces the store holds that the index lacked (an ingest cut short between
        /// its commit and the index), now added.
        public var added: Int
        /// Faces the index held that the store no longer does (an erasure whose removal
        /// from the index failed), now removed.
        public var removed: Int
        public var faces: Int
    }

    /// Compares the index with the metadata store, the truth, range of ids by range
    /// (as wide as the index answers in full), and adds or removes what differs; a
    /// snapshot is saved when anything changed. An index in this process is also
    /// checked whenever the gallery opens, so this matters most for a shared one,
    /// where an ingest or erasure can fail halfway across the network.
    public func reconcileIndex() throws -> Reconciliation {
        let index = try self.index
        let maxID = try store.maxFaceID()
        var result = Reconciliation(added: 0, removed: 0, faces: 0)
        for range in index.idRanges(upTo: maxID) {
            let held = try store.faceIDs(modelID: modelID, in: range)
            let indexed = try index.faceIDs(in: range)
            result.faces += held.count
            let stray = indexed.subtracting(held), missing = held.subtracting(indexed)
            if !stray.isEmpty {
                try index.remove(ids: stray.sorted())
                result.removed += stray.count
            }
            if !missing.isEmpty {
                try index.add(try indexedFaces(missing))
                result.added += missing.count
            }
        }
        // Above every stored face: the newest faces, erased.
        let above = (maxID + 1)..<Int64.max
        var stray = try index.faceIDs(in: above)
        while !stray.isEmpty {
            try index.remove(ids: stray.sorted())
            result.removed += stray.count
            let left = try index.faceIDs(in: above)
            guard left != stray else { break }  // removals not applied yet: the next run finishes them
            stray = left
        }
        if result.added + result.removed > 0 { try saveIndex() }
        return result
    }

    /// Empties the shared index and fills it again from the metadata store, the
    /// truth, 16,384 faces at a time: for a shared index in a layout Lineup no longer
    /// writes (the Milvus collections of its RESTful client), or one to start again.
    /// Searches find fewer faces until it finishes. Answers with the faces written;
    /// `progress` hears the running count.
    public func rebuildSharedIndex(progress: (Int) -> Void = { _ in }) throws -> Int {
        guard let shared = try index as? any SharedFaceIndex else {
            throw StoreError.invalid(
                "only a shared index (cluster mode) is rebuilt on request; an embedded one is rebuilt from its database when it opens")
        }
        try shared.recreate()
        var written = 0
        for range in shared.idRanges(upTo: try store.maxFaceID()) {
            let ids = try store.faceIDs(modelID: modelID, in: range)
            guard !ids.isEmpty else { continue }
            try shared.add(try indexedFaces(ids))
            written += ids.count
            progress(written)
        }
        try shared.flush()
        return written
    }

    /// Drops the index in this process and its snapshots, and loads it again from the
    /// database (a restore replaced the records). Answers with the faces it holds.
    public func rebuildLocalIndex() throws -> Int {
        try loaded.withLock { current in
            try removeSnapshots()
            current = nil
        }
        return try index.countInProcess ?? store.faceCount(modelID: modelID)
    }

    /// Every face of the gallery's model with its template opened and what the policy
    /// filters by, in id order: what a new index is filled with (a migration to Milvus).
    public func facesToIndex() throws -> [IndexedFace] {
        let sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id!, $0) })
        var faces: [IndexedFace] = []
        try store.forEachTemplate(modelID: modelID) { id, sourceID, vector in
            guard let source = sources[sourceID] else { return }
            faces.append(
                IndexedFace(
                    id: id, vector: Array(vector), source: sourceID, organisation: source.organisationID ?? 0,
                    jurisdiction: source.jurisdiction))
        }
        return faces
    }

    /// The faces with their templates opened and what the policy filters by.
    func indexedFaces(_ ids: Set<Int64>) throws -> [IndexedFace] {
        let provenance = try store.provenance(faceIDs: Array(ids))
        let templates = try store.templates(faceIDs: Array(ids))
        return provenance.values.compactMap { p -> IndexedFace? in
            guard let id = p.face.id, let vector = templates[id] else { return nil }
            return IndexedFace(
                id: id, vector: vector, source: p.source.id!, organisation: p.source.organisationID ?? 0,
                jurisdiction: p.source.jurisdiction)
        }
    }
}
