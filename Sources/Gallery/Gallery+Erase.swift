import Foundation
import Store

extension Gallery {
    /// Takes erased faces out of the index (in this process, their vectors
    /// overwritten in memory), saves the snapshot without them and checkpoints the
    /// database, so no file of the gallery keeps their templates. Call after the rows
    /// are deleted: the metadata store no longer holds these faces, so no search
    /// returns them from then on; and if the process stops in between, the next open
    /// (or, for a shared index, `reconcileIndex()`) finds the index and the database
    /// disagree and brings the index in line.
    public func forget(faceIDs: [Int64]) throws {
        try index.remove(ids: faceIDs)
        try saveIndex()
        try store.checkpoint()
    }
}
