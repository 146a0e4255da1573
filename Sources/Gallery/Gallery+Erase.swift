import Foundation
import Store

extension Gallery {
    /// Takes erased faces out of the index (their vectors overwritten in memory),
    /// saves the snapshot without them and checkpoints the database, so no file of
    /// the gallery keeps their templates. Call after the rows are deleted: if the
    /// process stops in between, the next open finds the index and the database
    /// disagree and rebuilds the index from the database.
    public func forget(faceIDs: [Int64]) throws {
        if let sharedIndex {
            // The metadata store no longer holds these faces, so no search returns them
            // from here on; this takes their templates out of the shared engine.
            try sharedIndex.remove(faceIDs: faceIDs)
            return
        }
        index.remove(ids: faceIDs)
        try saveIndex()
        try store.checkpoint()
    }
}
