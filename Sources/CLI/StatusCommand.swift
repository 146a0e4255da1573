import ArgumentParser
import Foundation
import Gallery

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the gallery holds, where its index came from, and whether its database is sound."
    )

    @OptionGroup var options: GovernedOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Encodable {
        var store: String
        var sources: Int
        var files: Int
        var images: Int
        var faces: Int
        var model: String
        var indexedFaces: Int
        var indexKind: String
        var indexOrigin: String
        var integrity: String
    }

    func run() throws {
        let gallery = try options.open().0.gallery
        let counts = try gallery.store.counts()
        let report = Report(store: gallery.directory, sources: try gallery.store.sources().count, files: counts.files,
                            images: counts.images, faces: counts.faces, model: gallery.modelID,
                            indexedFaces: try gallery.indexedFaces(), indexKind: gallery.indexKind.rawValue,
                            indexOrigin: gallery.indexOrigin,
                            integrity: try gallery.store.integrityCheck())
        if json {
            try printJSON(report)
            return
        }
        print("gallery \(report.store): \(report.sources) sources, \(report.files) files, \(report.images) images, \(report.faces) faces")
        print("\(report.indexKind) index (\(report.model)): \(report.indexedFaces) faces, loaded from \(report.indexOrigin)")
        print("database integrity: \(report.integrity)")
    }
}
