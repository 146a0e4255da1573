import Foundation
import GRDB
import Testing

@testable import Store

/// The url-list kind is gone: a store an earlier version made loses its empty url-list
/// sources when it opens, and refuses to open, naming them, while one holds pictures.
struct URLListMigrationTests {
    /// A database at the schema before the migration, with the given statements run.
    static func earlierStore(_ statements: [String]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-urllist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("gallery.sqlite").path
        let queue = try DatabaseQueue(path: path)
        let names = SQLiteMetadataStore.migrationNames
        let earlier = names[try #require(names.firstIndex(of: SQLiteMetadataStore.urlListMigration)) - 1]
        try SQLiteMetadataStore.migrator.migrate(queue, upTo: earlier)
        try queue.write { db in for statement in statements { try db.execute(sql: statement) } }
        try queue.close()
        return path
    }

    static func source(_ id: Int, _ name: String, kind: String) -> String {
        """
        INSERT INTO source (id, name, kind, root, legalBasis, specialCategoryCondition, jurisdiction, retentionDays, createdAt, createdBy)
        VALUES (\(id), '\(name)', '\(kind)', NULL, 'public-task', 'substantial-public-interest', 'FR', 30, '2026-01-01 00:00:00', 'admin')
        """
    }

    @Test func emptyURLListSourcesGoAndTheOthersStay() throws {
        let path = try Self.earlierStore([Self.source(1, "links", kind: "url-list"), Self.source(2, "archive", kind: "folder")])
        let store = try SQLiteMetadataStore(path: path)
        let kinds = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name || ':' || kind FROM source ORDER BY id") }
        #expect(kinds == ["archive:folder"])
    }

    @Test func aURLListSourceHoldingPicturesStopsTheOpenNamingIt() throws {
        let path = try Self.earlierStore([
            Self.source(1, "uploaded links", kind: "url-list"),
            "INSERT INTO sourceFile (id, sourceId, sha256, path, kind, faceCount, ingestedAt) VALUES (1, 1, x'00', 'a.jpg', 'photo', 1, '2026-01-01 00:00:00')",
            "INSERT INTO image (id, sourceId, fileID, originURI, ingestedAt, width, height) VALUES (1, 1, 1, 'a.jpg', '2026-01-01 00:00:00', 10, 10)",
        ])
        #expect {
            _ = try SQLiteMetadataStore(path: path)
        } throws: { error in
            String(describing: error).contains("url-list hold pictures: uploaded links (pictures: 1)")
        }
        // Nothing changed: the source and its picture are still there for the earlier version to erase.
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM image") } == 1)
        #expect(try queue.read { db in try String.fetchOne(db, sql: "SELECT kind FROM source") } == "url-list")
    }
}
