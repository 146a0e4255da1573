import Foundation
import Gallery
import Governance
import Synchronization

/// The ingests that uploads start in the background, so an upload answers at once
/// and the uploader (or the web page) follows its progress by polling.
///
/// Jobs live in this process's memory only: the durable record of an ingest is its
/// run and its audit entry in the gallery's database. A finished job is kept for an
/// hour so a page reloaded later still shows how it ended. Each server has its own
/// registry; each job remembers its gallery and organisation, and only admins of that
/// organisation on that gallery can see it.
final class IngestJobs: Sendable {

    /// How long a finished or failed job stays visible.
    static let keepFinished: TimeInterval = 3600

    struct Job: Sendable, Encodable {
        enum State: String, Sendable, Encodable {
            /// Waiting for an ingest worker (each takes one job at a time).
            case queued
            case running, finished, failed
        }

        /// A file of an upload that was set aside before the ingest (an archive's
        /// folders of system files, symlinks, documents): named, with why.
        struct SetAside: Sendable, Encodable, Equatable {
            var path: String
            var reason: String
        }

        struct Links: Sendable, Encodable {
            /// This job in the API, to poll.
            var api: String
            /// This job's page in the web interface.
            var page: String
            var source: String

            enum CodingKeys: String, CodingKey {
                case api = "self"
                case page, source
            }
        }

        var id: String
        var source: String
        var startedBy: String
        var organisation: String
        var state: State
        /// The upload's folder, relative to the source root.
        var folder: String
        var filesTotal: Int
        var filesDone: Int
        var faces: Int
        /// Files whose content the gallery already held (not ingested twice).
        var skipped: Int
        var errorCount: Int
        /// Per-file errors: unreadable photos and videos. Known when the job ends.
        var errors: [Gallery.IngestSummary.FileError]
        var setAside: [SetAside]
        var summary: Gallery.IngestSummary?
        /// Why the whole job failed (refused by the policy, the source erased meanwhile).
        var failure: String?
        var startedAt: Date
        var finishedAt: Date?
        var links: Links

        /// Whose job it is: never shown, checked on every look-up.
        fileprivate var gallery = ""
        fileprivate var organisationID: Int64?

        enum CodingKeys: String, CodingKey {
            case id, source, startedBy, organisation, state, folder, filesTotal, filesDone, faces, skipped, errorCount
            case errors, setAside, summary, failure, startedAt, finishedAt, links
        }

        var percent: Int { filesTotal == 0 ? 100 : min(100, filesDone * 100 / filesTotal) }
    }

    private let jobs = Mutex<[String: Job]>([:])
    /// Set when the server shuts down: running jobs stop at their next file, queued
    /// ones do not start.
    private let stopping = Atomic<Bool>(false)

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Stops every job at a file boundary and waits (at most `timeout`) until none
    /// runs, so the process never exits with an ingest inside the face pipeline.
    func stopAll(timeout: Duration) async {
        stopping.store(true, ordering: .relaxed)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline,
            jobs.withLock({ $0.values.contains { $0.state == .running || $0.state == .queued } })
        {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// A new job, queued, for the principal's organisation on this gallery.
    func create(
        source: String, folder: String, files: Int, setAside: [Job.SetAside], by principal: Principal,
        gallery: String
    ) -> Job {
        let id = Self.randomID()
        var job = Job(
            id: id, source: source, startedBy: principal.name, organisation: principal.organisation.name,
            state: .queued, folder: folder, filesTotal: files, filesDone: 0, faces: 0, skipped: 0, errorCount: 0,
            errors: [], setAside: setAside, summary: nil, failure: nil, startedAt: Date(), finishedAt: nil,
            links: .init(
                api: APIVersion.prefix + "/ingest-jobs/" + id, page: "/ingests/" + id,
                source: "/sources#source-" + source))
        job.gallery = gallery
        job.organisationID = principal.organisation.id
        jobs.withLock { all in
            Self.prune(&all)
            all[id] = job
        }
        return job
    }

    /// The job, if it exists and belongs to the principal's organisation on this gallery.
    /// Another organisation's job is as unknown as one that never existed.
    func job(_ id: String, for principal: Principal, gallery: String) -> Job? {
        jobs.withLock { all in
            Self.prune(&all)
            guard let job = all[id], job.gallery == gallery, job.organisationID == principal.organisation.id else { return nil }
            return job
        }
    }

    func progress(_ id: String, _ progress: Gallery.IngestProgress) {
        // A web archive's first pass counts bytes, not files: the job's files are known after it.
        guard progress.archiveBytesTotal == 0 else { return }
        update(id) { job in
            // Workers report out of order; counts only grow.
            job.filesTotal = progress.filesTotal
            job.filesDone = max(job.filesDone, progress.filesDone)
            job.faces = max(job.faces, progress.faces)
            job.skipped = max(job.skipped, progress.skipped)
            job.errorCount = max(job.errorCount, progress.errors)
        }
    }

    func finish(_ id: String, _ summary: Gallery.IngestSummary) {
        update(id) { job in
            job.state = .finished
            job.filesTotal = summary.filesSeen
            job.filesDone = summary.filesSeen
            job.faces = summary.faces
            job.skipped = summary.filesSkipped
            job.errors = summary.errors
            job.errorCount = summary.errors.count
            job.summary = summary
            job.finishedAt = Date()
        }
    }

    func fail(_ id: String, _ message: String) {
        update(id) { job in
            job.state = .failed
            job.failure = message
            job.finishedAt = Date()
        }
    }

    /// Runs `work` off the event loops and records how it went. `work` gets a progress
    /// callback to hand to the ingest and returns its summary.
    func run(
        _ job: Job, in server: LineupServer,
        _ work: @escaping @Sendable (_ progress: @escaping @Sendable (Gallery.IngestProgress) -> Void) throws -> Gallery.IngestSummary,
        onFailure: @escaping @Sendable (any Error) -> Void = { _ in }
    ) {
        let id = job.id
        Task.detached {
            do {
                let summary = try await server.blocking(on: .ingest, timed: false) {
                    self.update(id) { $0.state = .running }
                    return try work { self.progress(id, $0) }
                }
                if summary.stopped {
                    self.fail(
                        id,
                        "the server shut down after \(summary.filesSeen) of the upload's files; the others are in the "
                            + "source's folder: ingest the source to take them in")
                } else {
                    self.finish(id, summary)
                }
            } catch {
                onFailure(error)
                self.fail(id, APIError.from(error).message)
            }
        }
    }

    private func update(_ id: String, _ change: (inout Job) -> Void) {
        jobs.withLock { all in
            guard var job = all[id] else { return }
            change(&job)
            all[id] = job
        }
    }

    /// Forgets jobs that ended more than `keepFinished` ago; running jobs stay.
    private static func prune(_ all: inout [String: Job], now: Date = Date()) {
        all = all.filter { _, job in job.finishedAt.map { now.timeIntervalSince($0) < keepFinished } ?? true }
    }

    /// 128 random bits in URL-safe hex: a job's id cannot be guessed from another's.
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%08x", generator.next() as UInt32) }.joined()
    }
}
