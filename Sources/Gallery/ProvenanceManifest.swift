import Foundation
import Store

/// Where the photos of a folder or upload source were published, from the archive's own
/// export beside them: a CSV file with a header row, or JSON Lines, one object a line,
/// with the columns (keys) `file` (the photo's path from the source root; required),
/// `page_url`, `image_url`, `title`, `captured_at` (ISO 8601, with a zone or `Z`, or a
/// date) and `credit` (photographer or licence).
///
/// Every bad row is a problem naming its line: a missing or outside file, a URL that is
/// not absolute http(s), a bad date, a field too long or holding control characters,
/// a file named twice, an unknown column. Good rows are kept; nothing is dropped
/// without a problem saying so.
public struct ProvenanceManifest: Sendable, Equatable {
    /// The file names a manifest at a source root has, for an ingest to find it unnamed.
    public static let defaultNames = ["lineup-manifest.csv", "lineup-manifest.jsonl"]
    public static let columns = ["file", "page_url", "image_url", "title", "captured_at", "credit"]
    static let maxURL = 2048, maxTitle = 500, maxCredit = 200, maxBytes = 64 << 20

    public struct Entry: Sendable, Equatable {
        public var pageURL: String?
        public var imageURL: String?
        public var title: String?
        public var capturedAt: Date?
        public var credit: String?

        /// The place of publication the row gives; nil for a row that gives none.
        public var publication: Publication? {
            guard pageURL != nil || imageURL != nil || title != nil || capturedAt != nil || credit != nil else { return nil }
            return Publication(
                pageURL: pageURL, pageTitle: title, imageURL: imageURL, capturedAt: capturedAt, credit: credit, recordedFrom: .manifest)
        }
    }

    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The line of the manifest (1 is the first; a CSV's header is line 1).
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The entries by the file's path relative to the source root.
    public var entries: [String: Entry]
    public var problems: [Problem]

    /// Reads the manifest at `path` for a source rooted at `root`; CSV unless the name
    /// ends in `.jsonl` or `.ndjson`.
    public init(contentsOf path: String, root: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard (attributes[.size] as? Int ?? 0) <= Self.maxBytes else {
            throw StoreError.invalid("the manifest \(path) is larger than \(Self.maxBytes >> 20) MiB")
        }
        guard let text = String(data: try Data(contentsOf: URL(fileURLWithPath: path)), encoding: .utf8) else {
            throw StoreError.invalid("the manifest \(path) is not UTF-8 text")
        }
        let lower = path.lowercased()
        self.init(text: text, jsonLines: lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson"), root: root)
    }

    public init(text: String, jsonLines: Bool, root: String) {
        entries = [:]
        problems = []
        let rows = jsonLines ? Self.jsonRows(text, problems: &problems) : Self.csvRows(text, problems: &problems)
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        for (line, fields) in rows {
            switch Self.entry(fields, root: rootURL) {
            case .success(let (file, entry)):
                if entries[file] != nil {
                    problems.append(Problem(line: line, message: "\(file) is named by an earlier row too"))
                } else {
                    entries[file] = entry
                }
            case .failure(let refusal):
                problems.append(Problem(line: line, message: refusal.message))
            }
        }
        problems.sort { $0.line < $1.line }
    }

    struct Refusal: Error { let message: String }

    /// One row checked: the file it names and its entry, or what is wrong.
    static func entry(_ fields: [String: String], root: URL) -> Result<(String, Entry), Refusal> {
        func text(_ key: String, limit: Int) throws(Refusal) -> String? {
            guard let value = fields[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            guard value.count <= limit else { throw Refusal(message: "\(key) is longer than \(limit) characters") }
            guard !value.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
                throw Refusal(message: "\(key) holds a control character")
            }
            return value
        }
        func url(_ key: String) throws(Refusal) -> String? {
            guard let value = try text(key, limit: maxURL) else { return nil }
            guard let parsed = URL(string: value), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                parsed.host?.isEmpty == false
            else { throw Refusal(message: "\(key) '\(value)' is not an absolute http or https URL") }
            return value
        }
        do throws(Refusal) {
            if let unknown = fields.keys.sorted().first(where: { !columns.contains($0) }) {
                throw Refusal(message: "unknown column '\(unknown)' (the columns are \(columns.joined(separator: ", ")))")
            }
            guard let file = try text("file", limit: 4096) else { throw Refusal(message: "the row names no file") }
            let resolved = root.appendingPathComponent(file).standardizedFileURL
            guard !file.hasPrefix("/"), resolved.path.hasPrefix(root.path.hasSuffix("/") ? root.path : root.path + "/") else {
                throw Refusal(message: "\(file) is not inside the source's root")
            }
            guard FileManager.default.fileExists(atPath: resolved.path) else { throw Refusal(message: "no file \(file) under the source's root") }
            var capturedAt: Date?
            if let date = try text("captured_at", limit: 64) {
                guard let parsed = parseDate(date) else {
                    throw Refusal(message: "captured_at '\(date)' is not an ISO 8601 date or time with a zone (2024-05-01 or 2024-05-01T09:30:00Z)")
                }
                capturedAt = parsed
            }
            let relative = String(resolved.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            return .success(
                (
                    relative,
                    Entry(
                        pageURL: try url("page_url"), imageURL: try url("image_url"), title: try text("title", limit: maxTitle),
                        capturedAt: capturedAt, credit: try text("credit", limit: maxCredit))
                ))
        } catch {
            return .failure(error)
        }
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// RFC 4180: a header row, fields separated by commas, quoted with doubled quotes
    /// inside, lines ending in CRLF or LF; a byte-order mark ignored.
    static func csvRows(_ text: String, problems: inout [Problem]) -> [(Int, [String: String])] {
        var records: [(line: Int, fields: [String])] = []
        var field = "", fields: [String] = [], quoted = false, line = 1, recordLine = 1, sawField = false
        var scalars = text.unicodeScalars[...]
        if scalars.first == "\u{feff}" { scalars = scalars.dropFirst() }
        var iterator = scalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRecord() {
            fields.append(field)
            if sawField || fields.count > 1 || !field.isEmpty { records.append((recordLine, fields)) }
            field = ""
            fields = []
            sawField = false
        }
        while let s = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if s == "\"" {
                    let next = iterator.next()
                    if next == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    if s == "\n" { line += 1 }
                    field.unicodeScalars.append(s)
                }
                continue
            }
            switch s {
            case "\"" where field.isEmpty:
                quoted = true
                sawField = true
            case ",":
                fields.append(field)
                field = ""
                sawField = true
            case "\r":
                continue
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(s)
            }
        }
        if quoted { problems.append(Problem(line: recordLine, message: "a quoted field is not closed before the end of the file")) }
        endRecord()
        guard let header = records.first else { return [] }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return records.dropFirst().compactMap { record in
            guard record.fields.count == names.count else {
                problems.append(Problem(line: record.line, message: "\(record.fields.count) fields where the header has \(names.count)"))
                return nil
            }
            return (record.line, Dictionary(zip(names, record.fields), uniquingKeysWith: { first, _ in first }))
        }
    }

    /// One JSON object a line, string values; blank lines skipped.
    static func jsonRows(_ text: String, problems: inout [Problem]) -> [(Int, [String: String])] {
        var rows: [(Int, [String: String])] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                problems.append(Problem(line: index + 1, message: "not a JSON object"))
                continue
            }
            var fields: [String: String] = [:]
            var bad: String?
            for (key, value) in object {
                if let text = value as? String {
                    fields[key] = text
                } else if !(value is NSNull) {
                    bad = key
                }
            }
            if let bad {
                problems.append(Problem(line: index + 1, message: "\(bad) is not a string"))
                continue
            }
            rows.append((index + 1, fields))
        }
        return rows
    }
}
