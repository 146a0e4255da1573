import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Take the photos and videos of a registered source into the gallery.",
        discussion: """
            Walks the given files and folders (default: the source's root) for photos and videos. \
            Every face is detected, aligned, templated and stored with its provenance; a video is \
            sampled every --video-interval seconds and each person followed across frames is stored \
            once, with the span they were seen. Files already stored are skipped, so a run can be \
            repeated or resumed after a crash; a file that cannot be read is recorded and the run \
            goes on. One worker per core decodes, detects and embeds; commits are one transaction per file. \
            Admins only; the policy rules decide which sources may be ingested, and faces of people who \
            opted out are found, counted and not stored.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Option(help: "Worker threads (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds between the video frames examined.")
    var videoInterval = 1.0

    @Argument(help: "The registered source.")
    var source: String

    @Argument(help: "Files or folders inside the source's root (default: all of it).")
    var paths: [String] = []

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard videoInterval > 0 else { throw ValidationError("--video-interval must be positive") }
    }

    func run() throws {
        let (governance, principal) = try options.open()
        let pipelines = try (0..<threads).map { _ in try options.pipelineOptions.pipeline() }
        let bar = ProgressBar(total: 0, label: "ingest")
        let summary = try governance.ingest(
            as: principal, source: source,
            paths: paths.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, pipelines: pipelines,
            options: .init(videoInterval: videoInterval)
        ) { progress in
            bar.show(
                done: progress.filesDone, total: progress.filesTotal, faces: progress.faces,
                detail: "\(progress.skipped) skipped, \(progress.errors) errors")
        }
        if options.outputOptions.json {
            try printJSON(summary)
        } else {
            print(
                "\(summary.filesSeen) files: \(summary.filesIngested) ingested, \(summary.filesSkipped) already stored, "
                    + "\(summary.errors.count) unreadable; \(summary.faces) faces (\(summary.facesWithheld) withheld: opted out) in \(format(summary.seconds, 1)) s "
                    + "(\(format(summary.filesPerSecond, 1)) files/s, \(format(summary.facesPerSecond, 1)) faces/s)")
            for error in summary.errors { print("  error: \(error.path): \(error.message)") }
        }
    }
}
