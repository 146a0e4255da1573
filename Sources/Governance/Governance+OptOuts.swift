import Dispatch
import Foundation
import Index
import Store
import Synchronization

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
        /// Those faces' templates one after another in half precision (as the index
        /// scores them, at half the bytes read per search), and their sources: to count
        /// the ones a search withheld.
        var vectors: [Float16]
        var sources: [Int64]

        /// How many withheld faces (of sources the search could see) score at least
        /// `floor`: the candidates the opt-outs kept out of this search. Every withheld
        /// face is scored (a hundred thousand at ten million faces), on every core.
        func facesThatWouldRank(probe: [Float], excludedSources: Set<Int64>, floor: Float) -> Int {
            guard !sources.isEmpty else { return 0 }
            let dimension = vectors.count / sources.count, rows = sources.count
            let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows / 20_000))
            let counts = Mutex([Int](repeating: 0, count: parts))
            vectors.withUnsafeBufferPointer { all in
                probe.withUnsafeBufferPointer { query in
                    sources.withUnsafeBufferPointer { sources in
                        let (all, query, sources) = (UnsafeSendable(all), UnsafeSendable(query), UnsafeSendable(sources))
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            // Faces come in id order, so a source's faces mostly follow each other.
                            var last = (source: Int64.min, excluded: false), count = 0
                            for row in rows * part / parts..<rows * (part + 1) / parts {
                                let source = sources.value[row]
                                if source != last.source { last = (source, excludedSources.contains(source)) }
                                guard !last.excluded else { continue }
                                let score = dot(query.value.baseAddress!, all.value.baseAddress! + row * dimension, count: dimension)
                                if score >= floor { count += 1 }
                            }
                            counts.withLock { $0[part] = count }
                        }
                    }
                }
            }
            return counts.withLock { $0.reduce(0, +) }
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
            state.vectors.append(contentsOf: vector.lazy.map { Float16($0) })
            state.sources.append(source)
        }
        optOutCache.withLock { $0 = state }
        return state
    }
}
