import FaceVision
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where blocking work runs. Each kind of work has threads of its own, so one kind
/// never waits behind another: two 10,000-photo uploads being ingested leave the
/// token checks, the pages and health untouched, and searches keep their pipelines.
enum WorkLane: Sendable, CaseIterable {
    /// Token checks, database reads and writes, pages: short work that must never
    /// queue behind faces.
    case requests
    /// Searches and detections: one thread per search pipeline.
    case faces
    /// The public opt-out and access-request forms: their own pipeline and thread.
    case publicRequests
    /// Background and folder ingests: their own pipelines and threads, at a lower
    /// CPU priority than searches.
    case ingest
}

/// The face pipelines of a server, apart by the work they do, so that no kind of
/// work takes another's.
public struct ServerPipelines: Sendable {
    /// Pixels and bytes a photo sent through the public forms may have: enough for any
    /// phone photo, a small share of what a search or an ingest accepts, since anyone
    /// may send one without an account.
    public static let publicLimits = ImageLimits(maxPixels: 16_000_000, maxBytes: 10 << 20)

    public let searches: PipelinePool
    public let ingest: PipelinePool
    public let publicRequests: PipelinePool

    public init(searches: PipelinePool, ingest: PipelinePool, publicRequests: PipelinePool) {
        self.searches = searches
        self.ingest = ingest
        self.publicRequests = publicRequests
    }

    /// `searchWorkers` pipelines for searches, `ingestWorkers` for ingests and one for
    /// the public forms (with `publicLimits`), each made by `make` with its limits.
    public init(
        searchWorkers: Int, ingestWorkers: Int,
        make: (ImageLimits?) throws -> FacePipeline
    ) throws {
        searches = PipelinePool(try (0..<max(1, searchWorkers)).map { _ in try make(nil) })
        ingest = PipelinePool(try (0..<max(1, ingestWorkers)).map { _ in try make(nil) })
        publicRequests = PipelinePool([try make(Self.publicLimits)])
    }
}

/// The thread pools behind the lanes, sized from the pipelines (one thread per
/// pipeline, so face work never holds a thread while it waits for a pipeline), and
/// shut down when the server goes.
final class WorkLanes: Sendable {
    private let pools: [WorkLane: NIOThreadPool]

    /// Threads for the requests lane: enough that database work of many concurrent
    /// requests is not serialised, few enough to stay cheap.
    static let requestThreads = max(4, 2 * System.coreCount)

    init(pipelines: ServerPipelines) {
        var pools: [WorkLane: NIOThreadPool] = [:]
        for lane in WorkLane.allCases {
            let threads =
                switch lane {
                case .requests: Self.requestThreads
                case .faces: pipelines.searches.count
                case .publicRequests: pipelines.publicRequests.count
                case .ingest: pipelines.ingest.count
                }
            let pool = NIOThreadPool(numberOfThreads: threads)
            pool.start()
            pools[lane] = pool
        }
        self.pools = pools
    }

    func run<T: Sendable>(on lane: WorkLane, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        let pool = pools[lane]!
        guard lane == .ingest else { return try await pool.runIfActive(body) }
        return try await pool.runIfActive {
            Self.lowerThisThreadsPriority()
            return try body()
        }
    }

    /// Ingest threads run at nice 10, so when searches and ingests compete for the
    /// cores the scheduler favours searches. Linux sets niceness per thread.
    static func lowerThisThreadsPriority() {
        #if os(Linux)
            // On Linux, PRIO_PROCESS with id 0 is the calling thread alone.
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            if getpriority(which, 0) < 10 { _ = setpriority(which, 0, 10) }
        #endif
    }

    deinit {
        for pool in pools.values { pool.shutdownGracefully { _ in } }
    }
}
