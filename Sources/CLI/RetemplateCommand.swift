import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance
import Index
import Milvus

struct RetemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retemplate",
        abstract: "Make every face's template again with another alignment (--alignment), from the original files.",
        discussion: """
            A gallery holds templates of one model (embedder, flip, alignment) and compares only those. \
            This reads each stored file again from its source's root, finds each face again at its stored \
            box, aligns it as --alignment says and embeds it; ids, boxes, provenance and keys stay. Until \
            every face is done the gallery is neither searched nor added to. It is resumable: stopped or \
            crashed, the next run does only what is left. A file that is gone or changed is an error of the \
            run and keeps its faces' earlier templates, and the gallery keeps waiting: put the file back, or \
            erase those faces, and run again. Once every face is done the index is made again (in cluster \
            mode, in the new model's Milvus collection; the earlier one is dropped). Operator admins; logged.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Option(help: "Worker threads (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let (governance, principal) = try options.open(retemplating: true)
        let pipelines = try (0..<threads).map { _ in try options.pipelineOptions.pipeline() }
        let bar = ProgressBar(total: 0, label: "retemplate")
        let summary = try governance.retemplate(
            as: principal, pipelines: pipelines, retiring: try retiringIndex(governance),
            progress: { progress in
                bar.show(done: progress.filesDone, total: progress.filesTotal, faces: progress.faces, detail: "\(progress.errors) errors")
            })
        try options.outputOptions.present(summary) { summary in
            var lines = [
                "\(summary.faces) faces in \(summary.filesDone) files given \(summary.to) templates in \(format(summary.seconds, 1)) s "
                    + "(\(format(summary.facesPerSecond, 1)) faces/s)"
            ]
            lines += summary.errors.map { "  error: \($0.path): \($0.message)" }
            lines.append(
                summary.finished
                    ? "every face now has \(summary.to) templates (from \(summary.from)); the index was made again"
                    : "\(summary.facesLeft) faces still have \(summary.from) templates: the gallery waits for lineup retemplate to finish")
            return lines.joined(separator: "\n")
        }
    }

    /// Cluster mode: the earlier model's Milvus collection, when it is not the one the
    /// new templates go to.
    private func retiringIndex(_ governance: Governance) throws -> (any SharedFaceIndex)? {
        guard try options.galleryOptions.deploymentMode() == .cluster else { return nil }
        let held = try governance.gallery.store.templateModel(recordingIfNew: governance.gallery.modelID)
        guard held != governance.gallery.modelID else { return nil }
        let earlier = try options.galleryOptions.sharedIndex(modelID: held)
        return earlier.collection == (try governance.gallery.index as? MilvusIndex)?.collection ? nil : earlier
    }
}
