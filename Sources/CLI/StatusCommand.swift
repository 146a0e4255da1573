import ArgumentParser
import Console
import Foundation
import Governance

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the gallery holds and where its index came from; with --check, whether its database is sound."
    )

    @Flag(help: "Also check the database: the engine's own check and every reference between the gallery's rows (reads the whole database).")
    var check = false

    @OptionGroup var options: GovernedOptions

    func run() throws {
        let (governance, principal) = try options.open()
        let report = try governance.status(as: principal, checkingIntegrity: check)
        if options.outputOptions.json {
            try printJSON(report)
            return
        }
        print(
            "gallery \(report.store) (\(report.database)): \(report.sources) sources, \(report.files) files, "
                + "\(report.images) images, \(report.faces) faces")
        print("\(report.indexKind) index (\(report.model)): \(report.indexedFaces) faces, loaded from \(report.indexOrigin)")
        print(
            "key vault \(report.keyVault): \(report.faceKeys) face keys; \(report.erasuresPendingPurge) erasures not yet purged from the index's files"
        )
        print("database integrity: \(report.integrity ?? "not checked (lineup status --check)")")
    }
}
