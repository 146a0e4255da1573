import FaceVision
import Foundation
import Index
import Store

extension Gallery {
    /// What a bulk load stored.
    public struct BulkLoadSummary: Sendable, Codable {
        public var filesStored: Int
        public var filesSkipped: Int
        public var faces: Int
        public var facesWithheld: Int
    }

    /// Stores files whose faces were found and templated before they reached the
    /// gallery (a load from an earlier system; the benchmark's gallery), all in one
    /// transaction, each file as ingest stores it: `options.withhold` leaves out
    /// opted-out faces and `options.recorded` runs for every file stored. A file whose
    /// content is already stored for its source is skipped, so a load cut short is
    /// simply run again.
    ///
    /// A loaded index takes the faces at once; one not loaded yet adds them when it
    /// next loads (they are newer than its snapshot), so loading millions of faces
    /// never waits for an index. If a shared index refuses them, the files are taken
    /// back out and `options.withdrawn` is told, as in ingest.
    public func storePrepared(_ files: [GalleryStore.FileToStore], source: Source, options: IngestOptions) throws -> BulkLoadSummary {
        var withheld = 0
        let kept = files.map { toStore -> GalleryStore.FileToStore in
            var kept = toStore
            withheld += Self.withhold(from: &kept.pictures, options: options)
            return kept
        }
        let stored = try store.record(files: kept, alsoInTransaction: options.recorded)
        let faces = Self.indexed(stored.compactMap { $0 }.flatMap { $0 }, of: source)
        if isIndexLoaded, !faces.isEmpty {
            do {
                try index.add(faces)
            } catch {
                for (toStore, faces) in zip(kept, stored) {
                    guard let faces else { continue }
                    try store.unrecord(fileSHA256: toStore.file.sha256, sourceID: toStore.file.sourceID)
                    options.withdrawn?(toStore.file, faces.compactMap(\.id))
                }
                throw error
            }
        }
        let storedFiles = stored.filter { $0 != nil }.count
        return BulkLoadSummary(
            filesStored: storedFiles, filesSkipped: files.count - storedFiles, faces: faces.count,
            facesWithheld: withheld)
    }
}
