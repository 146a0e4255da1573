/// What WARC records and the HTTP messages inside them share: named fields, one
/// `Name: value` a line, ended by a blank line.
enum MessageHeaders {
    /// Where `needle` first starts in `bytes`, counted from its first byte, looking no
    /// further than `limit` bytes in.
    static func find(_ needle: [UInt8], in bytes: ArraySlice<UInt8>, limit: Int = .max) -> Int? {
        let end = min(bytes.count, limit) - needle.count
        guard end >= 0 else { return nil }
        let base = bytes.startIndex
        var index = 0
        while index <= end {
            if bytes[base + index] == needle[0], bytes[(base + index)..<(base + index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }

    /// The blank line (CRLF CRLF) that ends the fields.
    static let end: [UInt8] = [13, 10, 13, 10]

    /// The `Name: value` lines, names and values trimmed; lines without a colon skipped.
    static func fields<Lines: Sequence>(_ lines: Lines) -> [(name: String, value: String)] where Lines.Element == String {
        lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            )
        }
    }
}
