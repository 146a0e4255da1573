import FaceVision
import Foundation
import Governance
import Hummingbird
import NIOCore
import Store

/// The one error shape of the API: `{"error": {"code": "...", "message": "..."}}`,
/// a stable code for programs and a sentence for people.
struct APIError: Error, HTTPResponseError {
    enum Code: String, CaseIterable {
        case unauthenticated, forbidden, unjustified
        case deniedByPolicy = "denied_by_policy"
        case rateLimited = "rate_limited"
        case invalid
        case notFound = "not_found"
        case badImage = "bad_image"
        case noFace = "no_face"
        case tooLarge = "too_large"
        case timeout
        /// The server is answering too many requests of this kind; try again later.
        case busy
        case internalError = "internal"
    }

    var status: HTTPResponse.Status
    var code: Code
    var message: String
    /// Seconds after which trying again may succeed (429, 503): sent as `Retry-After`.
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    var headers: HTTPFields { [:] }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(Body(error: .init(code: code.rawValue, message: message)))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// The API's reading of an error thrown anywhere below it.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as GovernanceError:
            switch error {
            case .unauthenticated: return APIError(.unauthorized, .unauthenticated, error.description)
            case .forbidden: return APIError(.forbidden, .forbidden, error.description)
            case .unjustified: return APIError(.badRequest, .unjustified, error.description)
            case .deniedByPolicy: return APIError(.forbidden, .deniedByPolicy, error.description)
            case .rateLimited: return APIError(.tooManyRequests, .rateLimited, error.description)
            case .invalid: return APIError(.unprocessableContent, .invalid, error.description)
            case .badInput: return APIError(.badRequest, .invalid, error.description)
            case .notFound: return APIError(.notFound, .notFound, error.description)
            }
        case let error as StoreError:
            if case .notFound = error { return APIError(.notFound, .notFound, error.description) }
            if case .unknownSource = error { return APIError(.notFound, .notFound, error.description) }
            return APIError(.unprocessableContent, .invalid, error.description)
        case let error as ImageError:
            return APIError(.unprocessableContent, .badImage, String(describing: error))
        case let error as VisionError:
            switch error {
            case .noFace, .noSuchFaceInPhoto: return APIError(.unprocessableContent, .noFace, error.description)
            default: return APIError(.internalServerError, .internalError, "the face pipeline failed; the request id is in the server's log")
            }
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, .tooLarge, "the request body is larger than this server accepts")
        case let error as HTTPError:
            return APIError(error.status, error.status == .notFound ? .notFound : .invalid, error.body ?? error.status.reasonPhrase)
        case is DecodingError:
            return APIError(.badRequest, .invalid, "the JSON body does not have the fields this route needs")
        default:
            return APIError(.internalServerError, .internalError, "internal error; the request id is in the server's log")
        }
    }
}

/// Turns every error into the API's shape, and logs what it could not classify.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let onError: @Sendable (any Error) -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            onError(error)
            let apiError = APIError.from(error)
            if apiError.code == .internalError { context.logger.error("unhandled error: \(String(reflecting: error))") }
            return try apiError.response(from: request, context: context)
        }
    }
}

/// Refuses a request whose declared body is larger than the server takes, with 413
/// before a byte of it is read; the public forms take less than the rest.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = LineupRequestContext
    let limit: Int
    let publicLimit: Int

    /// Whether anyone may post to `path` without an account (one of the catalogues'
    /// public POSTs): those take the smaller limit.
    static func isPublicForm(_ path: String) -> Bool { publicFormPaths.contains(path) }

    /// Refuses a body declared larger than the route takes, and sets the context's
    /// limit for the body read while the request is answered.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let allowed = Self.isPublicForm(request.uri.path) ? publicLimit : limit
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > allowed {
            throw APIError(.contentTooLarge, .tooLarge, "the request body declares \(declared) bytes; this route takes at most \(allowed)")
        }
        var context = context
        context.maxUploadSize = allowed
        return try await next(request, context)
    }
}

/// The routes and pages anyone may post to without an account.
private let publicFormPaths: Set<String> = Set(
    Endpoint.catalogue.filter { $0.access == .public && $0.method == .post }.map(\.path)
        + WebPage.catalogue.filter { $0.access == .public && $0.method == .post }.map(\.path))
