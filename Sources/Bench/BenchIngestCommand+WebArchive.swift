import ArgumentParser
import Console
import Crypto
import FaceVision
import Foundation
import Gallery
import Store
import WebArchive

/// The web archive side of `lineup-bench ingest --warc`: the photos of the folder run
/// written as a `.warc.gz` the way a crawler writes a site (a gzip member per record;
/// each photo a `response` with its payload digest, and a page per 20 photos that
/// shows them), then ingested as a web-archive source.
extension BenchIngestCommand {
    /// Writes `photos` to `path`; returns the bytes written.
    static func writeArchive(of photos: [String], to path: String) throws -> Int {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        defer { try? out.close() }
        var written = 0
        func record(uri: String, mediaType: String, body: [UInt8]) throws {
            let http = Array("HTTP/1.1 200 OK\r\nContent-Type: \(mediaType)\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
            let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
            let header = [
                "WARC/1.1", "WARC-Type: response", "WARC-Record-ID: <urn:uuid:\(UUID().uuidString.lowercased())>",
                "WARC-Date: \(ISO8601DateFormatter().string(from: Date()))", "WARC-Target-URI: \(uri)",
                "WARC-Payload-Digest: sha256:\(digest)", "Content-Type: application/http; msgtype=response",
                "Content-Length: \(http.count)",
            ].joined(separator: "\r\n")
            let member = GzipMember.compress(Array(header.utf8) + [13, 10, 13, 10] + http + [13, 10, 13, 10])
            try out.write(contentsOf: member)
            written += member.count
        }
        let base = "https://archive.example/"
        for start in stride(from: 0, to: photos.count, by: 20) {
            let numbers = start..<min(start + 20, photos.count)
            let images = numbers.map { "<img src=\"photos/\($0).jpg\">" }.joined()
            try record(uri: base + "page-\(start / 20).html", mediaType: "text/html", body: Array("<title>Page \(start / 20)</title>\(images)".utf8))
            for number in numbers {
                try record(
                    uri: base + "photos/\(number).jpg", mediaType: "image/jpeg",
                    body: [UInt8](try Data(contentsOf: URL(fileURLWithPath: photos[number]))))
            }
        }
        return written
    }

    /// One ingest of the photos, as a folder source or from the archive, into a new
    /// gallery; its rate in photos a second.
    func timedIngest(_ photos: [String], root: String, archive: String?, pipelines: [FacePipeline]) throws -> Gallery.IngestSummary {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let gallery = try Gallery(
            directory: scratch, modelID: pipelines[0].modelID, dimension: pipelines[0].embedder.dimension, keyring: .ephemeral())
        let source = try gallery.store.addSource(
            Source(
                name: "benchmark", kind: archive == nil ? .folder : .webArchive,
                root: archive.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? root,
                legalBasis: .legitimateInterest, specialCategoryCondition: .archivingOrResearch, jurisdiction: "ZZ",
                retentionDays: 1, createdBy: "benchmark"))
        let bar = ProgressBar(total: 0, label: archive == nil ? "folder" : "archive")
        return try gallery.ingest(source: source, paths: archive.map { [$0] } ?? photos, pipelines: pipelines) { p in
            bar.show(done: p.filesDone, total: p.filesTotal, faces: p.faces, detail: "\(p.errors) errors")
        }
    }
}

extension BenchIngestCommand {
    /// What `--warc` measured.
    struct WebArchiveReport: Encodable {
        var rounds: Int
        var archiveMiB: Double
        var folderPhotosPerSecond: Double
        var archivePhotosPerSecond: Double
        var archiveOverheadPercent: Double
        var folderFaces: Int
        var archiveFaces: Int
    }

    /// The folder and the archive ingest, alternating `rounds` times each; each side's
    /// best rate (a busy machine only ever slows a run down).
    func compareWebArchive(_ photos: [String], root: String, pipelines: [FacePipeline]) throws -> WebArchiveReport {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-bench-warc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("photos.warc.gz").path
        let bytes = try Self.writeArchive(of: photos, to: archive)
        var folderBest: Gallery.IngestSummary?, archiveBest: Gallery.IngestSummary?
        for _ in 0..<rounds {
            let byFolder = try timedIngest(photos, root: root, archive: nil, pipelines: pipelines)
            if byFolder.filesPerSecond > folderBest?.filesPerSecond ?? 0 { folderBest = byFolder }
            let byArchive = try timedIngest(photos, root: root, archive: archive, pipelines: pipelines)
            guard byArchive.errors.isEmpty else { throw ValidationError("the archive ingest met errors: \(byArchive.errors.prefix(3))") }
            if byArchive.filesPerSecond > archiveBest?.filesPerSecond ?? 0 { archiveBest = byArchive }
        }
        let (byFolder, byArchive) = (folderBest!, archiveBest!)
        return WebArchiveReport(
            rounds: rounds, archiveMiB: Double(bytes) / 1_048_576, folderPhotosPerSecond: byFolder.filesPerSecond,
            archivePhotosPerSecond: byArchive.filesPerSecond,
            archiveOverheadPercent: (byFolder.filesPerSecond / byArchive.filesPerSecond - 1) * 100,
            folderFaces: byFolder.faces, archiveFaces: byArchive.faces)
    }

    static func printWebArchive(_ report: WebArchiveReport, photos: Int, threads: Int) {
        print("web archive vs folder, \(photos) photos, \(threads) ingest threads, best of \(report.rounds) alternating runs each")
        print("folder                \(format(report.folderPhotosPerSecond, 1)) photos/s (\(report.folderFaces) faces)")
        print(
            "web archive           \(format(report.archivePhotosPerSecond, 1)) photos/s (\(report.archiveFaces) faces; \(format(report.archiveMiB, 1)) MiB .warc.gz, a page per 20 photos)"
        )
        print("archive overhead      \(format(report.archiveOverheadPercent, 1)) %")
    }
}
