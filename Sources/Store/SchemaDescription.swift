import Foundation

/// A store's tables as its engine reports them, in terms both engines share: what
/// the cross-engine test compares, so that the SQLite and PostgreSQL schemas (each
/// written as its engine's migrations) cannot drift apart in a type, a NOT NULL, a
/// key, a constraint or an index without a test failing.
public struct SchemaDescription: Sendable, Equatable, CustomStringConvertible {
    public var tables: [String: TableShape]

    public init(tables: [String: TableShape]) { self.tables = tables }

    public var description: String {
        tables.keys.sorted().map { "\($0): \(tables[$0]!)" }.joined(separator: "\n")
    }

    /// What differs from `other`, one line a difference (empty when they agree).
    public func differences(from other: SchemaDescription) -> [String] {
        var lines: [String] = []
        for name in Set(tables.keys).union(other.tables.keys).sorted() {
            switch (tables[name], other.tables[name]) {
            case (let mine?, let theirs?) where mine != theirs:
                for (label, a, b) in mine.parts.indices.map({ (mine.parts[$0].0, mine.parts[$0].1, theirs.parts[$0].1) }) where a != b {
                    lines.append("\(name).\(label): \(a) ≠ \(b)")
                }
            case (nil, _?): lines.append("\(name): only in the other schema")
            case (_?, nil): lines.append("\(name): missing from the other schema")
            default: break
            }
        }
        return lines
    }
}

/// One table: its columns, keys, constraints and indexes.
public struct TableShape: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case integer, real, text, blob, date }

    public struct Column: Sendable, Equatable, Comparable, CustomStringConvertible {
        public var name: String
        public var kind: Kind
        public var nullable: Bool

        public init(name: String, kind: Kind, nullable: Bool) {
            (self.name, self.kind, self.nullable) = (name.lowercased(), kind, nullable)
        }

        public static func < (a: Column, b: Column) -> Bool { a.name < b.name }
        public var description: String { "\(name) \(kind.rawValue)\(nullable ? "" : " not null")" }
    }

    public struct ForeignKey: Sendable, Equatable, Comparable, CustomStringConvertible {
        public var column: String
        public var table: String
        /// `cascade`, `set null`, `restrict` or `no action`.
        public var onDelete: String

        public init(column: String, table: String, onDelete: String) {
            (self.column, self.table, self.onDelete) = (column.lowercased(), table.lowercased(), onDelete.lowercased())
        }

        public static func < (a: ForeignKey, b: ForeignKey) -> Bool { a.description < b.description }
        public var description: String { "\(column) → \(table) on delete \(onDelete)" }
    }

    /// An index by what it covers: its columns (lower case, in order), whether it is
    /// unique, whether it is partial. Unique constraints count as unique indexes.
    public struct Index: Sendable, Equatable, Comparable, CustomStringConvertible {
        public var columns: [String]
        public var unique: Bool
        public var partial: Bool

        public init(columns: [String], unique: Bool, partial: Bool) {
            (self.columns, self.unique, self.partial) = (columns.map { $0.lowercased() }, unique, partial)
        }

        public static func < (a: Index, b: Index) -> Bool { a.description < b.description }
        public var description: String {
            "(\(columns.joined(separator: ", ")))\(unique ? " unique" : "")\(partial ? " partial" : "")"
        }
    }

    public var columns: [Column]
    public var primaryKey: [String]
    public var foreignKeys: [ForeignKey]
    public var indexes: [Index]
    /// CHECK constraints, counted (their expressions are written in each dialect).
    public var checks: Int

    public init(columns: [Column], primaryKey: [String], foreignKeys: [ForeignKey], indexes: [Index], checks: Int) {
        self.columns = columns.sorted()
        let key = primaryKey.map { $0.lowercased() }
        self.primaryKey = key
        self.foreignKeys = foreignKeys.sorted()
        // The primary key's own index is the key, not an index of the schema's making.
        self.indexes = indexes.filter { !($0.unique && !$0.partial && $0.columns == key) }.sorted()
        self.checks = checks
    }

    var parts: [(String, String)] {
        [
            ("columns", columns.map(\.description).joined(separator: ", ")), ("primary key", primaryKey.joined(separator: ", ")),
            ("foreign keys", foreignKeys.map(\.description).joined(separator: ", ")),
            ("indexes", indexes.map(\.description).joined(separator: ", ")), ("checks", String(checks)),
        ]
    }

    public var description: String { parts.map { "\($0.0) [\($0.1)]" }.joined(separator: "; ") }

    /// The kind of a declared column type, in either engine's words.
    public static func kind(ofDeclaredType type: String) -> Kind? {
        let type = type.lowercased()
        switch type {
        case "integer", "int", "bigint", "int8", "smallint", "boolean", "bool": return .integer
        case "double", "real", "double precision", "float8", "float4": return .real
        case "text", "jsontext", "json", "jsonb", "character varying", "varchar": return .text
        case "blob", "bytea": return .blob
        case "datetime", "timestamp with time zone", "timestamptz", "timestamp": return .date
        default: return nil
        }
    }
}
