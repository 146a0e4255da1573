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

            A web-archive source's WARC files (.warc, .warc.gz) are read instead: every image record \
            becomes a picture, with each archived page that showed it and its title; the same image \
            under several addresses, or revisited, is one picture with every place it was published. \
            A damaged or truncated record is an error with its offset and the run goes on.

            A manifest (--manifest, or lineup-manifest.csv / lineup-manifest.jsonl at the source's \
            root) says where a folder's photos were published: columns file, page_url, image_url, \
            title, captured_at, credit. Each bad row is an error naming its line; run again with a \
            corrected manifest to update the provenance of photos already stored.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Option(help: "Worker threads (default: one per core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds between the video frames examined.")
    var videoInterval = 1.0

    @Option(
        help:
            "The manifest of where the photos were published (CSV or JSON Lines; default: lineup-manifest.csv or .jsonl at the source's root, if there)."
    )
    var manifest: String?

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
            options: .init(videoInterval: videoInterval, manifest: manifest.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        ) { progress in
            guard progress.archiveBytesTotal == 0 else { return bar.showReading(bytes: progress.archiveBytesRead, of: progress.archiveBytesTotal) }
            bar.show(
                done: progress.filesDone, total: progress.filesTotal, faces: progress.faces,
                detail: "\(progress.skipped) skipped, \(progress.errors) errors")
        }
        if options.outputOptions.json {
            try printJSON(summary)
        } else {
            print(
                "\(summary.filesSeen) \(summary.unit): \(summary.filesIngested) ingested, \(summary.filesSkipped) already stored"
                    + (summary.provenanceUpdated > 0 ? " (\(summary.provenanceUpdated) with new places of publication)" : "") + ", "
                    + "\(summary.errors.count) errors; \(summary.faces) faces (\(summary.facesWithheld) withheld: opted out) in \(format(summary.seconds, 1)) s "
                    + "(\(format(summary.filesPerSecond, 1)) files/s, \(format(summary.facesPerSecond, 1)) faces/s)")
            for error in summary.errors { print("  error: \(error.path): \(error.message)") }
        }
    }
}
