import Foundation

/// A row type kept in one table of the metadata store, read and written through
/// its `Codable` conformance: each stored property is a column of the same name.
///
/// Integers, numbers, text, bytes and dates map to their own column types; a
/// `RawRepresentable` enum is kept as its raw value, and any other nested value
/// (a box, landmarks, quality figures) as sorted-key JSON text.
public protocol StoredRecord: Codable, Sendable {
    static var tableName: String { get }
    /// The row id, nil until the record is inserted.
    var id: Int64? { get set }
}

extension StoredRecord {
    /// Reads a record from a row holding its columns.
    public init(row: SQLRow) throws { self = try row.decode(Self.self) }
}

extension SQLRow {
    /// Reads any keyed `Decodable` from the row's columns, by name.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: RowDecoder(row: self)) }
}

extension MetadataTransaction {
    /// Records of a table, `clauses` being what follows `SELECT * FROM table`
    /// ("WHERE name = ?", "ORDER BY id").
    public func fetchAll<R: StoredRecord>(_ type: R.Type, _ clauses: String = "", _ arguments: [SQLValue] = []) throws -> [R] {
        try rows("SELECT * FROM \(R.tableName) \(clauses)", arguments).map(R.init(row:))
    }

    public func fetchOne<R: StoredRecord>(_ type: R.Type, _ clauses: String, _ arguments: [SQLValue] = []) throws -> R? {
        try rows("SELECT * FROM \(R.tableName) \(clauses) LIMIT 1", arguments).first.map(R.init(row:))
    }

    public func fetchOne<R: StoredRecord>(_ type: R.Type, id: Int64?) throws -> R? {
        guard let id else { return nil }
        return try fetchOne(type, "WHERE id = ?", [.integer(id)])
    }

    /// The records with these ids, in no particular order.
    public func fetchAll<R: StoredRecord>(_ type: R.Type, ids: some Sequence<Int64>) throws -> [R] {
        try fetchAll(type, "WHERE id IN (\(sqlList(ids)))")
    }

    public func count<R: StoredRecord>(_ type: R.Type, _ clauses: String = "", _ arguments: [SQLValue] = []) throws -> Int {
        try count("SELECT count(*) FROM \(R.tableName) \(clauses)", arguments)
    }

    /// Inserts the record and sets its id.
    public func insert<R: StoredRecord>(_ record: inout R) throws {
        let columns = try RowEncoder.columns(of: record).filter { $0.column != "id" || !$0.value.isNull }
        record.id = try insert(into: R.tableName, columns)
    }

    /// Writes every column of a record that has an id.
    public func update<R: StoredRecord>(_ record: R) throws {
        guard let id = record.id else { throw MetadataStoreError.type("cannot update a \(R.self) that was never inserted") }
        let columns = try RowEncoder.columns(of: record).filter { $0.column != "id" }
        try execute(
            "UPDATE \(R.tableName) SET \(columns.map { "\($0.column) = ?" }.joined(separator: ", ")) WHERE id = ?",
            columns.map(\.value) + [.integer(id)])
    }

    @discardableResult
    public func delete<R: StoredRecord>(_ type: R.Type, ids: some Sequence<Int64>) throws -> Int {
        try execute("DELETE FROM \(R.tableName) WHERE id IN (\(sqlList(ids)))")
    }
}

// MARK: - Codable to columns and back

/// Turns a record into (column, value) pairs through its `Encodable` conformance.
enum RowEncoder {
    static func columns<R: Encodable>(of record: R) throws -> [(column: String, value: SQLValue)] {
        let sink = Sink()
        try record.encode(to: RecordEncoder(sink: sink))
        return sink.columns
    }

    final class Sink {
        var columns: [(column: String, value: SQLValue)] = []
    }

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static func value<T: Encodable>(_ value: T) throws -> SQLValue {
        switch value {
        case let value as Int64: return .integer(value)
        case let value as Int: return .integer(Int64(value))
        case let value as Int32: return .integer(Int64(value))
        case let value as Bool: return .integer(value ? 1 : 0)
        case let value as Double: return .real(value)
        case let value as Float: return .real(Double(value))
        case let value as String: return .text(value)
        case let value as Data: return .blob(value)
        case let value as Date: return .date(value)
        default:
            // Raw-value enums come out as a JSON string or number; other values stay JSON.
            let json = try jsonEncoder.encode(value)
            switch try? JSONSerialization.jsonObject(with: json, options: .fragmentsAllowed) {
            case let text as String: return .text(text)
            default: return .text(String(decoding: json, as: UTF8.self))
            }
        }
    }

    struct RecordEncoder: Encoder {
        let sink: Sink
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(Columns<Key>(sink: sink))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer { preconditionFailure("a stored record is keyed") }
        func singleValueContainer() -> any SingleValueEncodingContainer { preconditionFailure("a stored record is keyed") }
    }

    struct Columns<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let sink: Sink
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { sink.columns.append((key.stringValue, .null)) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            sink.columns.append((key.stringValue, try RowEncoder.value(value)))
        }

        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            sink.columns.append((key.stringValue, try value.map(RowEncoder.value) ?? .null))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        { preconditionFailure("nested values are encoded whole") }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            preconditionFailure("nested values are encoded whole")
        }
        mutating func superEncoder() -> any Encoder { preconditionFailure("no superclass encoding") }
        mutating func superEncoder(forKey key: Key) -> any Encoder { preconditionFailure("no superclass encoding") }
    }
}

/// Reads a record from a row through its `Decodable` conformance.
struct RowDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw MetadataStoreError.type("a stored record is keyed") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw MetadataStoreError.type("a stored record is keyed") }

    static func value<T: Decodable>(_ type: T.Type, from value: SQLValue, column: String) throws -> T {
        do {
            switch type {
            case is Int64.Type: return try value.int64() as! T
            case is Int.Type: return Int(try value.int64()) as! T
            case is Int32.Type: return Int32(try value.int64()) as! T
            case is Bool.Type: return (try value.int64() != 0) as! T
            case is Double.Type: return try value.double() as! T
            case is Float.Type: return Float(try value.double()) as! T
            case is String.Type: return try value.string() as! T
            case is Data.Type: return try value.data() as! T
            case is Date.Type: return try value.date() as! T
            default:
                // JSON text for nested values; a bare raw value for enums.
                let json: Data
                switch value {
                case .text(let text):
                    if let decoded = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) { return decoded }
                    json = try JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed)
                case .integer(let number): json = Data(String(number).utf8)
                case .real(let number): json = Data(String(number).utf8)
                default: throw MetadataStoreError.type("found \(value)")
                }
                return try JSONDecoder().decode(T.self, from: json)
            }
        } catch {
            throw MetadataStoreError.type("column \(column) does not hold a \(T.self): \(error)")
        }
    }

    struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: SQLRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.compactMap(Key.init(stringValue:)) }

        func contains(_ key: Key) -> Bool { row[key.stringValue] != nil }

        func decodeNil(forKey key: Key) throws -> Bool { (row[key.stringValue] ?? .null).isNull }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let value = row[key.stringValue] else { throw MetadataStoreError.type("no column \(key.stringValue)") }
            return try RowDecoder.value(type, from: value, column: key.stringValue)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        { throw MetadataStoreError.type("nested values are decoded whole") }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw MetadataStoreError.type("nested values are decoded whole")
        }
        func superDecoder() throws -> any Decoder { throw MetadataStoreError.type("no superclass decoding") }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw MetadataStoreError.type("no superclass decoding") }
    }
}
