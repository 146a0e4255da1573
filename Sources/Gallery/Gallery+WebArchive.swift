import Crypto
import FaceVision
import Foundation
import Store
import WebArchive

/// Ingest of a web archive source: the WARC files under its root, read in two passes.
///
/// The first pass streams every archive once and keeps only what links pictures to
/// pages: each image record's address, offset and payload hash, each archived page's
/// title and the images it embeds, each revisit record. Pictures are then one per
/// payload (the same bytes under two addresses, or re-captured, are one picture with
/// every place they were published), and the second pass reads each picture's record
/// again at its offset, by as many workers as there are pipelines. Memory holds the
/// links (some hundred bytes per image and per embedding), never an archive.
extension Gallery {
    /// An image record seen in the first pass.
    struct ArchivedImage: Sendable {
        var archive: Int
        var offset: Int
        var address: String
        var date: Date?
        var sha256: Data
        var payloadDigest: String?
    }

    /// A page that showed an image, as the first pass found it.
    struct Showing: Sendable {
        var page: String
        var title: String?
        var date: Date?
    }

    /// A revisit record: the address captured again and what it points back to.
    struct Revisit: Sendable {
        var archive: Int
        var offset: Int
        var address: String
        var date: Date?
        var refersTo: String?
        var payloadDigest: String?
    }

    /// One picture the second pass reads: its record, and every place it was published.
    struct ArchivedPicture: Sendable {
        var archive: String
        var relative: String
        var offset: Int
        var address: String
        var sha256: Data
        var places: [Publication]
    }

    /// What the first pass learnt from all the archives of a run.
    struct ArchiveLinks {
        var images: [ArchivedImage] = []
        var shownOn: [String: [Showing]] = [:]
        var revisits: [Revisit] = []
    }

    func ingestWebArchives(
        source: Source, paths: [String], pipelines: [FacePipeline], options: IngestOptions,
        progress: (@Sendable (IngestProgress) -> Void)?
    ) throws -> IngestSummary {
        let root = source.root!
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let walk = try Self.mediaFiles(in: paths, root: root, matching: MediaFiles.isWebArchive)
        let relatives = walk.files.map { Self.relative($0, to: rootPath) }
        let maxBytes = pipelines.first?.limits.maxBytes ?? ImageLimits.default.maxBytes
        var summary = try performRun(source: source, pipelines: pipelines, options: options, progress: progress) { run in
            for link in walk.outside {
                run.report(Self.relative(link, to: rootPath), "a link that leads outside the source root: not read")
            }
            let links = Self.readLinks(of: walk.files, named: relatives, maxBytes: maxBytes, report: run.report, progress: progress)
            return try pictures(from: links, archives: walk.files, named: relatives, source: source, options: options, run: run)
        } label: {
            $0.relative
        } work: { picture, pipeline, runID in
            do {
                return try ingestArchived(picture, source: source, runID: runID, pipeline: pipeline, options: options)
            } catch {
                throw StoreError.invalid("record at offset \(picture.offset) (\(picture.address)): \(error)")
            }
        }
        summary.unit = "pictures"
        return summary
    }

    /// The first pass: every record of every archive, streamed once.
    static func readLinks(
        of archives: [String], named relatives: [String], maxBytes: Int, report: (String, String) -> Void,
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) -> ArchiveLinks {
        var links = ArchiveLinks()
        let sizes = archives.map { Int64((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) }
        let total = sizes.reduce(0, +)
        var before: Int64 = 0, records = 0
        func tell(_ read: Int64) {
            progress?(
                IngestProgress(filesDone: 0, filesTotal: 0, faces: 0, skipped: 0, errors: 0, archiveBytesRead: read, archiveBytesTotal: total))
        }
        defer { tell(total) }
        for (number, path) in archives.enumerated() {
            defer { before += sizes[number] }
            let reader: WARCReader
            do {
                reader = try WARCReader(path: path)
            } catch {
                report(relatives[number], error.description)
                continue
            }
            for result in reader {
                switch result {
                case .failure(let problem):
                    report(relatives[number], problem.description)
                case .success(let record):
                    if let refusal = links.take(record, archive: number, maxBytes: maxBytes) { report(relatives[number], refusal) }
                    records += 1
                    if records % 256 == 0 { tell(before + Int64(record.offset)) }
                }
            }
        }
        return links
    }

    /// Pictures, one per payload, with every place each was published; revisits of a
    /// picture an earlier run stored add their places to it at once.
    private func pictures(
        from links: ArchiveLinks, archives: [String], named relatives: [String], source: Source, options: IngestOptions,
        run: RunInProgress
    ) throws -> [ArchivedPicture] {
        var order: [Data] = [], first: [Data: ArchivedImage] = [:], sightings: [Data: [(address: String, date: Date?)]] = [:]
        var byAddress: [String: Data] = [:], byDigest: [String: Data] = [:]
        for image in links.images {
            if first[image.sha256] == nil {
                first[image.sha256] = image
                order.append(image.sha256)
            }
            sightings[image.sha256, default: []].append((image.address, image.date))
            byAddress[WebAddress.key(image.address)] = image.sha256
            if let digest = image.payloadDigest { byDigest[digest] = image.sha256 }
        }
        func places(_ seen: [(address: String, date: Date?)]) -> [Publication] {
            seen.flatMap { address, date -> [Publication] in
                let pages = links.shownOn[WebAddress.key(address)] ?? []
                guard !pages.isEmpty else { return [Publication(imageURL: address, capturedAt: date, recordedFrom: .webArchive)] }
                return pages.map {
                    Publication(pageURL: $0.page, pageTitle: $0.title, imageURL: address, capturedAt: $0.date ?? date, recordedFrom: .webArchive)
                }
            }
        }
        for revisit in links.revisits {
            let original = revisit.payloadDigest.flatMap { byDigest[$0] } ?? revisit.refersTo.flatMap { byAddress[WebAddress.key($0)] }
            if let original {
                sightings[original, default: []].append((revisit.address, revisit.date))
                continue
            }
            // The original may be a picture an earlier run stored from another archive.
            let seen = places([(revisit.address, revisit.date)])
            let stored = try revisit.refersTo.map { try store.fileSHA256(sourceID: source.id!, originURI: $0) } ?? nil
            if let stored {
                let changed = try store.updatePublications(
                    sourceID: source.id!, sha256: stored, places: seen, recordedFrom: .webArchive, .add,
                    alsoInTransaction: options.provenanceUpdated)
                if changed { run.provenanceUpdated() }
            } else {
                run.report(
                    relatives[revisit.archive],
                    "record at offset \(revisit.offset): a revisit of \(revisit.refersTo ?? revisit.address) whose original record "
                        + "is in none of the archives read and no picture of the source")
            }
        }
        return order.map { sha256 in
            let image = first[sha256]!
            return ArchivedPicture(
                archive: archives[image.archive], relative: relatives[image.archive], offset: image.offset, address: image.address,
                sha256: sha256, places: places(sightings[sha256] ?? []))
        }
    }

    /// The second pass, for one picture: its places added if it is held, else its
    /// record read again, its faces found and stored with its places.
    private func ingestArchived(
        _ picture: ArchivedPicture, source: Source, runID: Int64, pipeline: FacePipeline, options: IngestOptions
    ) throws -> ItemOutcome {
        let sourceID = source.id!
        func addPlaces() throws -> Bool {
            try store.updatePublications(
                sourceID: sourceID, sha256: picture.sha256, places: picture.places, recordedFrom: .webArchive, .add,
                alsoInTransaction: options.provenanceUpdated)
        }
        if try store.containsFile(sourceID: sourceID, sha256: picture.sha256) { return .skipped(updated: try addPlaces()) }
        let bytes = try Self.archivedPayload(at: Int64(picture.offset), in: picture.archive, limits: pipeline.limits)
        guard Data(SHA256.hash(data: bytes)) == picture.sha256 else {
            throw StoreError.invalid("the record changed since the archive was first read")
        }
        let now = Date()
        var pictures = try photoPictures(bytes, relative: picture.address, sourceID: sourceID, pipeline: pipeline, selection: options.faces, at: now)
        for index in pictures.indices { pictures[index].publications = picture.places }
        let file = SourceFile(
            sourceID: sourceID, sha256: picture.sha256, path: picture.relative, kind: .webImage, faceCount: 0, ingestedAt: now,
            runID: runID, recordOffset: Int64(picture.offset))
        return try store(file, pictures: &pictures, of: source, options: options) ?? .skipped(updated: try addPlaces())
    }

    /// The payload of the record at `offset`: the HTTP body of a response, the block of
    /// a resource.
    static func archivedPayload(at offset: Int64, in archive: String, limits: ImageLimits) throws -> [UInt8] {
        let record = try WARCReader.record(at: Int(offset), in: archive, maxRecordBytes: limits.maxBytes + (1 << 16)).get()
        guard let (_, payload) = record.classifiedPayload else { throw StoreError.invalid("the record holds no image") }
        return payload
    }
}

extension Gallery.ArchiveLinks {
    /// What one record says: an image (hashed), a page's embeddings, a revisit; or why
    /// an image it holds is not taken.
    mutating func take(_ record: WARCRecord, archive: Int, maxBytes: Int) -> String? {
        guard let address = record.targetURI else { return nil }
        switch record.type {
        case "response", "resource":
            guard let (kind, payload) = record.classifiedPayload else { return nil }
            switch kind {
            case .page:
                let page = HTMLImages(html: payload, pageURL: address)
                for image in page.imageURLs {
                    shownOn[WebAddress.key(image), default: []].append(.init(page: address, title: page.title, date: record.date))
                }
            case .image:
                guard payload.count <= maxBytes else {
                    return "record at offset \(record.offset) (\(address)): the image of \(payload.count) bytes is larger than the \(maxBytes) read"
                }
                images.append(
                    .init(
                        archive: archive, offset: record.offset, address: address, date: record.date,
                        sha256: Data(SHA256.hash(data: payload)), payloadDigest: record.payloadDigest))
            }
        case "revisit":
            revisits.append(
                .init(
                    archive: archive, offset: record.offset, address: address, date: record.date, refersTo: record.refersToTargetURI,
                    payloadDigest: record.payloadDigest))
        default:
            break
        }
        return nil
    }
}

extension WARCRecord {
    enum PayloadKind { case page, image }

    /// A page to read for its images or an image to look for faces in, with its bytes
    /// (a response's body, a resource's block); nil for anything else (style sheets,
    /// scripts, redirects, errors), judged by the response's status and media type or
    /// the resource's Content-Type. An image without a media type (or a generic one)
    /// is taken as an image; decoding then says if it is not.
    var classifiedPayload: (PayloadKind, [UInt8])? {
        let media: String?, bytes: [UInt8]
        switch type {
        case "response":
            guard let http, (200..<300).contains(http.status) else { return nil }
            (media, bytes) = (http.mediaType, http.body)
        case "resource":
            media = field("Content-Type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            bytes = block
        default:
            return nil
        }
        switch media {
        case "text/html", "application/xhtml+xml": return (.page, bytes)
        case nil, "application/octet-stream", "binary/octet-stream": return (.image, bytes)
        case let media? where media.hasPrefix("image/"): return (.image, bytes)
        default: return nil
        }
    }
}
