import Crypto
import FaceVision
import Foundation
import GRDB
import Synchronization

/// The gallery's records in a metadata store, with templates sealed at rest.
///
/// The store is the source of truth. The vector index is derived from it and can
/// always be rebuilt from the `face` table; writes that add faces happen in one
/// transaction per source file, so what a crash leaves behind is always whole.
///
/// Each face's template is sealed with a key of its own, kept in the key vault
/// wrapped by the keyring (see `KeyVault`), and opened only into memory; the other
/// sealed values (opt-out and access-request templates, probe records) are sealed
/// with the keyring itself (see `TemplateKeyring`).
public final class GalleryStore: Sendable {
    /// The records, for the modules that keep their own there too (Governance).
    public let database: any MetadataStore
    /// The faces' own keys and the erasure journal.
    public let vault: KeyVault
    /// The gallery's id, shared by its database, its vault and its backups.
    public let galleryID: String
    /// A new database standing in for a lost one, opened only to be restored into.
    public let awaitsRestore: Bool
    let keyHolder: Mutex<TemplateKeyring>

    /// The keyring that wraps the faces' keys and seals the other values.
    public var keyring: TemplateKeyring { keyHolder.withLock { $0 } }

    /// Opens the gallery's records in `database` with the faces' keys in `vault`
    /// (refused when the vault is another gallery's), sealing any template an older
    /// version stored in the clear and giving a key of its own to any face an older
    /// version sealed with the keyring.
    ///
    /// `adoptingVault`: the database is a new one standing in for a lost one, about to
    /// be restored from a backup; it takes the vault's gallery id in memory only, so
    /// nothing else can be written to it under that id if the restore does not happen.
    public init(database: any MetadataStore, keyring: TemplateKeyring, vault: KeyVault, adoptingVault: Bool = false) throws {
        self.database = database
        self.vault = vault
        keyHolder = Mutex(keyring)
        let stored = try database.read { db in try Setting.value(.galleryID, in: db) }
        galleryID = try vault.bind(databaseGallery: stored, adopting: adoptingVault)
        awaitsRestore = adoptingVault && stored == nil
        if stored == nil, !adoptingVault { try database.write { db in try Setting.set(.galleryID, to: galleryID, in: db) } }
        if let sqlite = database as? SQLiteMetadataStore { try sealClearTemplates(in: sqlite) }
        try giveFacesTheirOwnKeys()
    }
}

// MARK: - Sources

extension GalleryStore {
    @discardableResult
    public func addSource(_ source: Source) throws -> Source {
        try source.validate()
        return try database.write { db in
            guard try db.count(Source.self, "WHERE name = ?", [.text(source.name)]) == 0 else {
                throw StoreError.duplicateSource(source.name)
            }
            var inserted = source
            try db.insert(&inserted)
            return inserted
        }
    }

    public func sources() throws -> [Source] {
        try database.read { db in try db.fetchAll(Source.self, "ORDER BY name") }
    }

    public func source(named name: String) throws -> Source {
        guard let source = try database.read({ db in try db.fetchOne(Source.self, "WHERE name = ?", [.text(name)]) }) else {
            throw StoreError.unknownSource(name)
        }
        return source
    }

}

// MARK: - Ingest

extension GalleryStore {
    /// Whether a file with this content is already stored for the source.
    public func containsFile(sourceID: Int64, sha256: Data) throws -> Bool {
        try database.read { db in
            try db.count(SourceFile.self, "WHERE sourceID = ? AND sha256 = ?", [.integer(sourceID), .blob(sha256)]) > 0
        }
    }

    /// One picture of a file and the faces found in it, ready to store.
    public struct PictureToStore: Sendable {
        public var image: GalleryImage
        public var faces: [GalleryFace]
        /// Where it was published (its `imageID` is set when stored).
        public var publications: [Publication]

        public init(image: GalleryImage, faces: [GalleryFace], publications: [Publication] = []) {
            self.image = image
            self.faces = faces
            self.publications = publications
        }
    }

    /// A file with its pictures and faces, ready to store.
    public struct FileToStore: Sendable {
        public var file: SourceFile
        public var pictures: [PictureToStore]

        public init(file: SourceFile, pictures: [PictureToStore]) {
            self.file = file
            self.pictures = pictures
        }
    }

    /// Stores a file with all its pictures and faces in one transaction and returns
    /// the stored faces (with ids, templates in the clear for the index). Returns nil
    /// when the content was stored before.
    public func record(
        file: SourceFile, pictures: [PictureToStore],
        alsoInTransaction recorded: ((any MetadataTransaction, SourceFile, [Int64]) throws -> Void)? = nil
    ) throws
        -> [GalleryFace]?
    {
        try record(files: [FileToStore(file: file, pictures: pictures)], alsoInTransaction: recorded)[0]
    }

    /// Stores many files in one transaction (a bulk load: one commit per file would
    /// spend its time syncing), each exactly as `record(file:pictures:)` stores one,
    /// with `recorded` called for each file stored. Nil for a file stored before.
    public func record(
        files: [FileToStore],
        alsoInTransaction recorded: ((any MetadataTransaction, SourceFile, [Int64]) throws -> Void)? = nil
    ) throws -> [[GalleryFace]?] {
        let keyring = self.keyring
        return try database.write { db in
            var keys: [(face: Int64, key: SymmetricKey)] = []
            let stored = try files.map { try Self.record($0, keys: &keys, in: db, alsoInTransaction: recorded) }
            // The keys reach the vault before the rows commit: a crash in between leaves
            // unused keys, never a face whose template cannot be opened.
            try vault.store(keys, keyring: keyring)
            return stored
        }
    }

    private static func record(
        _ toStore: FileToStore, keys: inout [(face: Int64, key: SymmetricKey)], in db: any MetadataTransaction,
        alsoInTransaction recorded: ((any MetadataTransaction, SourceFile, [Int64]) throws -> Void)?
    ) throws -> [GalleryFace]? {
        let file = toStore.file
        guard try db.count(SourceFile.self, "WHERE sourceID = ? AND sha256 = ?", [.integer(file.sourceID), .blob(file.sha256)]) == 0 else {
            return nil
        }
        var storedFile = file
        storedFile.faceCount = toStore.pictures.reduce(0) { $0 + $1.faces.count }
        try db.insert(&storedFile)
        var stored: [GalleryFace] = []
        for picture in toStore.pictures {
            var image = picture.image
            image.fileID = storedFile.id!
            try db.insert(&image)
            try Publication.add(picture.publications, to: image.id!, in: db)
            for var face in picture.faces {
                face.imageID = image.id!
                guard case .clear(let clear) = face.template else {
                    throw TemplateKeyring.KeyringError.sealedValueDamaged
                }
                let key = KeyVault.newFaceKey()
                face.template = .sealed(try FaceOpener.seal(clear, with: key), keyID: KeyVault.ownKey)
                try db.insert(&face)
                keys.append((face.id!, key))
                // The caller gets its faces back with their ids, templates as it gave them.
                face.template = .clear(clear)
                stored.append(face)
            }
        }
        try recorded?(db, storedFile, stored.compactMap(\.id))
        return stored
    }

    /// The content hash of the source's file whose picture was taken from `originURI`
    /// (a web archive's image address), if one is held and not erased.
    public func fileSHA256(sourceID: Int64, originURI: String) throws -> Data? {
        try database.read { db in
            let value = try db.scalar(
                """
                SELECT sourceFile.sha256 FROM image JOIN sourceFile ON sourceFile.id = image.fileID
                WHERE image.sourceID = ? AND image.originURI = ? AND sourceFile.erasedAt IS NULL ORDER BY image.id LIMIT 1
                """, [.integer(sourceID), .text(originURI)])
            return value.isNull ? nil : try value.data()
        }
    }

    /// How places of publication given for a file already stored are taken.
    public enum PublicationUpdate: Sendable {
        /// They replace what the same kind of record said before (a corrected manifest).
        case replace
        /// They are added to what is held (an archive met again, more pages that show it).
        case add
    }

    /// Brings the places of publication of a stored file's pictures up to date with
    /// `places`, in one transaction; `recorded` runs in it when something changed
    /// (the audit entry). Returns whether anything changed: false too for a file not
    /// held or erased, whose pictures are gone and stay so.
    @discardableResult
    public func updatePublications(
        sourceID: Int64, sha256: Data, places: [Publication], recordedFrom: Publication.RecordedFrom, _ update: PublicationUpdate,
        alsoInTransaction recorded: ((any MetadataTransaction, SourceFile) throws -> Void)? = nil
    ) throws -> Bool {
        try database.write { db in
            guard let file = try db.fetchOne(SourceFile.self, "WHERE sourceID = ? AND sha256 = ?", [.integer(sourceID), .blob(sha256)]),
                file.erasedAt == nil
            else { return false }
            var changed = false
            for image in try db.ids("SELECT id FROM image WHERE fileID = ? ORDER BY id", [.integer(file.id!)]) {
                switch update {
                case .replace: changed = try Publication.replace(places, of: image, recordedFrom: recordedFrom, in: db) || changed
                case .add: changed = try Publication.add(places, to: image, in: db) > 0 || changed
                }
            }
            if changed { try recorded?(db, file) }
            return changed
        }
    }

    /// Removes a file just recorded, with its pictures and faces (which the foreign
    /// keys take with it), when what follows the recording failed.
    public func unrecord(fileSHA256: Data, sourceID: Int64) throws {
        let faces = try database.write { db in
            let faces = try db.ids(
                """
                SELECT face.id FROM face JOIN image ON image.id = face.imageID JOIN sourceFile ON sourceFile.id = image.fileID
                WHERE sourceFile.sourceID = ? AND sourceFile.sha256 = ?
                """, [.integer(sourceID), .blob(fileSHA256)])
            try db.execute("DELETE FROM sourceFile WHERE sourceID = ? AND sha256 = ?", [.integer(sourceID), .blob(fileSHA256)])
            return faces
        }
        try vault.discardKeys(of: faces)
    }

    public func startRun(sourceID: Int64) throws -> IngestRun {
        try database.write { db in
            var run = IngestRun(sourceID: sourceID)
            try db.insert(&run)
            return run
        }
    }

    public func update(_ run: IngestRun) throws {
        try database.write { db in try db.update(run) }
    }

    /// Marks a run as alive now.
    public func beat(runID: Int64) throws {
        try database.write { db in
            try db.execute("UPDATE ingestRun SET heartbeatAt = ? WHERE id = ? AND finishedAt IS NULL", [.date(Date()), .integer(runID)])
        }
    }

    /// Runs not finished whose last sign of life (heartbeat, or start) is older than
    /// `since`: their process is gone.
    public func abandonedRuns(before since: Date) throws -> [IngestRun] {
        try database.read { db in
            try db.fetchAll(
                IngestRun.self, "WHERE finishedAt IS NULL AND COALESCE(heartbeatAt, startedAt) < ? ORDER BY id",
                [.date(since)])
        }
    }

    public func recordError(runID: Int64, path: String, message: String) throws {
        try database.write { db in
            var error = IngestError(runID: runID, path: path, message: message)
            try db.insert(&error)
        }
    }

    public func errors(runID: Int64) throws -> [IngestError] {
        try database.read { db in try db.fetchAll(IngestError.self, "WHERE runID = ? ORDER BY id", [.integer(runID)]) }
    }
}

// MARK: - Reading faces

extension GalleryStore {
    /// The model of the gallery's templates, recorded the first time it is opened:
    /// `modelID` for a new gallery; for one made before the record existed, the model of
    /// the faces it holds (`modelID` when it holds any of it).
    public func templateModel(recordingIfNew modelID: String) throws -> String {
        // Read first: every open after the first needs no write transaction.
        if let held = try database.read({ db in try Setting.value(.templateModel, in: db) }) { return held }
        return try database.write { db in
            if let held = try Setting.value(.templateModel, in: db) { return held }
            var held = modelID
            if try db.scalar("SELECT 1 FROM face WHERE modelID = ? LIMIT 1", [.text(modelID)]).isNull {
                let other = try db.scalar("SELECT modelID FROM face LIMIT 1")
                if !other.isNull { held = try other.string() }
            }
            try Setting.set(.templateModel, to: held, in: db)
            return held
        }
    }

    public func faceCount(modelID: String) throws -> Int {
        try database.read { db in try db.count(GalleryFace.self, "WHERE modelID = ?", [.text(modelID)]) }
    }

    /// The largest face id (0 when there is none).
    public func maxFaceID() throws -> Int64 {
        try database.read { db in try db.scalar("SELECT COALESCE(max(id), 0) FROM face").int64() }
    }

    /// The ids of a model's faces within `range`.
    public func faceIDs(modelID: String, in range: Range<Int64>) throws -> Set<Int64> {
        Set(
            try database.read { db in
                try db.ids(
                    "SELECT id FROM face WHERE modelID = ? AND id >= ? AND id < ?",
                    [.text(modelID), .integer(range.lowerBound), .integer(range.upperBound)])
            })
    }

    /// Visits the (id, source id, template) of every face of a model with an id above
    /// `afterID`, in id order, without loading the rest of the rows.
    public func forEachTemplate(
        modelID: String, afterID: Int64 = 0,
        _ body: (Int64, Int64, UnsafeBufferPointer<Float>) -> Void
    ) throws {
        try database.read { db in
            try visitTemplates(
                "WHERE face.modelID = ? AND face.id > ? ORDER BY face.id", [.text(modelID), .integer(afterID)], in: db, body)
        }
    }

    /// Visits the (id, source id, template) of each of these faces that is stored, 500
    /// ids a query, without loading their other columns.
    public func forEachTemplate(ofFaces ids: [Int64], _ body: (Int64, Int64, UnsafeBufferPointer<Float>) -> Void) throws {
        try database.read { db in
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(ids.count, start + 500)]
                try visitTemplates(
                    "WHERE face.id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))", chunk.map(SQLValue.integer), in: db, body)
            }
        }
    }

    /// The faces `condition` selects, each with its source and its template opened.
    private func visitTemplates(
        _ condition: String, _ arguments: [SQLValue], in db: any MetadataTransaction,
        _ body: (Int64, Int64, UnsafeBufferPointer<Float>) -> Void
    ) throws {
        var batch: [(id: Int64, source: Int64, sealed: Data, keyID: String)] = []
        batch.reserveCapacity(Self.openingBatch)
        func open() throws {
            let opener = try FaceOpener(faces: batch.map(\.id), store: self)
            for face in batch {
                // A face whose key is gone was erased and its rows are about to go
                // (see `Governance.replayErasures`): it is not searchable.
                guard let clear = try opener.open(face.sealed, keyID: face.keyID, face: face.id) else { continue }
                clear.withUnsafeBytes { body(face.id, face.source, $0.bindMemory(to: Float.self)) }
            }
            batch.removeAll(keepingCapacity: true)
        }
        try db.forEachRow(
            "SELECT face.id, image.sourceID, face.template, face.keyID FROM face JOIN image ON image.id = face.imageID " + condition,
            arguments
        ) { row in
            batch.append((try row[0].int64(), try row[1].int64(), try row[2].data(), try row[3].string()))
            if batch.count == Self.openingBatch { try open() }
        }
        try open()
    }

    /// Faces whose keys are read from the vault in one query.
    static let openingBatch = 4096

    /// A stored face with the picture and source it came from.
    public struct Provenance: Sendable {
        public var face: GalleryFace
        public var image: GalleryImage
        public var source: Source
        /// The file the picture came from (for a web archive's picture: the archive and offset).
        public var file: SourceFile?
        /// Where the picture was published, pages in address order.
        public var publications: [Publication] = []
    }

    public func provenance(faceIDs: [Int64]) throws -> [Int64: Provenance] {
        try database.read { db in
            var result: [Int64: Provenance] = [:]
            let faces = try db.fetchAll(GalleryFace.self, ids: faceIDs)
            let images = Dictionary(uniqueKeysWithValues: try db.fetchAll(GalleryImage.self, ids: Set(faces.map(\.imageID))).map { ($0.id!, $0) })
            let sources = Dictionary(uniqueKeysWithValues: try db.fetchAll(Source.self, ids: Set(images.values.map(\.sourceID))).map { ($0.id!, $0) })
            let files = Dictionary(uniqueKeysWithValues: try db.fetchAll(SourceFile.self, ids: Set(images.values.map(\.fileID))).map { ($0.id!, $0) })
            let publications = try Publication.of(images: images.keys, in: db)
            for face in faces {
                guard let image = images[face.imageID], let source = sources[image.sourceID] else { continue }
                result[face.id!] = Provenance(
                    face: face, image: image, source: source, file: files[image.fileID], publications: publications[image.id!] ?? [])
            }
            return result
        }
    }

    /// Every face of these sources.
    public func faceIDs(ofSources sources: Set<Int64>) throws -> Set<Int64> {
        Set(try database.read { db in try Self.faces(ofSources: Array(sources), in: db) })
    }

    /// The templates of the given faces, opened into memory.
    public func templates(faceIDs: [Int64]) throws -> [Int64: [Float]] {
        try database.read { db in
            var result: [Int64: [Float]] = [:]
            let faces = try db.fetchAll(GalleryFace.self, ids: faceIDs)
            let opener = try FaceOpener(faces: faces.compactMap(\.id), store: self)
            for face in faces {
                switch face.template {
                case .sealed(let bytes, let keyID):
                    guard let clear = try opener.open(bytes, keyID: keyID, face: face.id!) else { continue }
                    result[face.id!] = clear.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                case .clear: result[face.id!] = face.template.floats
                }
            }
            return result
        }
    }

    /// The origin of the picture of every face of a model, by face id.
    public func faceOrigins(modelID: String) throws -> [Int64: String] {
        try database.read { db in
            var origins: [Int64: String] = [:]
            try db.forEachRow(
                "SELECT face.id, image.originURI FROM face JOIN image ON image.id = face.imageID WHERE face.modelID = ?",
                [.text(modelID)]
            ) { row in origins[try row[0].int64()] = try row[1].string() }
            return origins
        }
    }

    /// Counts of what the gallery holds, for status and tests.
    public func counts() throws -> (files: Int, images: Int, faces: Int) {
        try database.read { db in
            // Files whose every face was erased are kept (their content hash stops the
            // faces coming back with the file) but are not held: they are not counted.
            (
                try db.count(SourceFile.self, "WHERE erasedAt IS NULL"), try db.count(GalleryImage.self),
                try db.count(GalleryFace.self)
            )
        }
    }

    /// "ok" when the database is sound: SQLite's `PRAGMA integrity_check`; a
    /// server database answering a query.
    /// The database engine's own check and the gallery's references, one word when
    /// all is well: `ok`. Otherwise what was found, or `not checked: …` with the
    /// reason when the engine could not check itself (the references still are).
    public func integrityCheck() throws -> String {
        let engine = try database.engineIntegrityCheck()
        let broken = try danglingReferences().filter { $0.value > 0 }
        var parts: [String] = []
        if !engine.ran { parts.append("not checked: \(engine.findings)") } else if engine.findings != "ok" { parts.append(engine.findings) }
        if !broken.isEmpty { parts.append(broken.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")) }
        return parts.isEmpty ? "ok" : parts.joined(separator: "; ")
    }

    /// Rows that point at rows no longer there, by kind: what no engine check sees
    /// (the tables hold no foreign keys across the records an erasure cascades through).
    public func danglingReferences() throws -> [String: Int] {
        try database.read { db in
            [
                "faces without their picture": try db.count(
                    "SELECT count(*) FROM face WHERE NOT EXISTS (SELECT 1 FROM image WHERE image.id = face.imageID)"),
                "pictures without their source": try db.count(
                    "SELECT count(*) FROM image WHERE NOT EXISTS (SELECT 1 FROM source WHERE source.id = image.sourceID)"),
                "pictures without their file": try db.count(
                    "SELECT count(*) FROM image WHERE NOT EXISTS (SELECT 1 FROM sourceFile WHERE sourceFile.id = image.fileID)"),
                "places of publication without their picture": try db.count(
                    "SELECT count(*) FROM publication WHERE NOT EXISTS (SELECT 1 FROM image WHERE image.id = publication.imageID)"),
                "opt-out links to erased faces": try db.count(
                    "SELECT count(*) FROM suppressedFace WHERE NOT EXISTS (SELECT 1 FROM face WHERE face.id = suppressedFace.faceID)"),
            ]
        }
    }
}
