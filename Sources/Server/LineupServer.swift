import Dispatch
import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import MultipartKit
import NIOCore
import NIOPosix
import Synchronization

/// The HTTP API over the same Governance layer the command line uses: every route
/// authenticates, and Governance decides and logs. No rule lives here.
public struct LineupServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Largest request body accepted (photos, forms); larger gets 413.
        public var maxUploadBytes: Int
        /// Marks the session cookie Secure: set it when the server is reached over HTTPS.
        public var secureCookies: Bool
        /// A request that takes longer than this gets 503 with the `timeout` error code.
        public var requestTimeout: Duration
        /// How long a request head may take to arrive (from the connection opening or
        /// the last answer), and its body after it; past either the connection is closed.
        public var headTimeout: Duration
        public var bodyTimeout: Duration
        /// How many public requests each client address may send per window, and how
        /// many may wait at once.
        public var publicRequestsPerAddress: Int
        public var publicRequestWindow: Duration
        public var publicRequestQueue: Int

        public init(
            host: String = "127.0.0.1", port: Int = 8080, maxUploadBytes: Int = 20 * 1024 * 1024,
            secureCookies: Bool = false, requestTimeout: Duration = .seconds(120),
            headTimeout: Duration = .seconds(20), bodyTimeout: Duration = .seconds(120),
            publicRequestsPerAddress: Int = 5, publicRequestWindow: Duration = .seconds(900), publicRequestQueue: Int = 4
        ) {
            self.host = host
            self.port = port
            self.maxUploadBytes = maxUploadBytes
            self.secureCookies = secureCookies
            self.requestTimeout = requestTimeout
            self.headTimeout = headTimeout
            self.bodyTimeout = bodyTimeout
            self.publicRequestsPerAddress = publicRequestsPerAddress
            self.publicRequestWindow = publicRequestWindow
            self.publicRequestQueue = publicRequestQueue
        }

        /// The largest body a public form takes: one photo within the public limits,
        /// a contact and the form's framing.
        var maxPublicBodyBytes: Int { min(maxUploadBytes, ServerPipelines.publicLimits.maxBytes + (64 << 10)) }
    }

    let governance: Governance
    let pipelines: ServerPipelines
    let configuration: Configuration
    let metrics: ServerMetrics?
    /// The background ingests that uploads start.
    let ingestJobs = IngestJobs()
    let lanes: WorkLanes
    let publicGate: PublicRequestGate

    public init(
        governance: Governance, pipelines: ServerPipelines, configuration: Configuration = .init(),
        metrics: ServerMetrics? = nil
    ) {
        self.governance = governance
        self.pipelines = pipelines
        self.configuration = configuration
        self.metrics = metrics
        lanes = WorkLanes(pipelines: pipelines)
        publicGate = PublicRequestGate(
            limits: .init(
                perAddress: configuration.publicRequestsPerAddress,
                window: configuration.publicRequestWindow,
                queueLimit: configuration.publicRequestQueue))
    }

    /// The router with every route of `Endpoint.catalogue`.
    public func router() -> Router<LineupRequestContext> {
        let router = Router(context: LineupRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.info, redactHeaders: [.authorization, .cookie]))
        if let metrics { router.add(middleware: RequestMetricsMiddleware(metrics: metrics)) }
        router.add(middleware: APIErrorMiddleware(onError: countRefusal))
        router.add(middleware: MethodNotAllowedMiddleware())
        router.add(
            middleware: BodyLimitMiddleware(
                limit: configuration.maxUploadBytes,
                publicLimit: configuration.maxPublicBodyBytes))
        addMetricsRoute(to: router)
        let api = router.group(RouterPath(APIVersion.prefix))
        addServiceRoutes(to: api)
        addSearchRoutes(to: api)
        addUploadRoutes(to: api)
        addAccountRoutes(to: api)
        addRightsRoutes(to: api)
        addCaseRoutes(to: api)
        addWebPages(to: router)
        return router
    }

    /// Stops the background ingests at their next file and waits for them (at most
    /// `timeout`): called once the server has stopped taking requests, so the process
    /// never exits with an ingest inside the face pipeline.
    public func stopIngests(timeout: Duration = .seconds(60)) async {
        await ingestJobs.stopAll(timeout: timeout)
    }

    public func application() -> some ApplicationProtocol {
        let deadlines = ConnectionDeadlines.Limits(head: .init(configuration.headTimeout), body: .init(configuration.bodyTimeout))
        return Application(
            router: router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionDeadlines(limits: deadlines)])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "Lineup"))
    }

    // MARK: - Registering routes

    /// The catalogue's entry for a route; every route registered must have one.
    static func endpoint(_ method: HTTPRequest.Method, _ path: String) -> Endpoint {
        guard let endpoint = Endpoint.catalogue.first(where: { $0.method == method && $0.path == APIVersion.prefix + "/" + path }) else {
            preconditionFailure("\(method) \(path) is not in Endpoint.catalogue")
        }
        return endpoint
    }

    /// Registers a route that needs a token, behind `AuthenticationMiddleware` (which
    /// hands the principal on in `context.authenticated` and refuses roles the
    /// catalogue does not list before the body is read).
    func route(
        _ group: RouterGroup<LineupRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, LineupRequestContext) async throws -> Response
    ) {
        let endpoint = Self.endpoint(method, path)
        precondition(endpoint.access != .public, "\(method) \(path) is public in the catalogue")
        group.group().add(middleware: AuthenticationMiddleware(endpoint: endpoint, authenticate: { request in try await principal(request) }))
            .on(RouterPath(path), method: method, use: handler)
    }

    /// Registers a route anyone may call.
    func publicRoute(
        _ group: RouterGroup<LineupRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, LineupRequestContext) async throws -> Response
    ) {
        precondition(Self.endpoint(method, path).access == .public, "\(method) \(path) is not public in the catalogue")
        group.on(RouterPath(path), method: method, use: handler)
    }

    // MARK: - Helpers shared by the routes

    /// Runs blocking work off the event loops, on the threads of its `lane` (database
    /// work of requests by default; see `WorkLane`). Unless `timed` is false
    /// (background jobs, a synchronous folder ingest, the one-row token check that must
    /// decide 401 before anything else), a request whose work outlasts
    /// `configuration.requestTimeout` is answered 503 `timeout`; the work itself runs
    /// to its end, so nothing is left half done.
    func blocking<T: Sendable>(
        on lane: WorkLane = .requests, timed: Bool = true,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let lanes = self.lanes
        guard timed else { return try await lanes.run(on: lane, body) }
        let timeout = configuration.requestTimeout
        let deadline = ContinuousClock.now + timeout
        let late = APIError(
            .serviceUnavailable, .timeout,
            "the request took longer than \(timeout.components.seconds) s; its work may still complete")
        return try await withCheckedThrowingContinuation { continuation in
            let answered = Mutex(false)
            let answer: @Sendable (Result<T, any Error>) -> Void = { result in
                if answered.withLock({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume(with: result)
                }
            }
            let timer = Task {
                try await Task.sleep(until: deadline)
                answer(.failure(late))
            }
            Task {
                do {
                    let value = try await lanes.run(on: lane, body)
                    // Work that outlasted the timeout is late even if the timer has not run yet
                    // (a busy machine may run it after the work): the answer does not depend on which task ran first.
                    answer(ContinuousClock.now >= deadline ? .failure(late) : .success(value))
                } catch {
                    answer(.failure(error))
                }
                timer.cancel()
            }
        }
    }

    /// Runs face work of a signed-in request (a search, a detection) with a search
    /// pipeline, on the lane that has one thread per pipeline.
    func faceWork<T: Sendable>(_ body: @escaping @Sendable (FacePipeline) throws -> T) async throws -> T {
        let pool = pipelines.searches
        return try await blocking(on: .faces) { try pool.with(body) }
    }

    /// Runs a public request (`work`: reading its form, then `publicFaceWork`) once
    /// the gate lets the client's address in, and gives the place back after; 429 or
    /// 503 with Retry-After when the gate says no.
    func publicRequest<T: Sendable>(from address: SocketAddress?, _ work: () async throws -> T) async throws -> T {
        do {
            try publicGate.enter(from: PublicRequestGate.key(of: address))
        } catch .tooMany(let seconds) {
            throw APIError(
                .tooManyRequests, .rateLimited, "too many requests from your address; try again in \(seconds) s",
                retryAfter: seconds)
        } catch .busy {
            throw APIError(
                .serviceUnavailable, .busy, "the server is answering other requests; try again in a minute",
                retryAfter: 60)
        }
        defer { publicGate.leave() }
        return try await work()
    }

    /// Runs a public request's face work with the public pipeline, on its own lane.
    func publicFaceWork<T: Sendable>(_ body: @escaping @Sendable (FacePipeline) throws -> T) async throws -> T {
        let pool = pipelines.publicRequests
        return try await blocking(on: .publicRequests) { try pool.with(body) }
    }

    /// A `{name}` of the route's path, percent-decoded (the router leaves it encoded).
    func parameter(_ context: LineupRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    /// The request's body, up to `limit` bytes (413 beyond). A client that goes away
    /// before its body ends gets a 400 it will never read; only internal errors are
    /// logged, so this is not.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as NIOTooManyBytesError {
            throw error
        } catch {
            throw APIError(.badRequest, .invalid, "the request body ended before it was complete")
        }
    }

    /// The account behind the request's bearer token, or behind the web interface's
    /// session cookie; a call with the cookie that changes anything must carry the
    /// session's CSRF token in `X-CSRF-Token`.
    func principal(_ request: Request) async throws -> Principal {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            return try await blocking(timed: false) { try governance.authenticate(token: token) }
        }
        if let session = WebSession.token(of: request) {
            if request.method != .get && request.method != .head,
                !WebSession.csrfMatches(request.headers[WebSession.csrfHeader], sessionToken: session)
            {
                throw APIError(.forbidden, .forbidden, "a call with the session cookie must send its CSRF token in X-CSRF-Token")
            }
            return try await blocking(timed: false) { try governance.authenticate(token: session) }
        }
        throw APIError(.unauthorized, .unauthenticated, "send an API token: Authorization: Bearer <token>")
    }

    /// The request's multipart form, decoded; a missing field is named.
    func form<T: Decodable>(_ type: T.Type, from request: Request, fields: [String], limit: Int? = nil) async throws -> T {
        let boundary = try multipartBoundary(of: request, fields: fields)
        let body = try await Self.body(of: request, limit: limit ?? configuration.maxUploadBytes)
        do {
            return try FormDataDecoder().decode(type, from: body, boundary: boundary)
        } catch {
            throw APIError(
                .badRequest, .invalid,
                "the form needs the fields \(fields.joined(separator: ", ")), "
                    + "with the photo as a file")
        }
    }

    /// The boundary of a request sent as multipart/form-data, or a 400 naming the
    /// fields the form needs.
    @discardableResult
    func multipartBoundary(of request: Request, fields: [String]) throws -> String {
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = WebForm.parameter("boundary", of: contentType)
        else {
            throw APIError(.badRequest, .invalid, "send multipart/form-data with the fields \(fields.joined(separator: ", "))")
        }
        return boundary
    }

    /// A JSON response with snake_case keys and ISO 8601 dates.
    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        try LineupResponseEncoder.response(value, status: status)
    }

    /// A day given as YYYY-MM-DD (midnight UTC), or a 400 naming the field.
    func day(_ text: String, field: String) throws -> Date {
        guard let day = PolicyRule.day(text) else {
            // Written as a day but no such day (2026-02-30): the request is well formed.
            if text.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, options: .regularExpression) != nil {
                throw APIError(.unprocessableContent, .invalid, "\(field) \(text) is no such day")
            }
            throw APIError(.badRequest, .invalid, "\(field) \(text) is not a date YYYY-MM-DD")
        }
        return day
    }

    static func snakeCase(_ key: String) -> String {
        key.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }
}

/// Face pipelines for concurrent requests: one per worker, lent out and returned.
public final class PipelinePool: Sendable {
    private let available: Mutex<[FacePipeline]>
    private let free: DispatchSemaphore
    /// How many pipelines the pool holds.
    public let count: Int

    public init(_ pipelines: [FacePipeline]) {
        precondition(!pipelines.isEmpty, "a pool needs a pipeline")
        available = Mutex(pipelines)
        free = DispatchSemaphore(value: pipelines.count)
        count = pipelines.count
    }

    /// Runs `body` with a pipeline, waiting for one when all are lent (call off the event loops).
    public func with<T>(_ body: (FacePipeline) throws -> T) rethrows -> T {
        free.wait()
        let pipeline = available.withLock { $0.removeLast() }
        defer {
            available.withLock { $0.append(pipeline) }
            free.signal()
        }
        return try body(pipeline)
    }
}

/// A file field of a multipart form: its bytes.
struct UploadedFile: Decodable, MultipartPartConvertible {
    var bytes: [UInt8]

    init?(multipart: MultipartPart) { bytes = Array(buffer: multipart.body) }

    var multipart: MultipartPart? { nil }

    init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a file field must be a multipart part"))
    }
}
