import Hummingbird
import NIOCore

/// The request context of every route and page: Hummingbird's core storage and the
/// address the request came from (the public forms are limited per address).
public struct LineupRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
