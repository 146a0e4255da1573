import Foundation
import Index
import Store
import Vision

/// Lineup's main job on one machine: a folder holding the gallery database and the
/// index of its templates for one model, with ingest and search on top.
///
/// The database is the truth and the index follows it: on opening, the saved
/// snapshot is loaded, the faces stored since are added, and if the counts still
/// disagree (a crash between a commit and the next snapshot, a damaged file) the
/// index is rebuilt from the database.
public final class Gallery: Sendable {
    public let directory: String
    public let store: GalleryStore
    public let modelID: String
    public let index: ExactIndex
    /// How the index came to be, for status output.
    public let indexOrigin: String

    public init(directory: String, modelID: String, dimension: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.modelID = modelID
        store = try GalleryStore(path: directory + "/gallery.sqlite")
        index = ExactIndex(dimension: dimension)
        indexOrigin = try Self.loadIndex(index, store: store, modelID: modelID,
                                         snapshot: Self.snapshotPath(directory: directory, modelID: modelID))
    }

    static func snapshotPath(directory: String, modelID: String) -> String {
        directory + "/index-" + modelID.replacingOccurrences(of: "+", with: "-") + ".bin"
    }

    public var snapshotPath: String { Self.snapshotPath(directory: directory, modelID: modelID) }

    /// Writes the index snapshot (atomically).
    public func saveIndex() throws {
        try IndexSnapshot.save(index, modelID: modelID, to: snapshotPath)
    }

    private static func loadIndex(_ index: ExactIndex, store: GalleryStore, modelID: String, snapshot: String) throws -> String {
        var origin: String
        do {
            try IndexSnapshot.load(into: index, modelID: modelID, from: snapshot)
            origin = "snapshot"
        } catch .missing {
            origin = "database"
        } catch {
            origin = "database (\(error.description))"
            index.load(ids: [], vectors: [])
        }
        let before = index.count
        try store.forEachTemplate(modelID: modelID, afterID: index.maxID) { id, vector in index.add(id: id, vector: vector) }
        if index.count != before { origin += " + \(index.count - before) newer faces" }
        let stored = try store.faceCount(modelID: modelID)
        if index.count != stored {
            index.load(ids: [], vectors: [])
            try store.forEachTemplate(modelID: modelID) { id, vector in index.add(id: id, vector: vector) }
            origin = "database (rebuilt: the snapshot disagreed with it)"
        }
        return origin
    }
}
