import Dispatch
import Foundation
import Gallery
import Governance
import Hummingbird
import MultipartKit
import NIOCore
import NIOPosix
import Synchronization
import Vision

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

        public init(host: String = "127.0.0.1", port: Int = 8080, maxUploadBytes: Int = 20 * 1024 * 1024,
                    secureCookies: Bool = false, requestTimeout: Duration = .seconds(120)) {
            self.host = host
            self.port = port
            self.maxUploadBytes = maxUploadBytes
            self.secureCookies = secureCookies
            self.requestTimeout = requestTimeout
        }
    }

    let governance: Governance
    let pipelines: PipelinePool
    let configuration: Configuration
    let metrics: ServerMetrics?
    /// The background ingests that uploads start.
    let ingestJobs = IngestJobs()

    public init(governance: Governance, pipelines: PipelinePool, configuration: Configuration = .init(),
                metrics: ServerMetrics? = nil) {
        self.governance = governance
        self.pipelines = pipelines
        self.configuration = configuration
        self.metrics = metrics
    }

    /// The router with every route of `Endpoint.catalogue`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.info, redactHeaders: [.authorization, .cookie]))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: APIErrorMiddleware(onError: countRefusal))
        addMetricsRoute(to: router)
        let api = router.group(RouterPath(APIVersion.prefix))
        addServiceRoutes(to: api)
        addSearchRoutes(to: api)
        addUploadRoutes(to: api)
        addAccountRoutes(to: api)
        addRightsRoutes(to: api)
        addWebPages(to: router)
        return router
    }

    public func application() -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(configuration.host, port: configuration.port),
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

    /// Registers a route that needs a token, refusing roles the catalogue does not
    /// list before the body is read (Governance checks again when it acts).
    func route(_ group: RouterGroup<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
               _ handler: @escaping @Sendable (Request, BasicRequestContext, Principal) async throws -> Response) {
        let endpoint = Self.endpoint(method, path)
        precondition(endpoint.access != .public, "\(method) \(path) is public in the catalogue")
        group.on(RouterPath(path), method: method) { request, context in
            let principal = try await principal(request)
            if case .roles(let roles) = endpoint.access, !roles.contains(where: principal.has) {
                throw APIError(.forbidden, .forbidden, "\(method) \(endpoint.path) needs the role "
                               + roles.map(\.rawValue).joined(separator: " or "))
            }
            return try await handler(request, context, principal)
        }
    }

    /// Registers a route anyone may call.
    func publicRoute(_ group: RouterGroup<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
                     _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        precondition(Self.endpoint(method, path).access == .public, "\(method) \(path) is not public in the catalogue")
        group.on(RouterPath(path), method: method, use: handler)
    }

    // MARK: - Helpers shared by the routes

    /// Runs blocking work (database, decoding, networks) off the event loops. Unless
    /// `timed` is false (background jobs, a synchronous folder ingest, the one-row
    /// token check that must decide 401 before anything else), a request
    /// whose work outlasts `configuration.requestTimeout` is answered 503 `timeout`;
    /// the work itself runs to its end, so nothing is left half done.
    func blocking<T: Sendable>(timed: Bool = true, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard timed else { return try await NIOThreadPool.singleton.runIfActive(body) }
        let timeout = configuration.requestTimeout
        let deadline = ContinuousClock.now + timeout
        let late = APIError(.serviceUnavailable, .timeout,
                            "the request took longer than \(timeout.components.seconds) s; its work may still complete")
        return try await withCheckedThrowingContinuation { continuation in
            let answered = Mutex(false)
            let answer: @Sendable (Result<T, any Error>) -> Void = { result in
                if answered.withLock({ done in defer { done = true }; return !done }) { continuation.resume(with: result) }
            }
            let timer = Task {
                try await Task.sleep(until: deadline)
                answer(.failure(late))
            }
            Task {
                do {
                    let value = try await NIOThreadPool.singleton.runIfActive(body)
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
               !WebSession.csrfMatches(request.headers[WebSession.csrfHeader], sessionToken: session) {
                throw APIError(.forbidden, .forbidden, "a call with the session cookie must send its CSRF token in X-CSRF-Token")
            }
            return try await blocking(timed: false) { try governance.authenticate(token: session) }
        }
        throw APIError(.unauthorized, .unauthenticated, "send an API token: Authorization: Bearer <token>")
    }

    /// The request's JSON body, decoded with snake_case keys.
    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let body = try await request.body.collect(upTo: configuration.maxUploadBytes)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(buffer: body))
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError(.badRequest, .invalid, "the JSON body needs the field '\(Self.snakeCase(key.stringValue))'")
        } catch DecodingError.typeMismatch(_, let context) {
            let field = context.codingPath.map { Self.snakeCase($0.stringValue) }.joined(separator: ".")
            throw APIError(.badRequest, .invalid, "the field '\(field)' has the wrong type")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map { Self.snakeCase($0.stringValue) }.joined(separator: ".")
            throw APIError(.badRequest, .invalid, "the field '\(field)' has a value this route does not accept")
        } catch {
            throw APIError(.badRequest, .invalid, "the body is not JSON")
        }
    }

    /// The request's multipart form, decoded; a missing field is named.
    func form<T: Decodable>(_ type: T.Type, from request: Request, fields: [String]) async throws -> T {
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = WebForm.parameter("boundary", of: contentType) else {
            throw APIError(.badRequest, .invalid, "send multipart/form-data with the fields \(fields.joined(separator: ", "))")
        }
        let body = try await request.body.collect(upTo: configuration.maxUploadBytes)
        do {
            return try FormDataDecoder().decode(type, from: body, boundary: boundary)
        } catch {
            throw APIError(.badRequest, .invalid, "the form needs the fields \(fields.joined(separator: ", ")), "
                           + "with the photo as a file")
        }
    }

    /// A JSON response with snake_case keys and ISO 8601 dates.
    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
    }

    /// A day given as YYYY-MM-DD (midnight UTC), or a 400 naming the field.
    func day(_ text: String, field: String) throws -> Date {
        guard let day = PolicyRule.day(text) else { throw APIError(.badRequest, .invalid, "\(field) \(text) is not a date YYYY-MM-DD") }
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

    public init(_ pipelines: [FacePipeline]) {
        precondition(!pipelines.isEmpty, "a pool needs a pipeline")
        available = Mutex(pipelines)
        free = DispatchSemaphore(value: pipelines.count)
    }

    /// Runs `body` with a pipeline, waiting for one when all are lent (call off the event loops).
    func with<T>(_ body: (FacePipeline) throws -> T) rethrows -> T {
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
