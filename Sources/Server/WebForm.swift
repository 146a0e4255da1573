import Foundation
import Hummingbird
import MultipartKit
import NIOCore

/// A submitted HTML form, URL-encoded or multipart: its text fields and its files.
/// Every page that takes a form reads it through here, so one CSRF check sees them all.
struct WebForm: Sendable {
    struct File: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    var fields: [String: String] = [:]
    var files: [String: [File]] = [:]

    subscript(field: String) -> String? {
        fields[field].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// A text field that must be given, or a 400 naming it.
    func required(_ field: String, label: String? = nil) throws -> String {
        guard let value = self[field], !value.isEmpty else {
            throw APIError(.badRequest, .invalid, "fill in \(label ?? field.replacingOccurrences(of: "_", with: " "))")
        }
        return value
    }

    /// A field of an API form that must be given, or a 400 naming it as the API does.
    func needed(_ field: String) throws -> String {
        guard let value = self[field], !value.isEmpty else { throw APIError(.badRequest, .invalid, "the form needs \(field)") }
        return value
    }

    /// A whole-number field, nil when not given, or a 400 naming it.
    func integer(_ field: String) throws -> Int? {
        guard let text = self[field], !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw APIError(.badRequest, .invalid, "\(field) is '\(text.prefix(40))', not a whole number") }
        return value
    }

    /// A yes-or-no field (`true`/`false`, `1`/`0`, or a checkbox's `on`), false when
    /// not given, or a 400 naming it.
    func boolean(_ field: String) throws -> Bool {
        guard let text = self[field]?.lowercased(), !text.isEmpty else { return false }
        switch text {
        case "true", "1", "on", "yes": return true
        case "false", "0", "off", "no": return false
        default: throw APIError(.badRequest, .invalid, "\(field) is '\(text.prefix(40))', not true or false")
        }
    }

    /// Every file of a field that must carry at least one, or a 400 naming it.
    func files(_ field: String, label: String) throws -> [[UInt8]] {
        let given = (files[field] ?? []).map(\.bytes).filter { !$0.isEmpty }
        guard !given.isEmpty else { throw APIError(.badRequest, .invalid, "choose \(label)") }
        return given
    }

    /// The one file of a field that must carry a file, or a 400 naming it.
    func file(_ field: String, label: String) throws -> [UInt8] {
        guard let file = files[field]?.first, !file.bytes.isEmpty else { throw APIError(.badRequest, .invalid, "choose \(label)") }
        return file.bytes
    }

    /// Reads the request's body (at most `limit` bytes) as a form.
    static func read(_ request: Request, limit: Int) async throws -> WebForm {
        let contentType = request.headers[.contentType] ?? ""
        let body = try await LineupServer.body(of: request, limit: limit)
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = parameter("boundary", of: contentType) else {
                throw APIError(.badRequest, .invalid, "the multipart form has no boundary")
            }
            return try multipart(body, boundary: boundary)
        }
        if contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            return WebForm(fields: urlEncoded(String(buffer: body)))
        }
        throw APIError(.unsupportedMediaType, .invalid, "send the form as application/x-www-form-urlencoded or multipart/form-data")
    }

    /// `key=value&…` with `+` for spaces and percent escapes; a repeated key keeps its last value.
    static func urlEncoded(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part) }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// A parameter of a header value such as `multipart/form-data; boundary=…`.
    static func parameter(_ name: String, of header: String) -> String? {
        header.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.lowercased().hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    }

    private static func multipart(_ body: ByteBuffer, boundary: String) throws -> WebForm {
        var form = WebForm()
        var headers: [String: String] = [:]
        var content = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { chunk in content.writeBuffer(&chunk) }
        parser.onPartComplete = {
            defer {
                headers = [:]
                content.clear()
            }
            guard let disposition = headers["content-disposition"], let name = parameter("name", of: disposition) else { return }
            if let filename = parameter("filename", of: disposition) {
                guard !filename.isEmpty || content.readableBytes > 0 else { return }  // a file input left empty
                form.files[name, default: []].append(File(name: filename, bytes: Array(buffer: content)))
            } else {
                form.fields[name] = String(buffer: content)
            }
        }
        do {
            try parser.execute(body)
        } catch {
            throw APIError(.badRequest, .invalid, "the multipart form is malformed")
        }
        return form
    }
}
