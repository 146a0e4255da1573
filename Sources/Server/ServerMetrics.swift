import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// What `/metrics` reports, in Prometheus's text format: Lineup's own counters
/// (searches, refusals, ingested faces, gallery size) beside the per-route request
/// counts and latency that Hummingbird's metrics middleware records.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let searches: Metrics.Counter
    let refusals: Metrics.Counter
    let ingestedFaces: Metrics.Counter
    let galleryFaces: Metrics.Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        searches = Metrics.Counter(label: "lineup_searches_total", factory: factory)
        refusals = Metrics.Counter(label: "lineup_refusals_total", factory: factory)
        ingestedFaces = Metrics.Counter(label: "lineup_ingested_faces_total", factory: factory)
        galleryFaces = Metrics.Gauge(label: "lineup_gallery_faces", factory: factory)
    }

    /// Makes this registry the process's metrics backend, so the request metrics of
    /// every route land in it too. Once per process (`lineup serve` does it).
    public func bootstrapProcessMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
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
            if let faces = try? await blocking(timed: false, { try gallery.indexedFaces() }) { metrics.galleryFaces.record(faces) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }

    /// Counts a refusal (401, 403, 429) for the operators' dashboards.
    func countRefusal(_ error: any Error) {
        let status = APIError.from(error).status
        if [.unauthorized, .forbidden, .tooManyRequests].contains(status) { metrics?.refusals.increment() }
    }
}
