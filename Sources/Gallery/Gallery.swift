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
/// Small galleries are searched exactly; from `largeGalleryThreshold` stored faces on,
/// the gallery opens its large-gallery index instead (see `defaultLargeGalleryThreshold`):
/// a scan of compact codes (`ScanIndex`) by default, or a graph (`HNSWIndex`). The
/// choice is made when the gallery opens.
///
/// Templates are sealed at rest: in the database by the store, and the index
/// snapshots as whole files with the same keyring (`TemplateKeyring`).
public final class Gallery: Sendable {
    public enum IndexKind: String, Sendable, CaseIterable {
        /// In this process: every template compared (`ExactIndex`), every face's codes
        /// scanned and the best re-scored (`ScanIndex`), or a graph walked (`HNSWIndex`).
        case exact, scan, graph
        /// On a vector engine shared by every process of a deployment (`FaceIndex`).
        case shared
    }

    public let directory: String
    public let store: GalleryStore
    public let modelID: String
    let dimension: Int
    let largeGalleryThreshold: Int
    /// What a gallery of `largeGalleryThreshold` faces or more is searched with: scan or graph.
    public let largeGalleryIndex: IndexKind
    /// The metadata store's face count as last asked, and when: the N of the bands for
    /// an index that cannot count in this process.
    let storedCount = Mutex<(count: Int, at: ContinuousClock.Instant)?>(nil)
    /// The index once loaded, with its kind and how it came to be (for status output).
    /// A shared index is known from the start; one in this process is loaded on first
    /// use, so a command that never searches (listing accounts, reading the audit log)
    /// does not read a snapshot of millions of templates.
    let loaded: Mutex<LoadedIndex?>

    struct LoadedIndex: Sendable {
        var index: any FaceIndex
        var kind: IndexKind
        var origin: String
    }

    /// How wide a gallery's graph walk is (HNSW's efSearch): wider than a throughput
    /// benchmark's, because one investigator waits for one search whose fixed cost
    /// (policy, audit entry, provenance) is about ten milliseconds anyway. Measured
    /// with `lineup-bench gallery --breadths` at a million faces, LFW probes among
    /// synthetic templates: recall@10 against exact search 0.38 at 64, 0.73 at 1024,
    /// 0.86 at 2048, for 6 ms more per search than at 64. At ten million faces the
    /// search answers within its 50 ms budget (p99 37 ms with half the gallery
    /// excluded) but recall falls to 0.34, which is why large galleries are scanned
    /// by default (`ScanIndex`: 0.999 there).
    public static let graphSearchBreadth = 2048

    /// Faces from which the large-gallery index answers instead of exact search: where
    /// an exact scan with two threads passes about 10 ms (measured 6.4 billion
    /// multiply-adds per second per core: a million 128-value templates, or a
    /// quarter million of 512). Below it, exact search is fast and has perfect recall.
    public static func defaultLargeGalleryThreshold(dimension: Int) -> Int { 128_000_000 / max(1, dimension) }

    /// Opens the gallery in `directory`, sealing templates with `keyring` (default:
    /// the folder's `keyring.json`, created on first use) and keeping each face's own
    /// key in the vault at `keyVault` (default: `keys.sqlite` beside the keyring file,
    /// or in the folder for a keyring without a file). Its records are kept in
    /// `database`, by default the folder's own SQLite file `gallery.sqlite`; its
    /// templates are searched in `sharedIndex` when given, otherwise in this process
    /// (loaded when first needed: see `index`), by exact search below
    /// `largeGalleryThreshold` faces and by `largeGalleryIndex` (`.scan` or `.graph`) from it on.
    /// `retemplating`: opened to make its templates again as `modelID` (see
    /// `retemplate`), the only way a gallery of another model, or one whose
    /// re-templating is under way, is opened.
    public init(
        directory: String, modelID: String, dimension: Int, largeGalleryThreshold: Int? = nil,
        largeGalleryIndex: IndexKind = .scan, keyring: TemplateKeyring? = nil, keyVault: String? = nil,
        database: (any MetadataStore)? = nil, sharedIndex: (any FaceIndex)? = nil, adoptingKeyVault: Bool = false,
        retemplating: Bool = false
    ) throws {
        guard largeGalleryIndex == .scan || largeGalleryIndex == .graph else {
            throw StoreError.invalid("a large gallery is searched by a scan or a graph, not '\(largeGalleryIndex.rawValue)'")
        }
        // The gallery's folder is its owner's alone (0700): the database, keyring and
        // snapshots inside are 0600 too.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        self.directory = directory
        self.modelID = modelID
        self.dimension = dimension
        self.largeGalleryThreshold = largeGalleryThreshold ?? Self.defaultLargeGalleryThreshold(dimension: dimension)
        // The scan's codes take pairs of values; an odd-sized template is walked in a graph.
        self.largeGalleryIndex = largeGalleryIndex == .scan && !ScanIndex.accepts(dimension: dimension) ? .graph : largeGalleryIndex
        let keys = try keyring ?? TemplateKeyring.openOrCreate(path: directory + "/keyring.json")
        let vault = try KeyVault(path: keyVault ?? Self.defaultKeyVault(directory: directory, keyring: keys))
        store = try GalleryStore(
            database: database ?? SQLiteMetadataStore(path: directory + "/gallery.sqlite"), keyring: keys, vault: vault,
            adoptingVault: adoptingKeyVault)
        loaded = Mutex(sharedIndex.map { LoadedIndex(index: $0, kind: .shared, origin: $0.engine) })
        let held = try store.templateModel(recordingIfNew: modelID)
        guard !retemplating else { return }
        if let target = try store.retemplateTarget() {
            throw StoreError.invalid(
                "this gallery is being re-templated from \(held) to \(target) (lineup retemplate): until that run finishes it is neither searched nor added to"
            )
        }
        guard held == modelID else { throw Self.modelMismatch(held: held, asked: modelID) }
    }

    /// Why a gallery of `held` templates is not opened, or given a template, for `asked`.
    static func modelMismatch(held: String, asked: String) -> StoreError {
        let (heldEmbedder, heldAlignment) = AlignmentMode.split(templateModelID: held)
        let (askedEmbedder, askedAlignment) = AlignmentMode.split(templateModelID: asked)
        if heldEmbedder == askedEmbedder {
            return .invalid(
                "this gallery holds templates of faces aligned by '\(heldAlignment.rawValue)' (\(held)), not '\(askedAlignment.rawValue)' (\(asked)): "
                    + "give --alignment \(heldAlignment.rawValue) (or LINEUP_ALIGNMENT), or make the gallery's templates again with lineup retemplate --alignment \(askedAlignment.rawValue)"
            )
        }
        return .invalid("this gallery holds \(held) templates, not \(asked): templates of two models are never compared")
    }

    /// Where the key vault is unless given: beside the keyring file, on the keyring's
    /// volume (so the processes of a cluster deployment, which share a keyring file,
    /// share the vault); in the gallery folder for a keyring given without a file.
    public static func defaultKeyVault(directory: String, keyring: TemplateKeyring) -> String {
        guard let path = keyring.path else { return directory + "/keys.sqlite" }
        return ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("keys.sqlite")
    }

    /// The templates' index: in this process (exact or graph), or shared by a cluster
    /// deployment (Milvus). One in this process is loaded the first time it is asked
    /// for (snapshot, then the faces stored since; rebuilt from the database when the
    /// two disagree), which for ten million faces takes seconds.
    public var index: any FaceIndex {
        get throws { try loadedIndex().index }
    }

    /// Which kind of index the gallery searches (loads it, as `index` does).
    public var indexKind: IndexKind {
        get throws { try loadedIndex().kind }
    }

    /// How the index came to be ("snapshot", "database (rebuilt: …)", the shared engine).
    public var indexOrigin: String {
        get throws { try loadedIndex().origin }
    }

    /// Whether the index is in memory (or shared): false until something needs it.
    public var isIndexLoaded: Bool { loaded.withLock { $0 != nil } }

    func loadedIndex() throws -> LoadedIndex {
        try loaded.withLock { current in
            if let current { return current }
            let made = try loadIndex()
            current = made
            return made
        }
    }

    /// Loads the index in this process: exact below `largeGalleryThreshold` stored
    /// faces, the large-gallery index from it on. An index rebuilt from the database, or given faces stored
    /// after its snapshot, is saved at once: the next open is fast, and a damaged,
    /// outdated or unsealed snapshot does not stay on disk.
    private func loadIndex() throws -> LoadedIndex {
        let sealing = SealedSnapshot(store: store)
        let stored = try store.faceCount(modelID: modelID)
        var made: LoadedIndex
        if stored >= largeGalleryThreshold, largeGalleryIndex == .scan {
            let (scan, origin) = try Self.loadScan(
                store: store, modelID: modelID, dimension: dimension,
                snapshot: Self.snapshotPath(directory: directory, modelID: modelID, kind: .scan), sealing: sealing)
            made = LoadedIndex(index: scan, kind: .scan, origin: origin)
        } else if stored >= largeGalleryThreshold {
            let (graph, origin) = try Self.loadGraph(
                store: store, modelID: modelID, dimension: dimension,
                snapshot: Self.snapshotPath(directory: directory, modelID: modelID, kind: .graph), sealing: sealing)
            graph.efSearchOverride = Self.graphSearchBreadth
            made = LoadedIndex(index: graph, kind: .graph, origin: origin)
        } else {
            let exact = ExactIndex(dimension: dimension)
            let origin = try Self.loadExact(
                exact, store: store, modelID: modelID,
                snapshot: Self.snapshotPath(directory: directory, modelID: modelID, kind: .exact), sealing: sealing)
            made = LoadedIndex(index: exact, kind: .exact, origin: origin)
        }
        if made.origin.hasPrefix("database") || made.origin.hasSuffix("newer faces") { try save(made) }
        return made
    }

    static func snapshotPath(directory: String, modelID: String, kind: IndexKind) -> String {
        let prefix =
            switch kind {
            case .graph: "/graph-"
            case .scan: "/scan-"
            case .exact, .shared: "/index-"
            }
        return directory + prefix + modelID.replacingOccurrences(of: "+", with: "-") + ".bin"
    }

    /// Where the snapshot of the index is (loads the index to know its kind).
    public var snapshotPath: String {
        get throws { Self.snapshotPath(directory: directory, modelID: modelID, kind: try indexKind) }
    }

    /// Writes the index snapshot (atomically, sealed with the current key); an index
    /// that keeps no snapshot (a shared one keeps itself) has nothing to write. Loads
    /// the index first when it is not in memory: a key rotation or an erasure must
    /// reach the snapshot on disk too.
    public func saveIndex() throws {
        try save(try loadedIndex())
    }

    private func save(_ loaded: LoadedIndex) throws {
        guard let snapshotting = loaded.index as? any SnapshottingIndex else { return }
        let path = Self.snapshotPath(directory: directory, modelID: modelID, kind: loaded.kind)
        let sealing = SealedSnapshot(store: store)
        try snapshotting.save(modelID: modelID, to: path, sealing: sealing)
        // The file just written replaced every other snapshot: their keys go.
        if let written = sealing.lastIssuedKeyID { try store.vault.retireSnapshotKeys(keeping: written) }
        // A snapshot of another kind, left from when the gallery was smaller or larger
        // or searched another way, is out of date and may hold erased faces: it goes.
        try removeSnapshots(except: loaded.kind)
    }

    /// Deletes the snapshot files of every index kind but `kept`, of templates of
    /// `model` (default: the gallery's).
    func removeSnapshots(ofModel model: String? = nil, except kept: IndexKind? = nil) throws {
        for kind in [IndexKind.exact, .scan, .graph] where kind != kept {
            let path = Self.snapshotPath(directory: directory, modelID: model ?? modelID, kind: kind)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
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

    /// The index a snapshot holds, or an empty one and why the snapshot was not used
    /// (missing, damaged, for another model or dimension): the origin status reports.
    private static func fromSnapshot<Index: FaceIndex>(
        _ kind: String, dimension: Int, load: () throws(IndexSnapshot.LoadError) -> Index, empty: () -> Index
    ) -> (Index, String) {
        do {
            let index = try load()
            guard index.dimension == dimension else { return (empty(), "database (the \(kind) snapshot has another dimension)") }
            return (index, "\(kind) snapshot")
        } catch .missing {
            return (empty(), "database")
        } catch {
            return (empty(), "database (\(error.description))")
        }
    }

    private static func loadScan(
        store: GalleryStore, modelID: String, dimension: Int, snapshot: String, sealing: SealedSnapshot
    ) throws -> (ScanIndex, String) {
        var (scan, origin) = fromSnapshot(
            "scan", dimension: dimension,
            load: { () throws(IndexSnapshot.LoadError) in
                try ScanIndex.load(modelID: modelID, from: snapshot, sealing: sealing)
            }, empty: { ScanIndex(dimension: dimension) })
        let before = scan.count
        let stored = try store.faceCount(modelID: modelID)
        scan.reserveCapacity(stored)
        try addTemplates(from: store, modelID: modelID, afterID: scan.maxID) { scan.add(ids: $0, sources: $1, vectors: $2) }
        if scan.count != before, before > 0 { origin += " + \(scan.count - before) newer faces" }
        if scan.count != (try store.faceCount(modelID: modelID)) {
            scan = ScanIndex(dimension: dimension)
            scan.reserveCapacity(stored)
            try addTemplates(from: store, modelID: modelID, afterID: 0) { scan.add(ids: $0, sources: $1, vectors: $2) }
            origin = "database (rebuilt: the scan snapshot disagreed with it)"
        }
        return (scan, origin)
    }

    private static func loadGraph(
        store: GalleryStore, modelID: String, dimension: Int, snapshot: String,
        sealing: SealedSnapshot
    ) throws -> (HNSWIndex, String) {
        var (graph, origin) = fromSnapshot(
            "graph", dimension: dimension,
            load: { () throws(IndexSnapshot.LoadError) in
                try HNSWIndex.load(modelID: modelID, from: snapshot, sealing: sealing)
            }, empty: { HNSWIndex(dimension: dimension) })
        let before = graph.count
        // A long build (ten million faces take about an hour on two cores) saves what
        // it has every few million faces: if it is cut short, the next open resumes
        // from there, as from any snapshot with newer faces after it.
        let checkpoint = { try graph.save(modelID: modelID, to: snapshot, sealing: sealing) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try addTemplates(from: store, modelID: modelID, afterID: graph.maxID, checkpoint: checkpoint) {
            graph.add(ids: $0, sources: $1, vectors: $2, threads: cores)
        }
        if graph.count != before, before > 0 { origin += " + \(graph.count - before) newer faces" }
        if graph.count != (try store.faceCount(modelID: modelID)) {
            graph = HNSWIndex(dimension: dimension)
            try addTemplates(from: store, modelID: modelID, afterID: 0, checkpoint: checkpoint) {
                graph.add(ids: $0, sources: $1, vectors: $2, threads: cores)
            }
            origin = "database (rebuilt: the graph snapshot disagreed with it)"
        }
        return (graph, origin)
    }

    /// Reads templates in batches and hands each batch to `add` (which uses every
    /// core), calling `checkpoint` after every `checkpointFaces` faces.
    private static func addTemplates(
        from store: GalleryStore, modelID: String, afterID: Int64,
        checkpointFaces: Int = 2 << 20, checkpoint: () throws -> Void = {},
        add: (_ ids: [Int64], _ sources: [Int64], _ vectors: [[Float]]) -> Void
    ) throws {
        var ids: [Int64] = [], sources: [Int64] = [], vectors: [[Float]] = []
        var sinceCheckpoint = 0
        func flush() throws {
            add(ids, sources, vectors)
            sinceCheckpoint += ids.count
            ids.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            vectors.removeAll(keepingCapacity: true)
            if sinceCheckpoint >= checkpointFaces {
                try checkpoint()
                sinceCheckpoint = 0
            }
        }
        var failure: (any Error)?
        try store.forEachTemplate(modelID: modelID, afterID: afterID) { id, source, vector in
            guard failure == nil else { return }
            ids.append(id)
            sources.append(source)
            vectors.append(Array(vector))
            if ids.count == 65_536 {
                do { try flush() } catch { failure = error }
            }
        }
        if let failure { throw failure }
        try flush()
    }
}
