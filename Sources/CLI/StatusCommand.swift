import ArgumentParser
import Console
import Foundation
import Governance

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the gallery holds, where its index came from, and whether its database is sound."
    )

    @OptionGroup var options: GovernedOptions

    func run() throws {
        let (governance, principal) = try options.open()
        let report = try governance.status(as: principal)
        if options.outputOptions.json {
            try printJSON(report)
            return
        }
        print(
            "gallery \(report.store) (\(report.database)): \(report.sources) sources, \(report.files) files, "
                + "\(report.images) images, \(report.faces) faces")
        print("\(report.indexKind) index (\(report.model)): \(report.indexedFaces) faces, loaded from \(report.indexOrigin)")
        print("database integrity: \(report.integrity)")
    }
}
