import ArgumentParser
import Foundation
import Gallery
import Governance
import Index
import Milvus
import PostgresStore
import Store
import FaceVision

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy an embedded gallery into PostgreSQL and Milvus, then check the copy.",
        discussion: """
            Copies every record of the embedded gallery (--store) into an empty PostgreSQL database, ids, \
            sealed templates and the audit chain as they are, in one transaction; puts every template in \
            the Milvus collection; then checks that each table counts the same in both, that Milvus holds \
            every face, that the copied audit chain verifies, and that a sample of searches finds the same \
            faces. The gallery's keyring seals the copied templates: serve the cluster with the same keyring \
            (--keyring or LINEUP_KEYRING_FILE). Acts as an admin of the embedded gallery; logged in both.
            """
    )

    @Option(help: "Where to: cluster (the only target).")
    var to: DeploymentMode

    @OptionGroup var options: GovernedOptions

    @Option(help: "Searches compared between the embedded index and Milvus.")
    var sample = 20

    @Option(help: "Seconds to wait for Milvus to show every template.")
    var wait = 120

    func run() throws {
        guard to == .cluster else { throw ValidationError("--to cluster: the embedded gallery is what is copied") }
        guard try options.galleryOptions.deploymentMode() == .embedded else {
            throw ValidationError("the gallery copied is the embedded one in --store: run without --mode cluster or LINEUP_MODE=cluster")
        }
        let (embedded, admin) = try options.open()
        guard admin.has(.admin) else { throw ValidationError("migrating a gallery needs an admin's token") }
        let gallery = embedded.gallery
        let (database, milvus) = try options.galleryOptions.clusterEngines(modelID: gallery.modelID)
        let clock = ContinuousClock(), started = clock.now

        printError("copying the records into PostgreSQL …")
        let copied = try database.copyRecords(from: gallery.store.database)
        try database.restartIdentities()

        printError("putting \(copied["face"] ?? 0) templates into Milvus collection \(milvus.collection) …")
        let faces = try indexedFaces(of: gallery)
        for start in stride(from: 0, to: faces.count, by: 1000) {
            try milvus.add(Array(faces[start..<min(faces.count, start + 1000)]))
        }

        let source = try gallery.store.database.tableCounts(), target = try database.tableCounts()
        let mismatched = source.keys.sorted().filter { source[$0] != target[$0] }
        let maxFaceID = faces.map(\.id).max() ?? 0
        var inMilvus = try milvus.count(upTo: maxFaceID)
        let deadline = Date().addingTimeInterval(TimeInterval(wait))
        while inMilvus < faces.count, Date() < deadline {
            Thread.sleep(forTimeInterval: 1)
            inMilvus = try milvus.count(upTo: maxFaceID)
        }
        let cluster = try Governance(gallery: Gallery(directory: gallery.directory, modelID: gallery.modelID,
                                                      dimension: SFaceEmbedder.templateDimension, keyring: gallery.store.keyring,
                                                      database: database, sharedIndex: milvus))
        let chain = try AuditLog.verify(database)
        let agreement = try compareSearches(faces, local: gallery.index, shared: milvus)
        let report = Report(tables: target, mismatchedTables: mismatched, facesInMilvus: inMilvus, faces: faces.count,
                            auditChainIntact: chain.isIntact, auditHeadHash: chain.headHash,
                            sampleSearches: agreement.searches, sameTopFace: agreement.sameTop,
                            overlapAt10: agreement.overlap, seconds: (clock.now - started).seconds,
                            collection: milvus.collection)
        let ok = mismatched.isEmpty && inMilvus == faces.count && chain.isIntact && agreement.sameTop == agreement.searches
        let details = ["faces": String(faces.count), "collection": milvus.collection, "verified": ok ? "yes" : "no"]
        try embedded.recordDeploymentChange(as: admin, action: "migrate.to-cluster", details: details)
        try cluster.recordDeploymentChange(as: admin, action: "migrate.from-embedded", details: details)
        try printJSON(report)
        guard ok else { throw ValidationError("the copy does not check out (above): the embedded gallery is unchanged") }
    }

    struct Report: Encodable {
        var tables: [String: Int]
        var mismatchedTables: [String]
        var facesInMilvus: Int
        var faces: Int
        var auditChainIntact: Bool
        var auditHeadHash: String
        var sampleSearches: Int
        var sameTopFace: Int
        var overlapAt10: Double
        var seconds: Double
        var collection: String
    }

    /// Every face with its template opened and what the policy filters by.
    func indexedFaces(of gallery: Gallery) throws -> [IndexedFace] {
        let sources = Dictionary(uniqueKeysWithValues: try gallery.store.sources().map { ($0.id!, $0) })
        var faces: [IndexedFace] = []
        try gallery.store.forEachTemplate(modelID: gallery.modelID) { id, sourceID, vector in
            guard let source = sources[sourceID] else { return }
            faces.append(IndexedFace(id: id, vector: Array(vector), source: source.id!, organisation: source.organisationID ?? 0,
                                     jurisdiction: source.jurisdiction))
        }
        return faces
    }

    /// Searches with a sample of the gallery's own templates in both indexes: the top
    /// face (itself) must agree, and the top ten should mostly overlap.
    func compareSearches(_ faces: [IndexedFace], local: any FaceIndex, shared: any FaceIndex) throws
        -> (searches: Int, sameTop: Int, overlap: Double) {
        guard !faces.isEmpty, sample > 0 else { return (0, 0, 1) }
        let step = max(1, faces.count / sample)
        var searches = 0, sameTop = 0, overlap = 0.0
        for face in stride(from: 0, to: faces.count, by: step).prefix(sample).map({ faces[$0] }) {
            let expected = try local.search(face.vector, k: 10)
            let found = try shared.search(face.vector, k: 10).prefix(10)
            searches += 1
            // The same face, or one with the same score (a photo stored twice).
            if let top = found.first, let want = expected.first, top.id == want.id || abs(top.score - want.score) < 1e-4 { sameTop += 1 }
            overlap += Double(Set(found.map(\.id)).intersection(expected.map(\.id)).count) / Double(max(1, expected.count))
        }
        return (searches, sameTop, overlap / Double(searches))
    }
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Cluster mode: bring Milvus in line with PostgreSQL (remove templates of faces no longer held, add missing ones).",
        discussion: "lineup serve does this every hour. Admins; logged when it changes anything."
    )

    @OptionGroup var options: GovernedOptions

    func run() throws {
        let (governance, principal) = try options.open()
        guard governance.gallery.indexKind == .shared else {
            throw ValidationError("an embedded gallery's index is rebuilt from its database when it opens: reconcile is for --mode cluster")
        }
        let result = try governance.reconcileIndex(as: principal)
        print("\(result.faces) faces held; \(result.added) added to the shared index, \(result.removed) removed from it")
    }
}
