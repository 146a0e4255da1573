import Foundation
import Index
import Store

extension Governance {
    /// The opt-outs in force as every search and ingest needs them, read from the
    /// database once and kept until `Suppression.stamp` changes (an opt-out added or
    /// rejected, a face it withholds linked or erased). At ten million faces a
    /// thousand opt-outs withhold some hundred thousand stored faces (each opt-out's
    /// lookalikes at its threshold): reading that list for every search cost more
    /// than the search.
    struct OptOutState: Sendable {
        var stamp: String
        /// The opt-outs' own templates: what ingest withholds and a search's last check.
        var templates: [[Float]]
        /// The stored faces they withhold: left out inside the index.
        var faces: Set<Int64>
        /// Those faces' templates one after another, and their sources: to count the
        /// ones a search withheld.
        var vectors: [Float]
        var sources: [Int64]

        /// How many withheld faces (of sources the search could see) score at least
        /// `floor`: the candidates the opt-outs kept out of this search.
        func facesThatWouldRank(probe: [Float], excludedSources: Set<Int64>, floor: Float) -> Int {
            guard !sources.isEmpty else { return 0 }
            let dimension = vectors.count / sources.count
            return vectors.withUnsafeBufferPointer { all in
                probe.withUnsafeBufferPointer { query in
                    sources.indices.reduce(0) { count, row in
                        guard !excludedSources.contains(sources[row]) else { return count }
                        let score = dot(query.baseAddress!, all.baseAddress! + row * dimension, count: dimension)
                        return count + (score >= floor ? 1 : 0)
                    }
                }
            }
        }
    }

    func optOutState() throws -> OptOutState {
        let stamp = try database.read { db in try Suppression.stamp(in: db) }
        if let cached = optOutCache.withLock({ $0 }), cached.stamp == stamp { return cached }
        let keyring = gallery.store.keyring
        let (templates, faces) = try database.read { db in
            (
                try db.fetchAll(Suppression.self, "WHERE status != ?", [.text(ReviewStatus.rejected.rawValue)]).map { suppression in
                    try keyring.openTemplate(suppression.template, keyID: suppression.keyID)
                },
                try SuppressedFace.facesInForce(in: db)
            )
        }
        var state = OptOutState(stamp: stamp, templates: templates, faces: faces, vectors: [], sources: [])
        try gallery.store.forEachTemplate(ofFaces: faces.sorted()) { _, source, vector in
            state.vectors.append(contentsOf: vector)
            state.sources.append(source)
        }
        optOutCache.withLock { $0 = state }
        return state
    }
}
