import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Synchronization

/// A client of Milvus's gRPC API (`milvus.proto.milvus.MilvusService`), the one
/// Milvus's own client libraries use. Unlike the RESTful API it sets what recall
/// depends on: the primary key, the partition key, the index and its build
/// parameters, and each search's effort and consistency.
///
/// Lineup's indexes are synchronous (a search is a function call), so each call here
/// blocks its caller until Milvus answers. The gRPC client's own tasks run on a
/// thread of this client's (`MilvusExecutor`), never on the threads of Swift's shared
/// pool: a caller blocked on one of those (a request handler, a test) cannot hold up
/// the answer it waits for.
public final class MilvusClient: Sendable {
    /// Where Milvus's proxy listens: `http://host:19530` (plaintext) or `https://…` (TLS).
    public let address: URL
    /// How long one call may take before it fails.
    public let timeout: Duration
    private let target: ResolvableTargets.DNS
    private let tls: Bool
    private let executor: MilvusExecutor
    private let metadata: Metadata
    /// The HTTP/2 connection's client, and how many have been made before it.
    private let connection: Mutex<(client: GRPCClient<HTTP2ClientTransport.Posix>, generation: Int)>

    /// A client of the Milvus at `address`, which connects on its first call.
    /// `token` is `user:password` or an API key, sent as Milvus expects (base64, in
    /// the `authorization` metadata) when authentication is on.
    public init(address: URL, token: String? = nil, timeout: TimeInterval = 60) throws {
        guard let scheme = address.scheme, scheme == "http" || scheme == "https", let host = address.host, !host.isEmpty else {
            throw MilvusError.badAddress("'\(address.absoluteString)' is not http://host:port or https://host:port")
        }
        guard timeout > 0 else { throw MilvusError.badAddress("a call's timeout must be positive") }
        self.address = address
        self.timeout = .milliseconds(Int64(timeout * 1000))
        target = .dns(host: host, port: address.port ?? 19530)
        tls = scheme == "https"
        var metadata = Metadata()
        if let token { metadata.addString(Data(token.utf8).base64EncodedString(), forKey: "authorization") }
        self.metadata = metadata
        let executor = MilvusExecutor(label: "milvus " + address.absoluteString)
        self.executor = executor
        connection = Mutex((try Self.connect(target, tls: tls, on: executor), 0))
    }

    deinit { connection.withLock { $0.client.beginGracefulShutdown() } }

    /// A gRPC client on a new HTTP/2 connection, running on `executor`.
    private static func connect(
        _ target: ResolvableTargets.DNS, tls: Bool, on executor: MilvusExecutor
    ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        let transport = try HTTP2ClientTransport.Posix(
            target: target, transportSecurity: tls ? .tls : .plaintext, config: .defaults { $0.connection.maxIdleTime = nil })
        let client = GRPCClient(transport: transport)
        Task(executorPreference: executor) { try? await client.runConnections() }
        return client
    }

    typealias Service = WireMilvusService.Client<HTTP2ClientTransport.Posix>

    /// Runs one call on this client's thread and waits for it. `method` names it in
    /// errors. When the connection closes under a call, the client connects again; an
    /// `idempotent` call (a search, a query, a deletion by key) is then sent once more,
    /// any other fails with `MilvusError.connectionLost`, for its caller to repeat in a
    /// way that cannot write twice (an insert may have been applied before the answer
    /// was lost). Connections to Milvus 2.3.5 were seen to close every few hundred
    /// calls of large writes; the HTTP/2 library under this client closes a connection
    /// after 200 protocol errors on its streams.
    func call<Answer: MilvusAnswer>(
        _ method: String, idempotent: Bool = true,
        _ body: @escaping @Sendable (Service, Metadata, CallOptions) async throws -> Answer
    ) throws -> Answer {
        var attempt = 0
        while true {
            let (client, generation) = connection.withLock { $0 }
            switch run(method, on: client, body) {
            case .success(let answer):
                let status = answer.answerStatus
                guard status.code == 0, status.errorCode == 0 else {
                    throw MilvusError.api(code: Int(status.code != 0 ? status.code : status.errorCode), message: "\(method): \(status.reason)")
                }
                return answer
            case .failure(let failure):
                guard failure.connectionLost, attempt == 0 else { throw failure.error }
                attempt += 1
                try reconnect(after: generation)
                guard idempotent else { throw MilvusError.connectionLost(method) }
            }
        }
    }

    /// Replaces the connection of `generation` (unless another call already has).
    private func reconnect(after generation: Int) throws {
        try connection.withLock { current in
            guard current.generation == generation else { return }
            current.client.beginGracefulShutdown()
            current = (try Self.connect(target, tls: tls, on: executor), generation + 1)
        }
    }

    private struct Failure: Error {
        var error: MilvusError
        var connectionLost: Bool
    }

    private func run<Answer: MilvusAnswer>(
        _ method: String, on client: GRPCClient<HTTP2ClientTransport.Posix>,
        _ body: @escaping @Sendable (Service, Metadata, CallOptions) async throws -> Answer
    ) -> Result<Answer, Failure> {
        let outcome = Mutex<Result<Answer, Failure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxResponseMessageBytes = 256 << 20
        let service = Service(wrapping: client), metadata = metadata, address = address.absoluteString
        Task(executorPreference: executor) {
            let result: Result<Answer, Failure>
            do {
                result = .success(try await body(service, metadata, options))
            } catch let error as RPCError {
                let lost = error.code == .unavailable && error.message.hasPrefix("Stream unexpectedly closed")
                result = .failure(Failure(error: MilvusError(method: method, address: address, error: error), connectionLost: lost))
            } catch {
                result = .failure(Failure(error: .malformed("\(method): \(error)"), connectionLost: false))
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }

    /// Milvus's version, as its server reports it: what `open` checks first.
    public func version() throws -> String {
        try call("GetVersion") { try await $0.getVersion(WireGetVersionRequest(), metadata: $1, options: $2) }.version
    }

    public func hasCollection(_ name: String) throws -> Bool {
        try call("HasCollection") { service, metadata, options in
            try await service.hasCollection(.with { $0.collectionName = name }, metadata: metadata, options: options)
        }.value
    }

    public func dropCollection(_ name: String) throws {
        _ = try call("DropCollection") { service, metadata, options in
            try await service.dropCollection(.with { $0.collectionName = name }, metadata: metadata, options: options)
        }
    }
}

/// An answer that carries Milvus's status: every response message has one, and a
/// call that returns a bare status has it as its answer.
protocol MilvusAnswer: Sendable {
    var answerStatus: WireStatus { get }
}

extension WireStatus: MilvusAnswer { var answerStatus: WireStatus { self } }
extension WireBoolResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireDescribeCollectionResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireGetLoadStateResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireDescribeIndexResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireMutationResult: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireSearchResults: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireFlushResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireQueryResults: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireGetFlushStateResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireGetCompactionStateResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireManualCompactionResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireGetVersionResponse: MilvusAnswer { var answerStatus: WireStatus { status } }
extension WireGetQuerySegmentInfoResponse: MilvusAnswer { var answerStatus: WireStatus { status } }

/// A thread of the client's own for the gRPC client's tasks (see `MilvusClient`).
/// Jobs are short (a message decoded, a continuation resumed): the network work runs
/// on the transport's event loops.
final class MilvusExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

public enum MilvusError: Error, CustomStringConvertible, Equatable, Sendable {
    case badAddress(String)
    case unreachable(String)
    /// Milvus answered with a failure status (its code and reason).
    case api(code: Int, message: String)
    /// The gRPC call failed for another reason (its status code and message).
    case rpc(code: String, message: String)
    case malformed(String)
    /// The collection exists without the layout Lineup writes (see `MilvusIndex.open`).
    case layout(String)
    /// The connection closed before the answer to a call that is not repeated on its
    /// own (it may have been applied); the client has connected again.
    case connectionLost(String)

    init(method: String, address: String, error: RPCError) {
        switch error.code {
        case .unavailable: self = .unreachable("\(address) (\(method)): \(error.message)")
        case .deadlineExceeded: self = .unreachable("\(address) (\(method)): no answer in time")
        default: self = .rpc(code: "\(error.code)", message: "\(method): \(error.message)")
        }
    }

    public var description: String {
        switch self {
        case .badAddress(let detail): "the Milvus address is not usable: \(detail)"
        case .unreachable(let detail): "Milvus cannot be reached at \(detail)"
        case .api(let code, let message): "Milvus refused (code \(code)): \(message)"
        case .rpc(let code, let message): "the call to Milvus failed (\(code)): \(message)"
        case .malformed(let detail): "Milvus's answer was not understood: \(detail)"
        case .layout(let detail): detail
        case .connectionLost(let method): "the connection to Milvus closed before it answered \(method)"
        }
    }
}
