import Foundation
import GRDB
import Synchronization
import Vision

/// The embedded gallery: one SQLite database in WAL mode, through GRDB.
///
/// The database is the source of truth. The vector index is derived from it and
/// can always be rebuilt from the `face` table; writes that add faces happen in one
/// transaction per source file, so what a crash leaves behind is always whole.
///
/// Templates are sealed with the keyring before they are written and opened only
/// into memory (see `TemplateKeyring`); `secure_delete` overwrites what is deleted.
public final class GalleryStore: Sendable {
    public let path: String
    /// The database, for the modules that keep their own records in it (Governance).
    public let database: DatabasePool
    let keyHolder: Mutex<TemplateKeyring>

    /// The keyring templates are sealed with.
    public var keyring: TemplateKeyring { keyHolder.withLock { $0 } }

    /// Opens (creating if needed) the database at `path`, brings its schema up to
    /// date and seals any template an older version stored in the clear.
    public init(path: String, keyring: TemplateKeyring) throws {
        self.path = path
        keyHolder = Mutex(keyring)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(10)
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        try sealClearTemplates()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: sources, files, images, faces, ingest runs") { db in
            try db.create(table: Source.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("kind", .text).notNull()
                t.column("root", .text)
                t.column("legalBasis", .text).notNull()
                t.column("specialCategoryCondition", .text).notNull()
                t.column("jurisdiction", .text).notNull()
                t.column("retentionDays", .integer).notNull().check { $0 > 0 }
                t.column("licenceReference", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
            }
            try db.create(table: IngestRun.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.databaseTableName, onDelete: .cascade).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                for counter in ["filesSeen", "filesIngested", "filesSkipped", "faces", "errors"] {
                    t.column(counter, .integer).notNull().defaults(to: 0)
                }
            }
            try db.create(table: IngestError.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runID", .integer).notNull().indexed()
                    .references(IngestRun.databaseTableName, onDelete: .cascade)
                t.column("path", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: SourceFile.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.databaseTableName, onDelete: .cascade).notNull()
                t.column("sha256", .blob).notNull()
                t.column("path", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("faceCount", .integer).notNull()
                t.column("ingestedAt", .datetime).notNull()
                t.column("runID", .integer).references(IngestRun.databaseTableName, onDelete: .setNull)
                t.uniqueKey(["sourceID", "sha256"])
            }
            try db.create(table: GalleryImage.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(Source.databaseTableName, onDelete: .cascade).notNull()
                t.column("fileID", .integer).notNull().indexed()
                    .references(SourceFile.databaseTableName, onDelete: .cascade)
                t.column("originURI", .text).notNull()
                t.column("pageURL", .text)
                t.column("capturedAt", .datetime)
                t.column("ingestedAt", .datetime).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("frameSeconds", .double)
            }
            try db.create(table: GalleryFace.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo(GalleryImage.databaseTableName, onDelete: .cascade).notNull()
                t.column("box", .jsonText).notNull()
                t.column("landmarks", .jsonText).notNull()
                t.column("detectorScore", .double).notNull()
                t.column("quality", .jsonText).notNull()
                t.column("modelID", .text).notNull().indexed()
                t.column("template", .blob).notNull()
                t.column("trackFirstSeconds", .double)
                t.column("trackLastSeconds", .double)
            }
        }
        registerAccountabilityMigration(&migrator)
        return migrator
    }
}

// MARK: - Sources

extension GalleryStore {
    @discardableResult
    public func addSource(_ source: Source) throws -> Source {
        try source.validate()
        return try database.write { db in
            guard try Source.filter(Column("name") == source.name).fetchCount(db) == 0 else {
                throw StoreError.duplicateSource(source.name)
            }
            var inserted = source
            try inserted.insert(db)
            return inserted
        }
    }

    public func sources() throws -> [Source] {
        try database.read { db in try Source.order(Column("name")).fetchAll(db) }
    }

    public func source(named name: String) throws -> Source {
        guard let source = try database.read({ db in try Source.filter(Column("name") == name).fetchOne(db) }) else {
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
            try SourceFile.filter(Column("sourceID") == sourceID && Column("sha256") == sha256).fetchCount(db) > 0
        }
    }

    /// One picture of a file and the faces found in it, ready to store.
    public struct PictureToStore: Sendable {
        public var image: GalleryImage
        public var faces: [GalleryFace]

        public init(image: GalleryImage, faces: [GalleryFace]) {
            self.image = image
            self.faces = faces
        }
    }

    /// Stores a file with all its pictures and faces in one transaction and returns
    /// the stored faces (with ids, templates in the clear for the index). Returns nil
    /// when the content was stored before.
    public func record(file: SourceFile, pictures: [PictureToStore]) throws -> [GalleryFace]? {
        try database.write { db in
            guard try SourceFile.filter(Column("sourceID") == file.sourceID && Column("sha256") == file.sha256).fetchCount(db) == 0 else {
                return nil
            }
            var storedFile = file
            storedFile.faceCount = pictures.reduce(0) { $0 + $1.faces.count }
            try storedFile.insert(db)
            var stored: [GalleryFace] = []
            for picture in pictures {
                var image = picture.image
                image.fileID = storedFile.id!
                try image.insert(db)
                for var face in picture.faces {
                    face.imageID = image.id!
                    let clear = face.template
                    face.template = try keyring.seal(clear)
                    face.keyID = keyring.currentKeyID
                    try face.insert(db)
                    face.template = clear
                    face.keyID = nil
                    stored.append(face)
                }
            }
            return stored
        }
    }

    public func startRun(sourceID: Int64) throws -> IngestRun {
        try database.write { db in
            var run = IngestRun(sourceID: sourceID)
            try run.insert(db)
            return run
        }
    }

    public func update(_ run: IngestRun) throws {
        try database.write { db in try run.update(db) }
    }

    public func recordError(runID: Int64, path: String, message: String) throws {
        try database.write { db in
            var error = IngestError(runID: runID, path: path, message: message)
            try error.insert(db)
        }
    }

    public func errors(runID: Int64) throws -> [IngestError] {
        try database.read { db in try IngestError.filter(Column("runID") == runID).order(Column("id")).fetchAll(db) }
    }
}

// MARK: - Reading faces

extension GalleryStore {
    public func faceCount(modelID: String) throws -> Int {
        try database.read { db in try GalleryFace.filter(Column("modelID") == modelID).fetchCount(db) }
    }

    /// Visits the (id, template) of every face of a model with an id above `afterID`,
    /// in id order, without loading the rest of the rows.
    public func forEachTemplate(modelID: String, afterID: Int64 = 0, _ body: (Int64, UnsafeBufferPointer<Float>) -> Void) throws {
        try database.read { db in
            let keyring = self.keyring
            let rows = try Row.fetchCursor(db, sql: "SELECT id, template, keyID FROM face WHERE modelID = ? AND id > ? ORDER BY id",
                                           arguments: [modelID, afterID])
            while let row = try rows.next() {
                let id: Int64 = row[0]
                let clear = try keyring.open(row[1], keyID: row[2])
                clear.withUnsafeBytes { body(id, $0.bindMemory(to: Float.self)) }
            }
        }
    }

    /// A stored face with the picture and source it came from.
    public struct Provenance: Sendable {
        public var face: GalleryFace
        public var image: GalleryImage
        public var source: Source
    }

    public func provenance(faceIDs: [Int64]) throws -> [Int64: Provenance] {
        try database.read { db in
            var result: [Int64: Provenance] = [:]
            for face in try GalleryFace.fetchAll(db, keys: faceIDs) {
                guard let image = try GalleryImage.fetchOne(db, key: face.imageID),
                      let source = try Source.fetchOne(db, key: image.sourceID) else { continue }
                result[face.id!] = Provenance(face: face, image: image, source: source)
            }
            return result
        }
    }

    /// The templates of the given faces, opened into memory.
    public func templates(faceIDs: [Int64]) throws -> [Int64: [Float]] {
        let keyring = self.keyring
        return try database.read { db in
            var result: [Int64: [Float]] = [:]
            for face in try GalleryFace.fetchAll(db, keys: faceIDs) {
                result[face.id!] = try keyring.openTemplate(face.template, keyID: face.keyID ?? "")
            }
            return result
        }
    }

    /// The origin of the picture of every face of a model, by face id.
    public func faceOrigins(modelID: String) throws -> [Int64: String] {
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT face.id, image.originURI FROM face JOIN image ON image.id = face.imageID WHERE face.modelID = ?
                """, arguments: [modelID])
            var origins: [Int64: String] = [:]
            while let row = try rows.next() { origins[row[0]] = row[1] }
            return origins
        }
    }

    /// Counts of what the gallery holds, for status and tests.
    public func counts() throws -> (files: Int, images: Int, faces: Int) {
        try database.read { db in
            (try SourceFile.fetchCount(db), try GalleryImage.fetchCount(db), try GalleryFace.fetchCount(db))
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the database file is sound.
    public func integrityCheck() throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }
}
