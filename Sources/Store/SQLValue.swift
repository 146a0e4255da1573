import Foundation

/// A value as both metadata stores hold it. Dates have their own case so each
/// engine keeps them in its own date type (SQLite: GRDB's UTC text, which sorts
/// and compares in time order; PostgreSQL: `timestamptz`).
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
    case date(Date)

    public init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Double?) { self = value.map(SQLValue.real) ?? .null }
    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    public init(_ value: Data?) { self = value.map(SQLValue.blob) ?? .null }
    public init(_ value: Date?) { self = value.map(SQLValue.date) ?? .null }

    public var isNull: Bool { self == .null }

    /// What the value is, for error messages: the kind and size, never stored text or bytes.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): "text of \(value.count) characters"  // never the text: it may be a contact
        case .blob(let value): "<\(value.count) bytes>"
        case .date(let value): value.formatted(.iso8601)
        }
    }

    public func int64() throws -> Int64 {
        switch self {
        case .integer(let value): return value
        case .real(let value) where value == value.rounded(): return Int64(value)
        case .text(let value): if let number = Int64(value) { return number }
        default: break
        }
        throw MetadataStoreError.type("expected an integer, found \(self)")
    }

    public func double() throws -> Double {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        case .text(let value): if let number = Double(value) { return number }
        default: break
        }
        throw MetadataStoreError.type("expected a number, found \(self)")
    }

    public func string() throws -> String {
        if case .text(let value) = self { return value }
        throw MetadataStoreError.type("expected text, found \(self)")
    }

    public func data() throws -> Data {
        switch self {
        case .blob(let value): return value
        case .text(let value): return Data(value.utf8)
        default: throw MetadataStoreError.type("expected bytes, found \(self)")
        }
    }

    public func date() throws -> Date {
        switch self {
        case .date(let value): return value
        case .text(let value): if let date = Self.parseStoredDate(value) { return date }
        case .real(let value): return Date(timeIntervalSince1970: value)
        case .integer(let value): return Date(timeIntervalSince1970: TimeInterval(value))
        default: break
        }
        throw MetadataStoreError.type("expected a date, found \(self)")
    }

    /// Parses the UTC text SQLite rows hold dates in ("2026-11-30 12:34:56.789",
    /// GRDB's format), with or without the fraction and the time.
    static func parseStoredDate(_ text: String) -> Date? {
        let utf8 = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= utf8.count else { return nil }
            var value = 0
            for byte in utf8[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        var components = DateComponents(
            calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
            year: year, month: month, day: day)
        var fraction = 0.0
        if utf8.count >= 16 {
            guard let hour = number(11..<13), let minute = number(14..<16) else { return nil }
            components.hour = hour
            components.minute = minute
            if utf8.count >= 19 {
                guard let second = number(17..<19) else { return nil }
                components.second = second
                if utf8.count > 20, let digits = number(20..<utf8.count) {
                    fraction = Double(digits) / pow(10, Double(utf8.count - 20))
                }
            }
        }
        return components.date.map { $0.addingTimeInterval(fraction) }
    }
}

/// One row of a query: values in column order, also found by column name
/// (case-insensitively: PostgreSQL folds unquoted names to lower case).
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ index: Int) -> SQLValue { values[index] }

    public subscript(_ name: String) -> SQLValue? {
        columns.firstIndex { $0.caseInsensitiveCompare(name) == .orderedSame }.map { values[$0] }
    }
}
