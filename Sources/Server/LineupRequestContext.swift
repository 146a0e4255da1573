import Governance
import Hummingbird
import NIOCore

/// The request context of every route and page: Hummingbird's core storage, the
/// address the request came from (the public forms are limited per address), the
/// body limit of the route (set by `BodyLimitMiddleware`), the JSON coders of the API
/// (snake_case keys, ISO 8601 dates), and the account that signed the request, handed
/// on by `AuthenticationMiddleware`.
public struct LineupRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The largest body `request.decode(as:context:)` reads for this route.
    public var maxUploadSize: Int
    /// Who signed the request; nil until `AuthenticationMiddleware` has run, and on public routes.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        maxUploadSize = 2 << 20
    }

    public var requestDecoder: LineupRequestDecoder { LineupRequestDecoder() }
    public var responseEncoder: LineupResponseEncoder { LineupResponseEncoder() }

    /// The signed-in principal of a route behind `AuthenticationMiddleware`.
    public var authenticated: Principal {
        get throws {
            guard let principal else { throw APIError(.unauthorized, .unauthenticated, "send an API token: Authorization: Bearer <token>") }
            return principal
        }
    }
}
