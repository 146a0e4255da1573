import FaceVision
import Foundation
import Index
import Store
import Synchronization

/// Lineup's main job on one machine: a folder holding the gallery database and the
/// index of its templates for one model, with ingest and search on top.
///
/// The database is the truth and the index follows it: on opening, the saved
/// snapshot is loaded, the faces stored since are added, and if the counts still
/// disagree (a crash between a commit and the next snapshot, a damaged file) the
/// index is rebuilt from the database and saved.
///
/// Small galleries are searched exactly; from `graphThreshold` stored faces on, the
/// gallery opens a graph index instead (see `defaultGraphThreshold`). The choice is
/// made when the gallery opens.
///
/// Templates are sealed at rest: in the database by the store, and the index
/// snapshots as whole files with the same keyring (`TemplateKeyring`).
public final class Gallery: Sendable {
    public enum IndexKind: String, Sendable {
        /// In this process: every template compared, or a graph index (HNSW).
        case exact, graph
        /// On a vector engine shared by every process of a deployment (`FaceIndex`).
        case shared
    }

    public let directory: String
    public let store: GalleryStore
    public let modelID: String
    /// The templates' index: in this process (exact or graph), or shared by a cluster
    /// deployment (Milvus).
    public let index: any FaceIndex
    public let indexKind: IndexKind
    /// The metadata store's face count as last asked, and when: the N of the bands for
    /// an index that cannot count in this process.
    let storedCount = Mutex<(count: Int, at: ContinuousClock.Instant)?>(nil)
    /// How the index came to be, for status output.
    public let indexOrigin: String

    /// Faces from which a graph index answers instead of exact search: where an
    /// exact scan with two threads passes about 10 ms (measured 6.4 billion
    /// multiply-adds per second per core: a million 128-value templates, or a
    /// quarter million of 512). Below it, exact search is fast and has perfect recall.
    public static func defaultGraphThreshold(dimension: Int) -> Int { 128_000_000 / max(1, dimension) }

    /// Opens the gallery in `directory`, sealing templates with `keyring` (default:
    /// the folder's `keyring.json`, created on first use). Its records are kept in
    /// `database`, by default the folder's own SQLite file `gallery.sqlite`; its
    /// templates are searched in `sharedIndex` when given, otherwise in this process.
    public init(
        directory: String, modelID: String, dimension: Int, graphThreshold: Int? = nil,
        keyring: TemplateKeyring? = nil, database: (any MetadataStore)? = nil,
        sharedIndex: (any FaceIndex)? = nil
    ) throws {
        // The gallery's folder is its owner's alone (0700): the database, keyring and
        // snapshots inside are 0600 too.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        self.directory = directory
        self.modelID = modelID
        let keys = try keyring ?? TemplateKeyring.openOrCreate(path: directory + "/keyring.json")
        store = try GalleryStore(database: database ?? SQLiteMetadataStore(path: directory + "/gallery.sqlite"), keyring: keys)
        if let sharedIndex {
            (indexKind, index, indexOrigin) = (.shared, sharedIndex, sharedIndex.engine)
            return
        }
        let sealing = SealedSnapshot(store: store)
        let stored = try store.faceCount(modelID: modelID)
        if stored >= graphThreshold ?? Self.defaultGraphThreshold(dimension: dimension) {
            indexKind = .graph
            (index, indexOrigin) = try Self.loadGraph(
                store: store, modelID: modelID, dimension: dimension,
                snapshot: Self.snapshotPath(directory: directory, modelID: modelID, kind: .graph),
                sealing: sealing)
        } else {
            indexKind = .exact
            let exact = ExactIndex(dimension: dimension)
            index = exact
            indexOrigin = try Self.loadExact(
                exact, store: store, modelID: modelID,
                snapshot: Self.snapshotPath(directory: directory, modelID: modelID, kind: .exact),
                sealing: sealing)
        }
        // An index rebuilt from the database is saved at once: the next open is fast,
        // and a damaged, outdated or unsealed snapshot does not stay on disk.
        if indexOrigin.hasPrefix("database") { try saveIndex() }
    }

    static func snapshotPath(directory: String, modelID: String, kind: IndexKind) -> String {
        directory + (kind == .graph ? "/graph-" : "/index-") + modelID.replacingOccurrences(of: "+", with: "-") + ".bin"
    }

    public var snapshotPath: String { Self.snapshotPath(directory: directory, modelID: modelID, kind: indexKind) }

    /// Writes the index snapshot (atomically, sealed with the current key); an index
    /// that keeps no snapshot (a shared one keeps itself) has nothing to write.
    public func saveIndex() throws {
        guard let snapshotting = index as? any SnapshottingIndex else { return }
        try snapshotting.save(modelID: modelID, to: snapshotPath, sealing: SealedSnapshot(store: store))
        // A snapshot of the other kind, left from when the gallery was smaller or
        // larger, is out of date and may hold erased faces: it goes.
        let other = Self.snapshotPath(directory: directory, modelID: modelID, kind: indexKind == .graph ? .exact : .graph)
        if FileManager.default.fileExists(atPath: other) { try FileManager.default.removeItem(atPath: other) }
    }

    private static func loadExact(
        _ index: ExactIndex, store: GalleryStore, modelID: String, snapshot: String,
        sealing: SealedSnapshot
    ) throws -> String {
        var origin: String
        do {
            try IndexSnapshot.load(into: index, modelID: modelID, from: snapshot, sealing: sealing)
            origin = "snapshot"
        } catch .missing {
            origin = "database"
        } catch {
            origin = "database (\(error.description))"
            index.removeAll()
        }
        let before = index.count
        try store.forEachTemplate(modelID: modelID, afterID: index.maxID) { id, source, vector in
            index.add(id: id, source: source, vector: vector)
        }
        if index.count != before { origin += " + \(index.count - before) newer faces" }
        let stored = try store.faceCount(modelID: modelID)
        if index.count != stored {
            index.removeAll()
            try store.forEachTemplate(modelID: modelID) { id, source, vector in index.add(id: id, source: source, vector: vector) }
            origin = "database (rebuilt: the snapshot disagreed with it)"
        }
        return origin
    }

    private static func loadGraph(
        store: GalleryStore, modelID: String, dimension: Int, snapshot: String,
        sealing: SealedSnapshot
    ) throws -> (HNSWIndex, String) {
        var graph: HNSWIndex, origin: String
        do {
            graph = try HNSWIndex.load(modelID: modelID, from: snapshot, sealing: sealing)
            origin = "graph snapshot"
            if graph.dimension != dimension {
                graph = HNSWIndex(dimension: dimension)
                origin = "database (the graph snapshot has another dimension)"
            }
        } catch .missing {
            (graph, origin) = (HNSWIndex(dimension: dimension), "database")
        } catch {
            (graph, origin) = (HNSWIndex(dimension: dimension), "database (\(error.description))")
        }
        let before = graph.count
        try addTemplates(from: store, modelID: modelID, afterID: graph.maxID, to: graph)
        if graph.count != before, before > 0 { origin += " + \(graph.count - before) newer faces" }
        if graph.count != (try store.faceCount(modelID: modelID)) {
            graph = HNSWIndex(dimension: dimension)
            try addTemplates(from: store, modelID: modelID, afterID: 0, to: graph)
            origin = "database (rebuilt: the graph snapshot disagreed with it)"
        }
        return (graph, origin)
    }

    /// Reads templates in batches and inserts each batch with every core.
    private static func addTemplates(from store: GalleryStore, modelID: String, afterID: Int64, to graph: HNSWIndex) throws {
        var ids: [Int64] = [], sources: [Int64] = [], vectors: [[Float]] = []
        let cores = ProcessInfo.processInfo.activeProcessorCount
        func flush() {
            graph.add(ids: ids, sources: sources, vectors: vectors, threads: cores)
            ids.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            vectors.removeAll(keepingCapacity: true)
        }
        try store.forEachTemplate(modelID: modelID, afterID: afterID) { id, source, vector in
            ids.append(id)
            sources.append(source)
            vectors.append(Array(vector))
            if ids.count == 65_536 { flush() }
        }
        flush()
    }
}

/// Index snapshots sealed with the gallery's keyring: the key id, then the AES-GCM
/// box. The store's current keyring is read at each use, so a rotation applies to
/// the next save.
struct SealedSnapshot: SnapshotSealing {
    let store: GalleryStore

    func seal(_ data: Data) throws -> Data {
        let keyring = store.keyring
        let id = Data(keyring.currentKeyID.utf8)
        return Data([UInt8(id.count)]) + id + (try keyring.seal(data))
    }

    func open(_ data: Data) throws -> Data {
        guard let length = data.first.map(Int.init), data.count > 1 + length else { throw TemplateKeyring.KeyringError.sealedValueDamaged }
        let start = data.startIndex
        let id = String(decoding: data[(start + 1)..<(start + 1 + length)], as: UTF8.self)
        return try store.keyring.open(Data(data[(start + 1 + length)...]), keyID: id)
    }
}
