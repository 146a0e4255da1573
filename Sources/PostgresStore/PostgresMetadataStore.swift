import Foundation
import PostgresNIO
import Store

/// The metadata store on PostgreSQL: one database shared by any number of `lineup serve`
/// processes, so a gallery and its accountability records can outgrow one machine.
///
/// Callers are synchronous and run on plain threads, never on an event loop: each
/// statement is sent with postgres-nio's `EventLoopFuture` API and the calling thread
/// waits for it. The I/O runs on NIO's own event loop threads, so no task of Swift's
/// cooperative pool is ever waited on and a busy pool cannot deadlock the store.
///
/// Every `write` takes one database-wide advisory lock in its transaction, so writes
/// from every process sharing the database run one at a time, as the accountability
/// rules require (the audit log reads its last entry and appends the next).
public final class PostgresMetadataStore: MetadataStore {
    public let engine = "postgresql"
    /// The PostgreSQL schema the store keeps its tables in; nil: the server's default.
    public let schema: String?
    let pool: ConnectionPool

    /// The advisory lock every write holds until it commits: "LINEUP" and a version.
    static let writeLock: Int64 = 0x4C49_4E45_5550_0001

    /// Connects to `url` (`postgres://user[:password]@host:port/database[?schema=NAME]`) and brings the
    /// schema up to date. `schema`, when given, is created if missing and is the only
    /// schema on every connection's search path (tests use a fresh one each).
    public init(url: String, schema: String? = nil, connections: Int = 8) throws {
        let endpoint = try Endpoint(url: url)
        let schema = schema ?? endpoint.schema
        if let schema, schema.isEmpty || schema.utf8.count > 63 || schema.contains("\0") {
            throw MetadataStoreError.unavailable("the schema name must be 1 to 63 bytes long")
        }
        self.schema = schema
        pool = ConnectionPool(endpoint: endpoint, schema: schema, limit: max(1, connections))
        try migrate()
    }

    deinit { pool.close() }

    /// Closes the idle connections now; connections in use close when they are returned.
    public func close() { pool.close() }

    public func read<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lock: false, body)
    }

    /// READ COMMITTED on purpose: each statement after the lock sees every write that
    /// committed before the lock was granted (REPEATABLE READ would keep an older snapshot).
    public func write<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", lock: true, body)
    }

    func transaction<T>(begin: String, lock: Bool, _ body: (any MetadataTransaction) throws -> T) throws -> T {
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            throw MetadataStoreError.unavailable("the store was called on an event loop thread; call it from a plain thread")
        }
        // A connection that sat idle may have died with a server restart: when BEGIN finds
        // it gone, nothing was done yet, so take another (a freshly opened one fails for real).
        var lease = try pool.take()
        var transaction = PostgresTransaction(connection: lease.connection, endpoint: pool.endpoint)
        while true {
            do {
                if lock {
                    // Sent together: the lock is granted, or refused, in the transaction BEGIN opens.
                    try transaction.enqueue(begin)
                    try transaction.command("SELECT pg_advisory_xact_lock(\(Self.writeLock))")
                } else {
                    try transaction.command(begin)
                }
                break
            } catch {
                transaction.rollback()
                pool.giveBack(lease.connection, healthy: !transaction.connectionFailed)
                guard transaction.connectionFailed, lease.reused else { throw error }
                lease = try pool.take()
                transaction = PostgresTransaction(connection: lease.connection, endpoint: pool.endpoint)
            }
        }
        defer {
            transaction.isOpen = false
            pool.giveBack(lease.connection, healthy: !transaction.connectionFailed)
        }
        let result: T
        do {
            result = try body(transaction)
        } catch {
            transaction.rollback()
            throw error
        }
        try transaction.commit()
        return result
    }
}

/// Where the server is, parsed from a `postgres://` URL.
struct Endpoint: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    /// `?schema=NAME`: the PostgreSQL schema the gallery lives in (default: the user's search path).
    var schema: String?

    /// "host:port", for messages (never the URL: it may hold a password).
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    init(url: String) throws {
        func malformed(_ what: String) -> MetadataStoreError {
            .unavailable("malformed PostgreSQL URL: \(what) (expected postgres://user[:password]@host:port/database)")
        }
        guard let parts = URLComponents(string: url) else { throw malformed("not a URL") }
        guard let scheme = parts.scheme?.lowercased() else { throw malformed("no scheme") }
        guard scheme == "postgres" || scheme == "postgresql" else { throw malformed("the scheme is \(scheme)://") }
        guard var host = parts.host, !host.isEmpty else { throw malformed("no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let user = parts.user, !user.isEmpty else { throw malformed("no user") }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        guard !database.isEmpty, !database.contains("/") else { throw malformed("no database name after the port") }
        if let port = parts.port, !(1...65535).contains(port) { throw malformed("the port is out of range") }
        if let mode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value,
            !["disable", "allow", "prefer"].contains(mode)
        {
            throw malformed("sslmode=\(mode) asks for TLS, which this store does not speak")
        }
        self.host = host
        self.port = parts.port ?? 5432
        self.user = user
        self.password = parts.password
        self.database = database
        schema = parts.queryItems?.first { $0.name == "schema" }?.value
    }
}

/// At most `limit` connections, handed out one per transaction. A connection that failed
/// is closed and a new one is opened in its place when next needed.
final class ConnectionPool: @unchecked Sendable {  // Mutable state is guarded by `condition`.
    let endpoint: Endpoint
    let schema: String?
    let limit: Int
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false

    /// How long a transaction waits for a connection when all are in use.
    static let waitLimit: TimeInterval = 60

    init(endpoint: Endpoint, schema: String?, limit: Int) {
        self.endpoint = endpoint
        self.schema = schema
        self.limit = limit
    }

    /// A connection for one transaction; `reused` when it was idle in the pool.
    func take() throws -> (connection: PostgresConnection, reused: Bool) {
        let deadline = Date().addingTimeInterval(Self.waitLimit)
        condition.lock()
        while true {
            if let connection = idle.popLast() {
                if connection.isClosed {
                    open -= 1
                    continue
                }
                condition.unlock()
                return (connection, true)
            }
            if open < limit {
                open += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return (try connect(id: id), false)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw MetadataStoreError.unavailable(
                    "all \(limit) connections to PostgreSQL at \(endpoint.address) stayed busy for \(Int(Self.waitLimit)) s")
            }
        }
    }

    func giveBack(_ connection: PostgresConnection, healthy: Bool) {
        condition.lock()
        if healthy, !closed, !connection.isClosed {
            idle.append(connection)
        } else {
            open -= 1
            Self.dispose(connection)
        }
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        let connections = idle
        open -= idle.count
        idle = []
        condition.unlock()
        for connection in connections { Self.dispose(connection) }
    }

    /// Closes a connection in the background, keeping it alive until it is closed.
    static func dispose(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func connect(id: Int) throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user,
            password: endpoint.password, database: endpoint.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        var parameters = [
            ("application_name", "lineup"),
            // forEachRow reads through cursors: plan them for every row, as a plain query.
            ("cursor_tuple_fraction", "1"),
        ]
        if let schema { parameters.append(("search_path", PostgresSQL.quoted(schema))) }
        configuration.options.additionalStartupParameters = parameters
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(),
                configuration: configuration, id: id, logger: quietLogger
            ).wait()
        } catch {
            throw MetadataStoreError.unavailable(
                "cannot connect to PostgreSQL at \(endpoint.address): \(PostgresTransaction.reason(error))")
        }
    }
}

/// postgres-nio logs nothing below `.critical` through it, so no statement is ever logged.
let quietLogger: Logger = {
    var logger = Logger(label: "lineup.postgres")
    logger.logLevel = .critical
    return logger
}()

/// One transaction on one connection, used only by the thread that runs the body.
final class PostgresTransaction: MetadataTransaction {
    let connection: PostgresConnection
    let endpoint: Endpoint
    var isOpen = true
    /// Set when the connection itself failed: it goes back to the pool to be closed.
    var connectionFailed = false
    private var cursors = 0
    /// Statements sent but not yet waited for.
    private var pending: [(result: EventLoopFuture<PostgresQueryResult>, sql: String)] = []

    /// Rows fetched from a cursor at a time: memory stays bounded on any table.
    static let batchSize = 1000

    init(connection: PostgresConnection, endpoint: Endpoint) {
        self.connection = connection
        self.endpoint = endpoint
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let (text, binds) = try prepare(sql, arguments)
        let tag = try send(text, binds, reporting: sql).metadata
        switch tag.command {
        case "INSERT", "UPDATE", "DELETE": return tag.rows ?? 0
        default:
            let words = tag.command.split(separator: " ")
            return words.count == 2 && words[0] == "MERGE" ? Int(words[1]) ?? 0 : 0
        }
    }

    /// Plain queries are read through a cursor, a batch at a time, so no more than a batch
    /// is held and the body may run other statements in the same transaction as it goes.
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        let (text, binds) = try prepare(sql, arguments)
        guard PostgresSQL.isPlainQuery(text) else {
            return try visit(send(text, binds, reporting: sql).rows, body)
        }
        cursors += 1
        let cursor = "lineup_cursor_\(cursors)"
        // DECLARE goes with the first FETCH, and CLOSE with the next statement: one wait
        // for a query whose rows fit in a batch.
        try enqueue("DECLARE \(cursor) NO SCROLL CURSOR FOR \(text)", binds, reporting: sql)
        do {
            while true {
                let batch = try send("FETCH FORWARD \(Self.batchSize) FROM \(cursor)", reporting: sql).rows
                try visit(batch, body)
                if batch.count < Self.batchSize { break }
            }
        } catch {
            if !connectionFailed { try? enqueue("CLOSE \(cursor)", reporting: sql) }
            throw error
        }
        try enqueue("CLOSE \(cursor)", reporting: sql)
    }

    func insert(into table: String, _ values: [(column: String, value: SQLValue)]) throws -> Int64 {
        let sql =
            values.isEmpty
            ? "INSERT INTO \(table) DEFAULT VALUES RETURNING id"
            : "INSERT INTO \(table) (\(values.map(\.column).joined(separator: ", "))) VALUES ("
                + Array(repeating: "?", count: values.count).joined(separator: ", ") + ") RETURNING id"
        guard PostgresSQL.isName(table), values.allSatisfy({ PostgresSQL.isName($0.column) }) else {
            throw MetadataStoreError.statement(message: "a table or column name is not a plain SQL name", sql: sql)
        }
        guard let id = try row(sql, values.map(\.value))?[0] else {
            throw MetadataStoreError.statement(message: "the insert returned no id", sql: sql)
        }
        return try id.int64()
    }

    // MARK: Sending

    func command(_ sql: String) throws { try send(sql, reporting: sql) }

    func commit() throws {
        // COMMIT of a transaction in which a statement failed (its error caught by the body)
        // is answered ROLLBACK: say so rather than report success.
        if try send("COMMIT", reporting: "COMMIT").metadata.command == "ROLLBACK" {
            throw MetadataStoreError.statement(
                message: "the transaction was rolled back: a statement in it had failed", sql: "COMMIT")
        }
    }

    /// Best effort: when ROLLBACK itself fails, the connection is discarded.
    func rollback() {
        guard isOpen, !connectionFailed else { return }
        pending.removeAll()  // their outcome no longer matters; ROLLBACK still runs after them
        do { try send("ROLLBACK", reporting: "ROLLBACK") } catch { connectionFailed = true }
    }

    private func prepare(_ sql: String, _ arguments: [SQLValue]) throws -> (String, PostgresBindings) {
        let (text, count) = PostgresSQL.numberPlaceholders(sql)
        guard count == arguments.count else {
            throw MetadataStoreError.statement(
                message: "the statement has \(count) placeholders but \(arguments.count) arguments were given", sql: sql)
        }
        return (text, PostgresSQL.bindings(arguments))
    }

    /// Sends a statement without waiting for it: postgres-nio runs a connection's statements
    /// in order, and its outcome is checked before the next statement's is returned.
    func enqueue(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), reporting source: String? = nil) throws {
        try checkUsable(source ?? sql)
        pending.append((connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: quietLogger), source ?? sql))
    }

    @discardableResult
    private func send(
        _ sql: String, _ binds: PostgresBindings = PostgresBindings(),
        reporting source: String
    ) throws -> PostgresQueryResult {
        try checkUsable(source)
        let result = connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: quietLogger)
        let earlier = pending
        pending = []
        for (statement, earlierSource) in earlier {
            do { _ = try statement.wait() } catch { throw failure(error, sql: earlierSource) }
        }
        do {
            return try result.wait()
        } catch {
            throw failure(error, sql: source)
        }
    }

    private func checkUsable(_ source: String) throws {
        guard isOpen else {
            throw MetadataStoreError.statement(message: "the transaction has already ended", sql: source)
        }
        guard !connectionFailed else {
            throw MetadataStoreError.unavailable("the connection to PostgreSQL at \(endpoint.address) was lost")
        }
    }

    private func visit(_ rows: [PostgresRow], _ body: (SQLRow) throws -> Void) throws {
        var columns: [String]?
        for row in rows {
            let names = columns ?? row.map(\.columnName)
            columns = names
            var values: [SQLValue] = []
            values.reserveCapacity(names.count)
            for cell in row { values.append(try PostgresSQL.value(cell)) }
            try body(SQLRow(columns: names, values: values))
        }
    }

    /// The server's refusal as `.statement`, with its message only (details may quote
    /// stored values); connection trouble as `.unavailable`, marking the connection failed.
    private func failure(_ error: any Error, sql: String) -> MetadataStoreError {
        if let error = error as? MetadataStoreError { return error }
        if let error = error as? PSQLError {
            let severity = error.serverInfo?[.severity] ?? ""
            if error.code == .server, severity != "FATAL", severity != "PANIC", !connection.isClosed {
                return .statement(message: error.serverInfo?[.message] ?? "refused", sql: sql)
            }
            if error.code == .tooManyParameters {
                return .statement(message: "too many arguments for one statement", sql: sql)
            }
        }
        connectionFailed = true
        return .unavailable("lost the connection to PostgreSQL at \(endpoint.address): \(Self.reason(error))")
    }

    /// A short reason, without the statement or its arguments.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return String(describing: underlying) }
        return error.code.description
    }
}
