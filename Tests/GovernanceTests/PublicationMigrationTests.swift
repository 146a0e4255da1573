import Foundation
import GRDB
import Testing

@testable import Store

/// Migration v9: the single `image.pageURL` an earlier version kept (and nothing
/// filled but a hand edit or a load) becomes the picture's place of publication, and
/// the column goes, so there is one place that says where a picture was published.
struct PublicationMigrationTests {
    @Test func aPictureOfAnEarlierVersionKeepsItsPageAsAPlaceOfPublication() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-publication-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("gallery.sqlite").path
        let queue = try DatabaseQueue(path: path)
        let names = SQLiteMetadataStore.migrationNames
        try SQLiteMetadataStore.migrator.migrate(queue, upTo: names[try #require(names.firstIndex(of: SQLiteMetadataStore.publicationMigration)) - 1])
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO source (id, name, kind, root, legalBasis, specialCategoryCondition, jurisdiction, retentionDays, createdAt, createdBy)
                    VALUES (1, 'press', 'folder', '/press', 'public-task', 'substantial-public-interest', 'FR', 30, '2026-01-01 00:00:00', 'admin');
                    INSERT INTO sourceFile (id, sourceId, sha256, path, kind, faceCount, ingestedAt) VALUES (1, 1, x'00', 'a.jpg', 'photo', 0, '2026-01-01 00:00:00');
                    INSERT INTO sourceFile (id, sourceId, sha256, path, kind, faceCount, ingestedAt) VALUES (2, 1, x'01', 'b.jpg', 'photo', 0, '2026-01-01 00:00:00');
                    INSERT INTO image (id, sourceId, fileID, originURI, pageURL, ingestedAt, width, height)
                    VALUES (1, 1, 1, 'a.jpg', 'https://news.example/a.html', '2026-01-01 00:00:00', 10, 10);
                    INSERT INTO image (id, sourceId, fileID, originURI, ingestedAt, width, height) VALUES (2, 1, 2, 'b.jpg', '2026-01-01 00:00:00', 10, 10);
                    """)
        }
        try queue.close()

        let store = try SQLiteMetadataStore(path: path)
        let places = try store.read { db in try Publication.of(images: [1, 2], in: db) }
        #expect(places[1]?.map(\.pageURL) == ["https://news.example/a.html"] && places[1]?.first?.recordedFrom == .manifest)
        #expect(places[2] == nil)
        let columns = try store.pool.read { db in try db.columns(in: "image").map(\.name) }
        #expect(!columns.contains("pageURL"))
        // The place goes with its picture.
        try store.write { db in _ = try db.execute("DELETE FROM image WHERE id = 1") }
        #expect(try store.read { db in try db.count(Publication.self) } == 0)
    }
}
