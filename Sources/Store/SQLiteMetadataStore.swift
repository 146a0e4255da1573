import Foundation
import GRDB

/// The embedded metadata store: one SQLite file in WAL mode, through GRDB.
///
/// Readers run beside the single writer (WAL); SQLite itself makes every `write`
/// run alone. `secure_delete` overwrites what is deleted, so an erased face's
/// sealed template does not linger in free pages.
public final class SQLiteMetadataStore: MetadataStore {
    public let path: String
    /// The GRDB pool, for what only SQLite has (checkpoints, integrity checks, tests
    /// that edit the file behind the store's back).
    public let pool: DatabasePool

    public var engine: String { "sqlite" }

    /// SQLite's own check of every page, index and constraint of the file.
    public func engineIntegrityCheck() throws -> EngineIntegrity {
        let findings = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        return EngineIntegrity(ran: true, findings: findings.joined(separator: "; "), method: "PRAGMA integrity_check")
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        // The database and its -wal and -shm files are the owner's alone: SQLite gives
        // the journal files the database file's mode, so creating it 0600 is enough;
        // one made by an earlier version is tightened.
        let files = FileManager.default
        if !files.fileExists(atPath: path) {
            guard files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.invalid("cannot create the database file \(path)")
            }
        }
        for file in [path, path + "-wal", path + "-shm"] where files.fileExists(atPath: file) {
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Closes the file now (a copy about to be moved or read whole); the store is
    /// unusable after.
    public func close() throws { try pool.close() }

    public func read<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(Transaction(db: db)) }
    }

    public func write<T>(_ body: (any MetadataTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(Transaction(db: db)) }
    }

    /// A GRDB connection inside `read` or `write`.
    ///
    /// Statements are compiled once per connection and kept (GRDB's statement cache):
    /// a bulk load runs the same few inserts and look-ups millions of times, and
    /// compiling each anew cost more than running it. A query asked again while its
    /// own rows are still being read gets a statement of its own.
    final class Transaction: MetadataTransaction {
        let db: Database
        private var reading: Set<String> = []

        init(db: Database) { self.db = db }

        func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
            try db.execute(sql: sql, arguments: Self.arguments(arguments))
            return db.changesCount
        }

        func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
            let nested = !reading.insert(sql).inserted
            defer { if !nested { reading.remove(sql) } }
            let statement = nested ? try db.makeStatement(sql: sql) : try db.cachedStatement(sql: sql)
            let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
            var columns: [String]?
            while let row = try cursor.next() {
                let names = columns ?? Array(row.columnNames)
                columns = names
                try body(SQLRow(columns: names, values: row.databaseValues.map(Self.value)))
            }
        }

        func insert(into table: String, _ values: [(column: String, value: SQLValue)]) throws -> Int64 {
            let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
            try db.cachedStatement(sql: "INSERT INTO \(table) (\(values.map(\.column).joined(separator: ", "))) VALUES (\(placeholders))")
                .execute(arguments: Self.arguments(values.map(\.value)))
            return db.lastInsertedRowID
        }

        static func arguments(_ values: [SQLValue]) -> StatementArguments {
            StatementArguments(
                values.map { value -> DatabaseValue in
                    switch value {
                    case .null: .null
                    case .integer(let number): number.databaseValue
                    case .real(let number): number.databaseValue
                    case .text(let text): text.databaseValue
                    case .blob(let data): data.databaseValue
                    case .date(let date): date.databaseValue
                    }
                })
        }

        static func value(_ value: DatabaseValue) -> SQLValue {
            switch value.storage {
            case .null: .null
            case .int64(let number): .integer(number)
            case .double(let number): .real(number)
            case .string(let text): .text(text)
            case .blob(let data): .blob(data)
            }
        }
    }
}
