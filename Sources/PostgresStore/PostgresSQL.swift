import Foundation
import PostgresNIO
import Store

/// What the PostgreSQL store translates between the SQL the package writes once for
/// both engines and what PostgreSQL speaks: `?` placeholders to `$n`, `SQLValue`s to
/// typed binary parameters, and result cells back to `SQLValue`s.
enum PostgresSQL {
    // MARK: Statements

    /// Replaces each `?` with `$1`, `$2`, … in order, leaving alone those inside string
    /// literals ('…', E'…', $tag$…$tag$), quoted identifiers and comments.
    static func numberPlaceholders(_ sql: String) -> (sql: String, count: Int) {
        let bytes = Array(sql.utf8)
        guard bytes.contains(UInt8(ascii: "?")) else { return (sql, 0) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var count = 0
        var i = 0
        func at(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }
        /// Copies through the end of what starts at `i` and ends just before `end`.
        func copy(to end: Int) {
            let end = min(end, bytes.count)
            out.append(contentsOf: bytes[i..<end])
            i = end
        }
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "?"):
                count += 1
                out.append(contentsOf: Array("$\(count)".utf8))
                i += 1
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // A doubled quote closes one literal and opens the next: the same text.
                let escapes =
                    byte == UInt8(ascii: "'") && i > 0 && (bytes[i - 1] | 0x20) == UInt8(ascii: "e")
                    && (i < 2 || !isNameByte(bytes[i - 2]))
                var j = i + 1
                while j < bytes.count, bytes[j] != byte { j += escapes && bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                copy(to: j + 1)
            case UInt8(ascii: "-") where at(i + 1) == UInt8(ascii: "-"):
                copy(to: bytes[i...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count)
            case UInt8(ascii: "/") where at(i + 1) == UInt8(ascii: "*"):
                var depth = 0
                var j = i
                repeat {
                    if at(j) == UInt8(ascii: "/"), at(j + 1) == UInt8(ascii: "*") {
                        depth += 1
                        j += 2
                    } else if at(j) == UInt8(ascii: "*"), at(j + 1) == UInt8(ascii: "/") {
                        depth -= 1
                        j += 2
                    } else {
                        j += 1
                    }
                } while depth > 0 && j < bytes.count
                copy(to: j)
            case UInt8(ascii: "$") where i == 0 || !isNameByte(bytes[i - 1]):
                var j = i + 1
                while let next = at(j), next != UInt8(ascii: "$"), isNameByte(next),
                    !(j == i + 1 && (48...57).contains(next))
                { j += 1 }
                guard at(j) == UInt8(ascii: "$") else {
                    copy(to: i + 1)
                    continue
                }
                let tag = Array(bytes[i...j])
                var k = j + 1
                while k + tag.count <= bytes.count, !bytes[k..<(k + tag.count)].elementsEqual(tag) { k += 1 }
                copy(to: k + tag.count)
            default:
                out.append(byte)
                i += 1
            }
        }
        return (String(decoding: out, as: UTF8.self), count)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
            || (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }

    /// A plain SQL name (letters, digits, underscores), safe to write unquoted.
    static func isName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { $0 != UInt8(ascii: "$") && $0 < 0x80 && isNameByte($0) }
    }

    /// A double-quoted identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A query a cursor can read: it starts with SELECT, VALUES or TABLE (WITH may hide a
    /// data-modifying statement, which a cursor refuses, so it is read whole).
    static func isPlainQuery(_ sql: String) -> Bool {
        var rest = Substring(sql)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == "(" }
            if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        let word = rest.prefix { $0.isLetter }.uppercased()
        return word == "SELECT" || word == "VALUES" || word == "TABLE"
    }

    // MARK: Values in

    static func bindings(_ values: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let data): bindings.append(ByteBuffer(bytes: data))
            case .date(let date): bindings.append(Timestamp(date))
            }
        }
        return bindings
    }

    /// Seconds from 2001-01-01 (Foundation's reference date) back to 2000-01-01 (PostgreSQL's).
    static let postgresEpoch: TimeInterval = -31_622_400

    /// A `timestamptz` parameter: microseconds since 2000-01-01 UTC, rounded (not truncated,
    /// so a date with milliseconds comes back with the same milliseconds).
    struct Timestamp: PostgresNonThrowingEncodable {
        static var psqlType: PostgresDataType { .timestamptz }
        static var psqlFormat: PostgresFormat { .binary }
        let microseconds: Int64

        init(_ date: Date) {
            let micros = ((date.timeIntervalSinceReferenceDate - PostgresSQL.postgresEpoch) * 1_000_000).rounded()
            // Out of range is PostgreSQL's infinity, as far from now as the date is.
            microseconds = Int64(exactly: micros) ?? (micros > 0 ? .max : .min)
        }

        func encode<JSONEncoder: PostgresJSONEncoder>(
            into buffer: inout ByteBuffer,
            context: PostgresEncodingContext<JSONEncoder>
        ) {
            buffer.writeInteger(microseconds)
        }
    }

    // MARK: Values out

    /// A result cell (postgres-nio asks for every column in binary) as an `SQLValue`.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard var buffer = cell.bytes else { return .null }
        func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
            guard buffer.readableBytes == MemoryLayout<I>.size, let value = buffer.readInteger(as: I.self) else {
                throw MetadataStoreError.type("column \(cell.columnName): \(buffer.readableBytes) bytes for a \(I.self)")
            }
            return value
        }
        switch cell.dataType {
        case .int2: return .integer(Int64(try integer(Int16.self)))
        case .int4: return .integer(Int64(try integer(Int32.self)))
        case .int8: return .integer(try integer(Int64.self))
        case .oid: return .integer(Int64(try integer(UInt32.self)))
        case .float4: return .real(Double(Float(bitPattern: try integer(UInt32.self))))
        case .float8: return .real(Double(bitPattern: try integer(UInt64.self)))
        case .numeric: return try numeric(&buffer, column: cell.columnName)
        case .bool: return .integer(try integer(UInt8.self) == 0 ? 0 : 1)
        case .text, .varchar, .bpchar, .name, .unknown: return .text(String(buffer: buffer))
        case .bytea: return .blob(Data(buffer.readableBytesView))
        case .timestamptz, .timestamp:
            let micros = try integer(Int64.self)
            if micros == .max { return .date(.distantFuture) }
            if micros == .min { return .date(.distantPast) }
            return .date(Date(timeIntervalSinceReferenceDate: Double(micros) / 1_000_000 + postgresEpoch))
        case .uuid:
            return .text(try cell.decode(UUID.self, context: .default).uuidString.lowercased())
        case .jsonb:
            _ = buffer.readInteger(as: UInt8.self)  // the format version
            return .text(String(buffer: buffer))
        case .date:
            let day = Date(timeIntervalSinceReferenceDate: Double(try integer(Int32.self)) * 86_400 + postgresEpoch)
            let parts = Calendar.utc.dateComponents([.year, .month, .day], from: day)
            return .text(String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0))
        default:
            // Most other types (json, xml, enums, char) are text in binary form too; the
            // rest are shown as bytes, PostgreSQL's way.
            let bytes = Array(buffer.readableBytesView)
            if let text = String(bytes: bytes, encoding: .utf8), !text.contains("\0") { return .text(text) }
            return .text("\\x" + bytes.map { String(format: "%02x", $0) }.joined())
        }
    }

    /// numeric: .integer when the value is whole and fits, else .real. Its binary form is
    /// base-10000 digits, most significant first, the first one worth 10000^weight.
    static func numeric(_ buffer: inout ByteBuffer, column: String) throws -> SQLValue {
        guard let digitCount = buffer.readInteger(as: Int16.self), let weight = buffer.readInteger(as: Int16.self),
            let sign = buffer.readInteger(as: UInt16.self), buffer.readInteger(as: Int16.self) != nil,
            digitCount >= 0, buffer.readableBytes == Int(digitCount) * 2
        else {
            throw MetadataStoreError.type("column \(column): malformed numeric")
        }
        switch sign {
        case 0xC000: return .real(.nan)
        case 0xD000: return .real(.infinity)
        case 0xF000: return .real(-.infinity)
        default: break
        }
        let negative = sign == 0x4000
        var digits: [Int64] = []
        for _ in 0..<digitCount { digits.append(Int64(buffer.readInteger(as: Int16.self) ?? 0)) }
        // Trailing zero digits are never sent, so the value is whole when no digit lies past the point.
        if digits.count <= Int(weight) + 1 || digits.isEmpty {
            var whole: Int64 = 0
            var fits = true
            for index in 0...max(Int(weight), digits.count - 1) where fits {
                let digit = index < digits.count ? digits[index] : 0
                let (shifted, over1) = whole.multipliedReportingOverflow(by: 10_000)
                let (next, over2) = shifted.addingReportingOverflow(negative ? -digit : digit)
                fits = !over1 && !over2
                whole = next
            }
            if digits.isEmpty { return .integer(0) }
            if fits { return .integer(whole) }
        }
        let mantissa = digits.map { String(repeating: "0", count: 4 - String($0).count) + String($0) }.joined()
        return .real(Double("\(negative ? "-" : "")0.\(mantissa)e\(4 * (Int(weight) + 1))") ?? .nan)
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
