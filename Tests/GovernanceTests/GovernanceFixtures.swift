import FaceVision
import Foundation
import Gallery
import Index
import Milvus
import PostgresStore
import Store
import Synchronization
import TestSupport
import Testing

@testable import Governance

/// A gallery of real photos (the sample portraits: three of Barack Obama, one of
/// Joe Biden) under a Governance whose clock the test moves.
final class GovernedWorld: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent(".lineup/samples").path
    static let pipeline = try! FacePipeline(models: ModelDirectory(path: root.appendingPathComponent(".lineup/models").path))

    /// The time the Governance sees.
    final class Clock: Sendable {
        let date = Mutex(Date())
        func now() -> Date { date.withLock { $0 } }
    }

    let folder: String
    let clock = Clock()
    var governance: Governance
    let engine: MetadataEngine
    /// The PostgreSQL schema this world's records live in (one per world).
    private let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()

    init(engine: MetadataEngine = .sqlite, largeGalleryThreshold: Int? = nil, largeGalleryIndex: Gallery.IndexKind = .scan) throws {
        self.engine = engine
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-governance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/photos/nested", withIntermediateDirectories: true)
        for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
            try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: folder + "/photos/" + name)
        }
        try FileManager.default.copyItem(atPath: Self.samples + "/obama3.jpg", toPath: folder + "/photos/nested/obama3.jpg")
        let clock = self.clock
        governance = try Governance(
            gallery: Gallery(
                directory: folder + "/store", modelID: Self.pipeline.modelID, dimension: 128,
                largeGalleryThreshold: largeGalleryThreshold, largeGalleryIndex: largeGalleryIndex, database: engine.open(schema: schema),
                sharedIndex: engine.sharedIndex(collection: schema)),
            now: { clock.now() })
        (self.largeGalleryThreshold, self.largeGalleryIndex) = (largeGalleryThreshold, largeGalleryIndex)
    }

    private let largeGalleryThreshold: Int?
    private let largeGalleryIndex: Gallery.IndexKind

    /// Opens the same store again, as a new process would: for templates of
    /// `modelID` (default: the pipeline's), or to make them again as `modelID`.
    func reopen(modelID: String = pipeline.modelID, retemplating: Bool = false) throws {
        let clock = self.clock
        governance = try Governance(
            gallery: Gallery(
                directory: folder + "/store", modelID: modelID, dimension: 128,
                largeGalleryThreshold: largeGalleryThreshold, largeGalleryIndex: largeGalleryIndex, database: engine.open(schema: schema),
                sharedIndex: engine.sharedIndex(collection: schema), retemplating: retemplating),
            // A model Lineup ships no bands for borrows the single pass's: what such a
            // test checks is permissions and records, not thresholds.
            calibration: ScoreCalibration.bundled(for: modelID) ?? ScoreCalibration.bundled(for: Self.pipeline.modelID),
            now: { clock.now() })
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
        try? (governance.database as? PostgresMetadataStore)?.dropSchema()
        try? (governance.gallery.index as? MilvusIndex)?.drop()
    }

    /// Lifts the append-only guard of the audit log, as someone with the database's
    /// owner rights could, so a test can tamper with entries behind Lineup's back.
    func allowAuditTampering() throws {
        switch engine {
        case .sqlite:
            try governance.database.write { db in
                try db.execute("DROP TRIGGER auditEntryNoDelete")
                try db.execute("DROP TRIGGER auditEntryNoUpdate")
            }
        case .postgres, .cluster:
            try governance.database.write { db in try db.execute("ALTER TABLE auditEntry DISABLE TRIGGER USER") }
        }
    }

    func advance(days: Double) { clock.date.withLock { $0 = $0.addingTimeInterval(days * 86_400) } }

    static func photo(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: samples + "/" + name)))
    }

    static let justification = Justification(
        caseNumber: "2026/0415", purpose: "identify a robbery suspect",
        legalBasis: "Police and Criminal Evidence Act 1984 s.64A")

    /// An admin (bootstrapped), a police organisation with a supervisor, an approved
    /// investigator and a privacy officer, and the photos ingested as one GB source.
    struct Cast {
        var admin: Principal
        var supervisor: Principal
        var investigator: Principal
        var officer: Principal
        var auditor: Principal
    }

    func cast(ingest: Bool = true, jurisdiction: String = "GB") throws -> Cast {
        let g = governance
        let admin = try g.authenticate(
            token: g.bootstrap(
                organisation: "Lineup operations", type: .government,
                jurisdiction: "GB", admin: "root"
            ).token)
        _ = try g.addOrganisation(as: admin, name: "Met", type: .lawEnforcement, jurisdiction: "GB")
        let supervisor = try g.authenticate(token: g.addAccount(as: admin, name: "sup", organisation: "Met", roles: [.supervisor]).1.token)
        let investigatorToken = try g.addAccount(as: supervisor, name: "inv", organisation: "Met", roles: [.investigator]).1.token
        _ = try g.approve(as: supervisor, account: "inv")
        let officer = try g.authenticate(
            token: g.addAccount(
                as: admin, name: "dpo", organisation: "Lineup operations",
                roles: [.privacyOfficer]
            ).1.token)
        let auditor = try g.authenticate(
            token: g.addAccount(
                as: admin, name: "aud", organisation: "Lineup operations",
                roles: [.auditor]
            ).1.token)
        if ingest {
            _ = try g.registerSource(as: admin, source(name: "portraits", root: folder + "/photos", jurisdiction: jurisdiction))
            _ = try g.ingest(as: admin, source: "portraits", paths: [], pipelines: [Self.pipeline])
        }
        return Cast(
            admin: admin, supervisor: supervisor, investigator: try g.authenticate(token: investigatorToken),
            officer: officer, auditor: auditor)
    }

    func source(name: String, root: String, jurisdiction: String) -> Source {
        Source(
            name: name, kind: .folder, root: root, legalBasis: .publicTask, specialCategoryCondition: .substantialPublicInterest,
            jurisdiction: jurisdiction, retentionDays: 30, createdBy: "", collectionMethod: .ownRecords)
    }

    /// Every file the gallery folder holds, read whole.
    func storeFiles() throws -> [(String, Data)] {
        let base = folder + "/store"
        return try FileManager.default.contentsOfDirectory(atPath: base).map { ($0, try Data(contentsOf: URL(fileURLWithPath: base + "/" + $0))) }
    }

    /// A search that shows every candidate of the top asked for, credible or not, as
    /// most tests look past the first; `belowThreshold: false` is the screens' default.
    func search(_ principal: Principal, _ photo: String, top: Int = 4, belowThreshold: Bool = true) throws -> Governance.JustifiedSearch {
        try governance.search(
            as: principal, justification: Self.justification, photo: Self.photo(photo), pipeline: Self.pipeline,
            .init(top: top, belowThreshold: belowThreshold))
    }
}

/// The deployments the Governance suite runs against: SQLite and Lineup's index
/// always; PostgreSQL (at `LINEUP_POSTGRES_URL`, default the one `scripts/cluster.sh`
/// starts) with Lineup's index when it answers; and the cluster deployment,
/// PostgreSQL with Milvus (at `LINEUP_MILVUS_URL`) as the shared index, when both do.
enum MetadataEngine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres, cluster

    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["LINEUP_POSTGRES_URL"] ?? "postgres://lineup@127.0.0.1:54329/lineup"

    /// Whether the PostgreSQL server answers (asked once).
    static let postgresReachable: Bool = {
        guard let store = try? PostgresMetadataStore(url: postgresURL, connections: 1) else { return false }
        return (try? store.read { db in try db.count("SELECT 1") }) == 1
    }()

    static let milvusURL = URL(string: ProcessInfo.processInfo.environment["LINEUP_MILVUS_URL"] ?? "http://127.0.0.1:19530")!

    /// Whether Milvus answers (asked once).
    static let milvusReachable: Bool = (try? MilvusClient(address: milvusURL, timeout: 5).version()) != nil

    /// Every deployment that can run here.
    /// In CI every deployment, whether its servers answer or not: a missing one fails there.
    static let available: [MetadataEngine] =
        TestEnvironment.isCI
        ? allCases
        : [.sqlite] + (postgresReachable ? [.postgres] : [])
            + (postgresReachable && milvusReachable ? [.cluster] : [])
    /// Those with Lineup's own index (snapshots, rebuilds).
    static let withLocalIndex = available.filter { $0 != .cluster }

    /// The store for a test: nil for SQLite (the gallery's own file), a fresh schema for PostgreSQL.
    func open(schema: String) throws -> (any MetadataStore)? {
        switch self {
        case .sqlite: nil
        case .postgres, .cluster: try PostgresMetadataStore(url: Self.postgresURL, schema: schema, connections: 4)
        }
    }

    /// The cluster's Milvus collection for a test (its own), or nil. Nothing waits
    /// for Milvus to show what a test ingested: its searches are at session
    /// consistency, so they see this process's writes.
    func sharedIndex(collection: String) throws -> (any FaceIndex)? {
        guard self == .cluster else { return nil }
        let milvus = MilvusIndex(client: try MilvusClient(address: Self.milvusURL), modelID: collection, dimension: 128)
        try milvus.open()
        return milvus
    }
}

/// Says so when the Governance suite cannot run against PostgreSQL or Milvus.
@Suite struct MetadataEngineAvailability {
    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.postgresReachable),
            "no PostgreSQL at \(MetadataEngine.postgresURL): the Governance tests ran against SQLite only (start one with scripts/cluster.sh start postgres)"
        ))
    func postgresAnswers() {
        #expect(MetadataEngine.postgresReachable, "no PostgreSQL at \(MetadataEngine.postgresURL)")
    }

    @Test(
        .enabled(
            if: TestEnvironment.runs(whenAvailable: MetadataEngine.milvusReachable),
            "no Milvus at \(MetadataEngine.milvusURL): the Governance tests did not run in cluster mode (start it with scripts/cluster.sh start)"))
    func milvusAnswers() {
        #expect(MetadataEngine.milvusReachable, "no Milvus at \(MetadataEngine.milvusURL)")
    }
}
