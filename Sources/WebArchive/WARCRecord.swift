import Crypto
import Foundation

/// One WARC record (ISO 28500, WARC 1.0 and 1.1): its named fields and its block.
public struct WARCRecord: Sendable {
    /// The offset in the file of the record (of its gzip member, in a .warc.gz).
    public var offset: Int
    /// "WARC/1.0" or "WARC/1.1".
    public var version: String
    /// The named fields as written, in order.
    public var fields: [(name: String, value: String)]
    /// The record's content: for a `response`, the HTTP response as sent.
    public var block: [UInt8]

    /// The first value of the named field (names compare without case).
    public func field(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var type: String { field("WARC-Type")?.lowercased() ?? "" }
    public var targetURI: String? { field("WARC-Target-URI").map(Self.unbracketed) }
    public var date: Date? { field("WARC-Date").flatMap(Self.parseDate) }
    public var payloadDigest: String? { field("WARC-Payload-Digest") }
    public var refersToTargetURI: String? { field("WARC-Refers-To-Target-URI").map(Self.unbracketed) }
    public var refersToDate: Date? { field("WARC-Refers-To-Date").flatMap(Self.parseDate) }

    /// WARC 1.0 wrote `<uri>`; 1.1 writes the bare URI.
    static func unbracketed(_ value: String) -> String {
        value.hasPrefix("<") && value.hasSuffix(">") ? String(value.dropFirst().dropLast()) : value
    }

    /// W3C-ISO8601 as WARC uses it: seconds, or fractions of them (1.1), in UTC.
    static func parseDate(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// The payload: for an HTTP `response` (or `revisit` with headers) the body, with
    /// chunked transfer coding undone; otherwise the block. Nil when the HTTP message
    /// is malformed.
    public var http: HTTPResponse? {
        guard let type = field("Content-Type")?.lowercased(), type.hasPrefix("application/http") else { return nil }
        return HTTPResponse(parsing: block)
    }

    /// What a digest field says of `bytes`: true or false for an algorithm Lineup
    /// checks (sha1, sha256; base32 or hex), nil for another.
    static func digest(_ field: String, matches bytes: [UInt8]) -> Bool? {
        guard let colon = field.firstIndex(of: ":") else { return nil }
        let algorithm = field[..<colon].lowercased(), encoded = String(field[field.index(after: colon)...])
        let computed: [UInt8]
        switch algorithm {
        case "sha1": computed = Array(Insecure.SHA1.hash(data: bytes))
        case "sha256", "sha-256": computed = Array(SHA256.hash(data: bytes))
        default: return nil
        }
        if let decoded = Base32.decode(encoded), decoded.count == computed.count { return decoded == computed }
        let hex = computed.map { String(format: "%02x", $0) }.joined()
        return encoded.lowercased() == hex
    }
}

/// An HTTP/1.x response as a WARC `response` record holds it.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body as stored (still chunked if it was sent so), which payload digests cover.
    public var storedBody: [UInt8]
    /// The body with chunked transfer coding undone.
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The media type without parameters, lower case: "image/jpeg".
    public var mediaType: String? {
        header("Content-Type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    init?(parsing block: [UInt8]) {
        guard let end = MessageHeaders.find(MessageHeaders.end, in: block[...]) else { return nil }
        let lines = String(decoding: block[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/") else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        self.status = status
        headers = MessageHeaders.fields(lines.dropFirst())
        storedBody = Array(block[(end + 4)...])
        let chunked = headers.contains { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked") }
        guard chunked else {
            body = storedBody
            return
        }
        guard let dechunked = Self.dechunk(storedBody) else { return nil }
        body = dechunked
    }

    /// Undoes chunked transfer coding: hex size, CRLF, data, CRLF, … a zero size.
    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = [], index = 0
        while true {
            guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return nil }
            index = lineEnd + 2
            if size == 0 { return out }
            guard index + size <= bytes.count else { return nil }
            out += bytes[index..<index + size]
            index += size + 2
        }
    }
}

/// RFC 4648 base32, as WARC digests are written.
enum Base32 {
    static func decode(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var bits = 0, value = 0
        var out: [UInt8] = []
        for byte in text.uppercased().utf8 where byte != UInt8(ascii: "=") {
            guard let digit = alphabet.firstIndex(of: byte) else { return nil }
            value = (value << 5) | digit
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((value >> bits) & 0xff))
            }
        }
        return out
    }
}
