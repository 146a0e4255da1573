import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance
import Index
import Milvus
import PostgresStore
import Store

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
        let (database, milvus) = try options.galleryOptions.clusterEngines(modelID: embedded.gallery.modelID)
        let report = try embedded.migrate(
            as: admin, into: database, index: milvus, sampleSearches: sample, waitSeconds: wait,
            prepareIDs: { try database.restartIdentities() }, progress: printError)
        try printJSON(
            Report(
                tables: report.tables, mismatchedTables: report.mismatchedTables, facesInMilvus: report.facesInIndex,
                faces: report.faces, auditChainIntact: report.auditChainIntact, auditHeadHash: report.auditHeadHash,
                sampleSearches: report.sampleSearches, sameTopFace: report.sameTopFace,
                overlapAt10: report.overlapAt10, seconds: report.seconds, collection: milvus.collection))
        guard report.checksOut else { throw ValidationError("the copy does not check out (above): the embedded gallery is unchanged") }
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
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Cluster mode: bring Milvus in line with PostgreSQL (remove templates of faces no longer held, add missing ones).",
        discussion: """
            lineup serve does this every hour. Admins; logged when it changes anything. With --rebuild-index \
            the collection is dropped, made again with Lineup's layout and filled from PostgreSQL: the way \
            to move a collection made by Lineup's earlier RESTful client (automatic ids, no partition key), \
            which Lineup refuses to write to. Searches find fewer faces until it finishes.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Flag(help: "Drop the Milvus collection, make it again and fill it from PostgreSQL.")
    var rebuildIndex = false

    func run() throws {
        let (governance, principal) = try options.open(rebuildingIndex: rebuildIndex)
        guard governance.gallery.indexKindKnownNow == .shared else {
            throw ValidationError("an embedded gallery's index is rebuilt from its database when it opens: reconcile is for --mode cluster")
        }
        if rebuildIndex {
            var shown = 0
            let written = try governance.rebuildSharedIndex(as: principal) { count in
                guard count / 100_000 > shown / 100_000 else { return }
                shown = count
                printError("\(count) faces written …")
            }
            try options.outputOptions.present(["rebuilt": written]) { "the shared index was made again with \($0["rebuilt"]!) faces" }
            return
        }
        let result = try governance.reconcileIndex(as: principal)
        try options.outputOptions.present(result) {
            "\($0.faces) faces held; \($0.added) added to the shared index, \($0.removed) removed from it"
        }
    }
}
