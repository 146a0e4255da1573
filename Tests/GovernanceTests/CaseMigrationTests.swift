import Foundation
import GRDB
import Testing

@testable import Store

/// Migration v10: a gallery already in use gets the default rule that asks EU member
/// states' cases for an authorisation, and its sources (which stated no collection
/// method) keep a nil method, so they take no photos until an admin states it; an
/// empty store stays empty, so a copy can still land in it.
struct CaseMigrationTests {
    func store(upToV9 fill: String?) throws -> (path: String, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-cases-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("gallery.sqlite").path
        let queue = try DatabaseQueue(path: path)
        let names = SQLiteMetadataStore.migrationNames
        try SQLiteMetadataStore.migrator.migrate(queue, upTo: names[try #require(names.firstIndex(of: SQLiteMetadataStore.caseMigration)) - 1])
        if let fill { try queue.write { db in try db.execute(sql: fill) } }
        try queue.close()
        return (path, folder)
    }

    @Test func aGalleryInUseGetsTheAuthorisationRuleAndItsSourcesStateNoMethod() throws {
        let (path, folder) = try store(
            upToV9: """
                INSERT INTO organisation (id, name, type, jurisdiction, searchesPerDay, createdAt)
                VALUES (1, 'Gendarmerie', 'law-enforcement', 'FR', 100, '2026-01-01 00:00:00');
                INSERT INTO source (id, name, kind, root, legalBasis, specialCategoryCondition, jurisdiction, retentionDays, createdAt, createdBy, organisationID)
                VALUES (1, 'press', 'folder', '/press', 'public-task', 'substantial-public-interest', 'FR', 30, '2026-01-01 00:00:00', 'admin', 1);
                """)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteMetadataStore(path: path)
        let rules = try store.read { db in try db.fetchAll(PolicyRuleRecord.self) }
        #expect(rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName] && rules.first?.createdBy == "lineup")
        let body = try #require(rules.first?.body)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(parsed["effect"] as? String == "require-authorisation")
        #expect((parsed["organisation_jurisdictions"] as? [String])?.count == 27)
        #expect(try store.read { db in try db.fetchAll(Source.self) }.map(\.collectionMethod) == [nil])
    }

    @Test func anEmptyStoreStaysEmpty() throws {
        let (path, folder) = try store(upToV9: nil)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteMetadataStore(path: path)
        #expect(try store.read { db in try db.count(PolicyRuleRecord.self) } == 0)
    }
}
