import ArgumentParser
import Foundation
import Gallery
import Store
import Vision

/// Where the gallery lives.
struct GalleryOptions: ParsableArguments {
    @Option(help: "Gallery folder (default: LINEUP_STORE, or ./lineup-store).")
    var store: String?

    var directory: String {
        store ?? ProcessInfo.processInfo.environment["LINEUP_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? "lineup-store"
    }

    /// Opens the gallery for the model the pipeline options select (without loading it).
    func open(_ pipelineOptions: PipelineOptions) throws -> Gallery {
        try Gallery(directory: directory, modelID: pipelineOptions.modelID, dimension: SFaceEmbedder.templateDimension)
    }

    /// The database alone, for commands that do not touch templates.
    func openStore() throws -> GalleryStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try GalleryStore(path: directory + "/gallery.sqlite")
    }
}

/// Who is acting, until accounts exist: the operating-system user.
var currentOperator: String {
    ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.userName
}
