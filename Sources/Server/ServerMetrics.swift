import Foundation
import Governance
import Hummingbird
import NIOCore
import Prometheus
import Synchronization

/// What `/metrics` reports, in Prometheus's text format, every name under `lineup_`
/// with a `# HELP` line: the searches and refused searches the audit log holds (so
/// web, API and command-line searches, and another server's, count alike), the HTTP
/// refusals and ingested faces of this process, the gallery's size, and each route's
/// requests and latency.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let searches: Counter
    let refusedSearches: Counter
    let refusals: Counter
    let ingestedFaces: Counter
    let galleryFaces: Gauge
    /// The last audit entry the search counters have read.
    private let auditRead = Mutex<Int64>(0)

    /// Request latency buckets, 5 ms to 30 s: a search takes tens of milliseconds, an ingest minutes.
    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        searches = registry.makeCounter(
            name: "lineup_searches_total", help: "Searches run, as the audit log records them, from every entry point.")
        refusedSearches = registry.makeCounter(
            name: "lineup_searches_refused_total",
            help: "Searches refused (justification, policy, rate limit, case), as the audit log records them.")
        refusals = registry.makeCounter(
            name: "lineup_http_refusals_total", help: "Requests to this server answered 401, 403 or 429.")
        ingestedFaces = registry.makeCounter(
            name: "lineup_ingested_faces_total", help: "Faces stored by ingests run through this server.")
        galleryFaces = registry.makeGauge(name: "lineup_gallery_faces", help: "Faces the gallery's index searches.")
    }

    /// Brings the search counters up to the audit log, reading only what was logged since the last time.
    func catchUp(_ governance: Governance, as principal: Principal) throws {
        try auditRead.withLock { last in
            let counts = try governance.searchCounts(as: principal, after: last)
            searches.increment(by: Int64(counts.searches))
            refusedSearches.increment(by: Int64(counts.refused))
            last = counts.last
        }
    }

    /// Counts one answered request of a route, with its status and time.
    func record(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            name: "lineup_http_requests_total", labels: [("method", method), ("route", route), ("status", String(status))],
            help: "HTTP requests answered, by method, route pattern and status."
        ).increment()
        registry.makeDurationHistogram(
            name: "lineup_http_request_duration_seconds", labels: [("method", method), ("route", route)],
            buckets: Self.latencyBuckets, help: "Time from a request's arrival to its answer being ready to send, by method and route pattern."
        ).record(duration)
    }
}

/// Records every request's route, status and time in the server's metrics (routes by
/// their pattern, `/api/v1/sources/{name}/ingest`, so a name never makes a new series).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = LineupRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.record(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code,
            duration: ContinuousClock.now - started)
        return response
    }
}

extension LineupServer {
    func addMetricsRoute(to router: Router<LineupRequestContext>) {
        guard let metrics else { return }
        // Counts of searches and refusals say how the service is used: an admin's or an
        // auditor's token reads them (a Prometheus scrape sends it as a bearer token).
        router.get("metrics") { request, _ in
            let principal = try await principal(request)
            guard principal.has(.admin) || principal.has(.auditor) else {
                throw APIError(.forbidden, .forbidden, "GET /metrics needs the role admin or auditor")
            }
            let gallery = governance.gallery
            try await blocking(timed: false) { try metrics.catchUp(governance, as: principal) }
            if let faces = try? await blocking(timed: false, { try gallery.indexedFaces() }) { metrics.galleryFaces.set(Int64(faces)) }
            var buffer: [UInt8] = []
            metrics.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// Counts a refusal (401, 403, 429) for the operators' dashboards.
    func countRefusal(_ error: any Error) {
        let status = APIError.from(error).status
        if [.unauthorized, .forbidden, .tooManyRequests].contains(status) { metrics?.refusals.increment() }
    }
}
