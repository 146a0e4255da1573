import Foundation
import Hummingbird
import NIOCore

/// The API's request bodies: JSON with snake_case keys and ISO 8601 times (with or
/// without fractional seconds), read up to the context's body limit, every failure a
/// 400 (or 422 for a well-formed time that does not exist) naming the field.
public struct LineupRequestDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        try Self.decode(type, body: try await LineupServer.body(of: request, limit: context.maxUploadSize))
    }

    /// A body already read.
    public static func decode<T: Decodable>(_ type: T.Type, body: ByteBuffer) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let plain = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
                let field = decoder.codingPath.map { LineupServer.snakeCase($0.stringValue) }.joined(separator: ".")
                // Written as a time but no such time (month 13): the request is well formed.
                if text.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T"#, options: .regularExpression) != nil {
                    throw APIError(.unprocessableContent, .invalid, "\(field) \(text) is no such time")
                }
                throw APIError(.badRequest, .invalid, "\(field) is not an ISO 8601 time such as 2027-01-31T12:00:00Z")
            }
            return date
        }
        do {
            return try decoder.decode(type, from: Data(buffer: body))
        } catch let error as APIError {
            throw error
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError(.badRequest, .invalid, "the JSON body needs the field '\(LineupServer.snakeCase(key.stringValue))'")
        } catch DecodingError.typeMismatch(_, let context) {
            let field = context.codingPath.map { LineupServer.snakeCase($0.stringValue) }.joined(separator: ".")
            throw APIError(.badRequest, .invalid, "the field '\(field)' has the wrong type")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map { LineupServer.snakeCase($0.stringValue) }.joined(separator: ".")
            throw APIError(.badRequest, .invalid, "the field '\(field)' has a value this route does not accept")
        } catch {
            throw APIError(.badRequest, .invalid, "the body is not JSON")
        }
    }
}

/// The API's answers: JSON with snake_case keys, ISO 8601 times and sorted keys,
/// never cached (answers carry personal data: candidates, accounts, audit entries).
public struct LineupResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try Self.response(value)
    }

    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
    }
}
