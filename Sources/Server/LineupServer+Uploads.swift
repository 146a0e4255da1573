import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import Store
import ZIPFoundation

extension LineupServer {
    /// `POST /sources/{name}/uploads` and `GET /ingest-jobs/{id}`; the sources pages
    /// upload through `startUpload` too.
    func addUploadRoutes(to api: RouterGroup<LineupRequestContext>) {
        route(api, .post, "sources/{name}/uploads") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            // Refuse an unknown source, another organisation's or a policy refusal
            // before reading (and writing) a body of up to the upload limit.
            let source = try await blocking { try governance.sourceForUpload(as: principal, source: name) }
            guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("multipart/form-data") else {
                throw APIError(.badRequest, .invalid, "send multipart/form-data with one or more files in the field 'files'")
            }
            let form = try await WebForm.read(request, limit: configuration.maxUploadBytes)
            let job = try await startUpload(form.files["files"] ?? [], into: source, as: principal)
            return try json(job, status: .accepted)
        }
        route(api, .get, "ingest-jobs/{id}") { _, context in
            let principal = try context.authenticated
            let id = try parameter(context, "id")
            return try json(try ingestJob(id, for: principal))
        }
    }

    /// The job, if it is the principal's organisation's; any other is unknown.
    func ingestJob(_ id: String, for principal: Principal) throws -> IngestJobs.Job {
        guard let job = ingestJobs.job(id, for: principal, gallery: governance.gallery.directory) else {
            throw APIError(.notFound, .notFound, "no ingest job \(id) for your organisation (finished jobs are kept for an hour)")
        }
        return job
    }

    /// Saves an upload's files into a new folder of the source and starts ingesting
    /// exactly those files in the background; answers with the running job. When the
    /// upload is refused nothing stays on disk and nothing is ingested.
    func startUpload(_ files: [WebForm.File], into source: Source, as principal: Principal) async throws -> IngestJobs.Job {
        guard !files.isEmpty else { throw APIError(.badRequest, .invalid, "choose one or more photos, videos or zip archives") }
        let limits = UploadLimits(expandedBytes: UploadLimits.expansion * configuration.maxUploadBytes)
        let saved = try await blocking { try UploadFolder.save(files, into: source.root ?? "", limits: limits) }
        do {
            try await blocking {
                try governance.recordUpload(
                    as: principal, source: source.name, folder: saved.relativeFolder, files: saved.paths.count,
                    bytes: saved.bytes, setAside: saved.setAside.count)
            }
        } catch {
            try? FileManager.default.removeItem(at: saved.folder)
            throw error
        }
        let jobs = ingestJobs
        let job = jobs.create(
            source: source.name, folder: saved.relativeFolder, files: saved.paths.count, setAside: saved.setAside,
            by: principal, gallery: governance.gallery.directory)
        let paths = saved.paths, name = source.name, folder = saved.folder
        let pool = pipelines.ingest
        jobs.run(
            job, in: self,
            { progress in
                // An ingest pipeline of its own, on the ingest lane: searches, pages and
                // health never wait for it. Jobs beyond the ingest workers queue.
                let summary = try pool.with { pipeline in
                    try governance.ingest(
                        as: principal, source: name, paths: paths, pipelines: [pipeline],
                        options: .init(shouldStop: { jobs.isStopping }), progress: progress)
                }
                metrics?.ingestedFaces.increment(by: Int64(summary.faces))
                return summary
            },
            onFailure: { error in
                // Refused before any file was read (the policy changed, the account was
                // suspended): nothing refers to the files, so they go.
                if error is GovernanceError { try? FileManager.default.removeItem(at: folder) }
            })
        return job
    }
}

/// How much one upload may put on disk.
struct UploadLimits: Sendable {
    /// An upload's archives may expand to this many times the upload limit.
    static let expansion = 4
    static let defaultMaxEntries = 10_000

    /// Bytes all archives of one upload may expand to.
    var expandedBytes: Int
    /// Entries one archive may hold (files, folders, links).
    var maxEntries = defaultMaxEntries
}

/// Writing an upload into a source's folder: every file judged before anything is
/// written, names made safe, archives opened without letting them write anywhere else.
enum UploadFolder {
    struct Saved: Sendable {
        /// `<root>/uploads/<UTC time>-<random>`.
        var folder: URL
        /// The same, relative to the source root.
        var relativeFolder: String
        /// The photos and videos written, to ingest.
        var paths: [String]
        var setAside: [IngestJobs.Job.SetAside]
        var bytes: Int
    }

    enum Kind {
        case photo, video, archive
    }

    /// Saves `files` into a new folder under `root/uploads`, extracting zip archives.
    /// Throws (and leaves nothing behind) when a file is neither a photo, a video nor a
    /// zip, when a name is unsafe, when an archive is damaged, points outside itself or
    /// is too large, or when there is no photo or video at all.
    static func save(_ files: [WebForm.File], into root: String, limits: UploadLimits) throws -> Saved {
        let rootURL = try writableRoot(root)
        let judged = try files.map { file -> (name: String, kind: Kind, bytes: [UInt8]) in
            let name = try safeName(file.name)
            guard let kind = kind(of: name) else {
                throw APIError(
                    .unprocessableContent, .invalid,
                    "\(name) is neither a photo, a video nor a zip archive "
                        + "(photos: \(MediaFiles.photoExtensions.sorted().joined(separator: ", ")); "
                        + "videos: \(MediaFiles.videoExtensions.sorted().joined(separator: ", ")))")
            }
            return (name, kind, file.bytes)
        }
        let relativeFolder = "uploads/" + folderName()
        let folder = rootURL.appendingPathComponent(relativeFolder, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw APIError(
                .unprocessableContent, .invalid, "the server cannot create \(relativeFolder) in the source's folder: \(error.localizedDescription)")
        }
        // An `uploads` that is a link elsewhere would put the files outside the source.
        guard folder.resolvingSymlinksInPath().path.hasPrefix(rootURL.path + "/") else {
            try? FileManager.default.removeItem(at: folder)
            throw APIError(.unprocessableContent, .invalid, "uploads/ in the source's folder leads outside it: remove that link")
        }
        do {
            var saved = Saved(folder: folder, relativeFolder: relativeFolder, paths: [], setAside: [], bytes: 0)
            var taken = Set<String>()
            var budget = limits.expandedBytes
            for file in judged {
                let name = unique(file.name, taken: &taken)
                switch file.kind {
                case .photo, .video:
                    let url = folder.appendingPathComponent(name)
                    try Data(file.bytes).write(to: url, options: .withoutOverwriting)
                    saved.paths.append(url.path)
                    saved.bytes += file.bytes.count
                case .archive:
                    let base = unique(String(name.dropLast(".zip".count)), taken: &taken)
                    let extracted = try ArchiveExtractor(
                        name: file.name, folder: folder.appendingPathComponent(base, isDirectory: true),
                        relativeTo: base, limits: limits
                    ).extract(file.bytes, budget: &budget)
                    saved.paths += extracted.paths
                    saved.setAside += extracted.setAside
                    saved.bytes += extracted.bytes
                }
            }
            guard !saved.paths.isEmpty else {
                throw APIError(
                    .unprocessableContent, .invalid,
                    "the upload holds no photo or video to ingest"
                        + (saved.setAside.isEmpty
                            ? ""
                            : " (set aside: "
                                + saved.setAside.prefix(5).map(\.path).joined(separator: ", ") + ")"))
            }
            return saved
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// The source root, resolved, if it is a folder the server can write into.
    static func writableRoot(_ root: String) throws -> URL {
        var isFolder: ObjCBool = false
        guard !root.isEmpty, FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw APIError(.unprocessableContent, .invalid, "the source's root folder \(root) does not exist on the server")
        }
        guard FileManager.default.isWritableFile(atPath: root) else {
            throw APIError(.unprocessableContent, .invalid, "the server cannot write into the source's root folder \(root)")
        }
        return URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL.resolvingSymlinksInPath()
    }

    /// Photos and videos by name as `MediaFiles` judges them (what ingest will read), zip by its extension.
    static func kind(of name: String) -> Kind? {
        if MediaFiles.isPhoto(name) { return .photo }
        if MediaFiles.isVideo(name) { return .video }
        if name.lowercased().hasSuffix(".zip") { return .archive }
        return nil
    }

    /// The last component of an uploaded file's name (browsers and tools may send a
    /// path), refused if empty, hidden, too long or holding control characters.
    static func safeName(_ raw: String) throws -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let name = last.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw APIError(.unprocessableContent, .invalid, "an uploaded file has no name") }
        guard !name.hasPrefix(".") else {
            throw APIError(.unprocessableContent, .invalid, "\(name) starts with a dot: hidden files are not taken")
        }
        guard name.utf8.count <= 200, !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw APIError(.unprocessableContent, .invalid, "the file name \(name.prefix(60)) is too long or holds control characters")
        }
        return name
    }

    /// `name`, or `name-2.ext`, `name-3.ext`… if an earlier file of the upload took it
    /// (compared without case, for case-insensitive file systems).
    static func unique(_ name: String, taken: inout Set<String>) -> String {
        let stem = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
        var candidate = name, number = 1
        while taken.contains(candidate.lowercased()) {
            number += 1
            candidate = ext.isEmpty ? "\(stem)-\(number)" : "\(stem)-\(number).\(ext)"
        }
        taken.insert(candidate.lowercased())
        return candidate
    }

    /// `20260415T093012Z-3f9a2c1b`: sorts by time, and two uploads in one second differ.
    static func folderName(at date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date) + "-" + IngestJobs.randomID().prefix(8)
    }
}

/// Extracts the photos and videos of one zip archive into a folder, and nothing
/// else: an entry naming an absolute path or `..` refuses the whole archive
/// (zip-slip); symbolic links, hidden and system files and other files are set aside
/// and named; the entry count and the bytes actually inflated are capped, whatever
/// the archive's headers claim.
struct ArchiveExtractor {
    /// The archive's file name, for messages.
    var name: String
    var folder: URL
    /// The folder relative to the upload folder, for the set-aside list.
    var relativeTo: String
    var limits: UploadLimits

    struct Extracted {
        var paths: [String] = []
        var setAside: [IngestJobs.Job.SetAside] = []
        var bytes = 0
    }

    private struct BudgetExceeded: Error {}

    func extract(_ bytes: [UInt8], budget: inout Int) throws -> Extracted {
        // Read in memory: the upload is there already, and no copy of the photos lands
        // in a shared temporary folder.
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw APIError(.unprocessableContent, .invalid, "\(name) is not a zip archive that can be read")
        }
        var entries: [Entry] = []
        for entry in archive {
            entries.append(entry)
            guard entries.count <= limits.maxEntries else {
                throw APIError(.unprocessableContent, .invalid, "\(name) holds more than \(limits.maxEntries) entries: split it")
            }
        }
        for entry in entries { try checkContained(entry.path) }
        let plan = entries.compactMap { entry in self.plan(entry).map { (entry, $0) } }
        let declared = plan.reduce(0) { total, step in
            if case .extract = step.1 { return total + Int(clamping: step.0.uncompressedSize) }
            return total
        }
        guard declared <= budget else { throw tooLarge() }

        var extracted = Extracted()
        for (entry, step) in plan {
            switch step {
            case .setAside(let path, let reason):
                extracted.setAside.append(.init(path: path, reason: reason))
            case .extract(let destination, let path):
                guard destination.standardizedFileURL.path.hasPrefix(folder.standardizedFileURL.path + "/") else {
                    throw outside(entry.path)
                }
                if FileManager.default.fileExists(atPath: destination.path) {
                    extracted.setAside.append(.init(path: path, reason: "a second entry with the same name"))
                    continue
                }
                do {
                    let written = try write(entry, of: archive, to: destination, budget: budget)
                    budget -= written
                    extracted.bytes += written
                    extracted.paths.append(destination.path)
                } catch is BudgetExceeded {
                    throw tooLarge()
                } catch {
                    extracted.setAside.append(.init(path: path, reason: "damaged in the archive"))
                }
            }
        }
        return extracted
    }

    private enum Step {
        /// Write the entry to this file; `path` is how the job names it.
        case extract(URL, path: String)
        case setAside(path: String, reason: String)
    }

    /// What to do with an entry: folders are made as their files need them (nil);
    /// only photos and videos outside hidden and system folders are written.
    private func plan(_ entry: Entry) -> Step? {
        guard entry.type != .directory else { return nil }
        let components = Self.components(entry.path)
        let shown = ([relativeTo] + components).joined(separator: "/")
        if entry.type == .symlink { return .setAside(path: shown, reason: "a symbolic link: not followed") }
        if components.contains(where: { $0.hasPrefix(".") || $0 == "__MACOSX" }) {
            return .setAside(path: shown, reason: "a hidden or system file")
        }
        switch UploadFolder.kind(of: components.last ?? "") {
        case .archive?: return .setAside(path: shown, reason: "an archive inside the archive: not opened")
        case nil: return .setAside(path: shown, reason: "neither a photo nor a video")
        case .photo?, .video?: return .extract(components.reduce(folder) { $0.appendingPathComponent($1) }, path: shown)
        }
    }

    /// Inflates one entry into a new file, counting the bytes as they come and
    /// stopping as soon as they pass `budget`.
    private func write(_ entry: Entry, of archive: Archive, to destination: URL, budget: Int) throws -> Int {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: destination.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: destination.path)
        else {
            throw APIError(.unprocessableContent, .invalid, "the server cannot write \(destination.lastPathComponent)")
        }
        defer { try? handle.close() }
        var written = 0
        do {
            _ = try archive.extract(entry) { data in
                written += data.count
                guard written <= budget else { throw BudgetExceeded() }
                try handle.write(contentsOf: data)
            }
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
        return written
    }

    /// Refuses an entry whose path is absolute or climbs out with `..`.
    private func checkContained(_ path: String) throws {
        let normalised = path.replacingOccurrences(of: "\\", with: "/")
        let drive = normalised.count >= 2 && normalised.dropFirst().first == ":" && normalised.first?.isLetter == true
        if normalised.hasPrefix("/") || drive || normalised.split(separator: "/").contains("..") || normalised.contains("\0") {
            throw outside(path)
        }
    }

    /// An entry's path as folder names and a file name (either slash separates).
    static func components(_ path: String) -> [String] {
        path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init).filter { $0 != "." && !$0.isEmpty }
    }

    private func outside(_ path: String) -> APIError {
        APIError(.unprocessableContent, .invalid, "\(name) has an entry that points outside the archive (\(path)): the archive is refused")
    }

    private func tooLarge() -> APIError {
        let limit = String(format: "%.1f MiB", Double(limits.expandedBytes) / Double(1 << 20))
        return APIError(
            .contentTooLarge, .tooLarge,
            "\(name) expands to more than this upload may (\(limit) for all archives "
                + "of one upload, \(UploadLimits.expansion) times the upload limit)")
    }
}
