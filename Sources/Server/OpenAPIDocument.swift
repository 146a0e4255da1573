import Foundation
import Governance

/// The OpenAPI 3.1 document of the API, made from `Endpoint.catalogue`.
enum OpenAPIDocument {
    static func json() throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for endpoint in Endpoint.catalogue {
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = operation(endpoint)
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Lineup",
                "version": "1.0.0",
                "description": "Accountable face search. Results are candidates for human review, never identifications. "
                    + "Every act is written to a hash-chained audit log.",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "An API token (lineup token issue)"]],
                "schemas": [
                    "Error": [
                        "type": "object",
                        "required": ["error"],
                        "properties": [
                            "error": [
                                "type": "object",
                                "required": ["code", "message"],
                                "properties": [
                                    "code": ["type": "string", "description": "Stable, for programs: \(APIError.Code.allCases.map(\.rawValue).joined(separator: ", "))"],
                                    "message": ["type": "string", "description": "For people"],
                                ],
                            ],
                        ],
                    ],
                ],
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    private static func operation(_ endpoint: Endpoint) -> [String: Any] {
        var operation: [String: Any] = [
            "summary": endpoint.summary,
            "operationId": operationID(endpoint),
        ]
        switch endpoint.access {
        case .public:
            operation["security"] = [[String: Any]]()
        case .anyAccount:
            operation["security"] = [["bearer": [String]()]]
            operation["x-roles"] = ["any"]
        case .roles(let roles):
            operation["security"] = [["bearer": [String]()]]
            operation["x-roles"] = roles.map(\.rawValue)
        }
        let captures = endpoint.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
        if !captures.isEmpty {
            operation["parameters"] = captures.map { ["name": $0, "in": "path", "required": true, "schema": ["type": "string"]] }
        }
        switch endpoint.body {
        case .none:
            break
        case .json:
            operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": schema(endpoint.fields, photo: false)]]]
        case .multipart:
            operation["requestBody"] = ["required": true, "content": ["multipart/form-data": ["schema": schema(endpoint.fields, photo: true)]]]
        }
        var responses: [String: Any] = [
            "200": ["description": "Done", "content": ["application/json": ["schema": ["type": "object"]]]],
            "400": errorResponse("The request is malformed or a field is missing"),
            "422": errorResponse("The request is well formed but cannot be done (no face found, unknown name)"),
        ]
        if endpoint.access != .public {
            responses["401"] = errorResponse("No valid token")
            responses["403"] = errorResponse("The account may not do this, or a policy rule refuses it")
        }
        if endpoint.body == .multipart { responses["413"] = errorResponse("The upload is larger than the server accepts") }
        if endpoint.path.hasSuffix("/search") { responses["429"] = errorResponse("Daily search limit reached") }
        operation["responses"] = responses
        return operation
    }

    private static func schema(_ fields: [String], photo: Bool) -> [String: Any] {
        var properties: [String: Any] = [:]
        for field in fields {
            properties[field] = field == "photo" && photo ? ["type": "string", "contentMediaType": "image/*"] : [:]
        }
        return ["type": "object", "required": fields, "properties": properties]
    }

    private static func errorResponse(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
    }

    private static func operationID(_ endpoint: Endpoint) -> String {
        let words = endpoint.path.dropFirst(APIVersion.prefix.count).split(whereSeparator: { "/-{}.".contains($0) })
        return endpoint.method.rawValue.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
