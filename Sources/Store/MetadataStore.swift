import Foundation

/// Where Lineup keeps everything but the vector index: sources, files, pictures,
/// faces and their sealed templates, accounts, policy, the audit log, opt-outs,
/// access requests and receipts.
///
/// Two implementations sit side by side: `SQLiteMetadataStore`, one file on one
/// machine (the default), and `PostgresMetadataStore` (module `PostgresStore`), one
/// database shared by any number of `lineup serve` processes. Both keep the same
/// tables and columns, and give the same guarantee the accountability rules are
/// built on: a `write` runs alone, so an act, its checks and its audit entry commit
/// together or not at all, and two writers never interleave.
///
/// Statements are written once, in the SQL both engines understand, with `?`
/// placeholders; each store translates what differs (placeholders, value types).
public protocol MetadataStore: Sendable {
    /// Which engine, for status output ("sqlite", "postgresql").
    var engine: String { get }
    /// Runs `body` in a read-only transaction that sees one consistent state.
    @discardableResult
    func read<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T
    /// Runs `body` in a transaction that no other write interleaves with; it commits
    /// when `body` returns and rolls back when it throws.
    @discardableResult
    func write<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T
    /// The engine's own check of its files and indexes, or why none could be run.
    func engineIntegrityCheck() throws -> EngineIntegrity
    /// After rows were copied in with their ids: new rows get ids above them
    /// (PostgreSQL's identities; SQLite's rowids follow by themselves).
    func restartIdentities() throws
    /// Gives back the space of deleted rows so their old bytes are overwritten in time
    /// (PostgreSQL: VACUUM of the tables an erasure deletes from; SQLite overwrites at
    /// once with `secure_delete`, and its WAL is truncated after each erasure).
    func reclaimDeletedSpace() throws
}

extension MetadataStore {
    public func restartIdentities() throws {}
    public func reclaimDeletedSpace() throws {}
}

/// What a database engine's own integrity check found.
public struct EngineIntegrity: Sendable, Codable, Equatable {
    /// Whether a check ran; when not, `findings` says why.
    public var ran: Bool
    /// `ok`, or what the check found wrong, or why no check ran.
    public var findings: String
    /// What was checked ("PRAGMA integrity_check", "amcheck: 31 indexes, 16 tables").
    public var method: String

    public init(ran: Bool, findings: String, method: String) {
        self.ran = ran
        self.findings = findings
        self.method = method
    }

    public var isSound: Bool { ran && findings == "ok" }
}

/// One open transaction: statements with `?` placeholders and `SQLValue` arguments.
public protocol MetadataTransaction: AnyObject {
    /// Runs a statement and returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Runs a query and visits its rows in order without holding them all.
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws
    /// Inserts one row and returns its new `id`.
    func insert(into table: String, _ values: [(column: String, value: SQLValue)]) throws -> Int64
}

extension MetadataTransaction {
    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    /// All rows of a query.
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, arguments) { rows.append($0) }
        return rows
    }

    /// The first row of a query, if any.
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of every row.
    public func ids(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Int64] {
        try rows(sql, arguments).map { try $0[0].int64() }
    }

    /// The first column of the first row: counts, existence, single values.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue {
        try row(sql, arguments)?[0] ?? .null
    }

    public func count(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        Int(try scalar(sql, arguments).int64())
    }
}

/// A comma-separated list of ids for `IN (…)`: integers are written into the
/// statement, so a list of any length needs no placeholders.
public func sqlList<S: Sequence>(_ ids: S) -> String where S.Element == Int64 {
    let list = ids.map(String.init).joined(separator: ",")
    return list.isEmpty ? "NULL" : list
}

/// Errors a metadata store reports, named by engine and statement.
public enum MetadataStoreError: Error, Sendable, CustomStringConvertible {
    /// The server could not be reached or the connection was lost.
    case unavailable(String)
    /// The engine refused a statement: its message and the statement.
    case statement(message: String, sql: String)
    /// A stored value is not of the type asked for.
    case type(String)

    public var description: String {
        switch self {
        case .unavailable(let message): "metadata store unavailable: \(message)"
        case .statement(let message, let sql): "metadata store refused a statement: \(message) (in: \(sql.prefix(200)))"
        case .type(let message): "metadata store value: \(message)"
        }
    }
}
