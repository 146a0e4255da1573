import Governance
import Hummingbird

/// Authenticates a route's request before its handler runs and hands the principal
/// on in the context (`context.authenticated`): by the bearer token, or by the web
/// interface's session cookie, whose calls that change anything carry the session's
/// CSRF token. Refuses, before the body is read, a principal without a role the
/// route's catalogue entry lists (Governance checks again when it acts).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = LineupRequestContext

    let endpoint: Endpoint
    let authenticate: @Sendable (Request) async throws -> Principal

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let principal = try await authenticate(request)
        if case .roles(let roles) = endpoint.access, !roles.contains(where: principal.has) {
            throw APIError(
                .forbidden, .forbidden,
                "\(endpoint.method) \(endpoint.path) needs the role "
                    + roles.map(\.rawValue).joined(separator: " or "))
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}
