import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import Store

/// The OpenAPI 3.1 document of the API, made from `Endpoint.catalogue`.
enum OpenAPIDocument {
    typealias Schema = Endpoint.Schema
    typealias Field = Endpoint.Field

    static func json() throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for endpoint in Endpoint.catalogue {
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = operation(endpoint)
        }
        var schemas = models.mapValues { render($0) }
        schemas["Error"] = errorSchema
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Lineup",
                "version": "1.0.0",
                "description": "Accountable face search. Results are candidates for human review, never identifications. "
                    + "Every act is written to a hash-chained audit log.\n\n"
                    + "Text fields refuse control characters, and take at most the length given (in characters); names "
                    + "(of accounts, organisations, sources and rules) are normalised to NFC and also refuse invisible "
                    + "and formatting characters, spaces at either end and letters mixed from the Latin, Greek and "
                    + "Cyrillic scripts. A refused field is a 400 with the code invalid, naming the field. A method a "
                    + "path does not serve is a 405 whose Allow header lists those it does.",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "An API token (lineup token issue)"]],
                "schemas": schemas,
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    // MARK: - Operations

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
        let captures = Set(endpoint.pathParameters)
        if !endpoint.parameters.isEmpty {
            operation["parameters"] = endpoint.parameters.map { field -> [String: Any] in
                var parameter: [String: Any] = [
                    "name": field.name, "in": captures.contains(field.name) ? "path" : "query",
                    "required": captures.contains(field.name) || field.required,
                    "schema": render(field.schema),
                ]
                if let description = field.description { parameter["description"] = description }
                return parameter
            }
        }
        switch endpoint.body {
        case .none:
            break
        case .json(let fields, let required, let constraints):
            operation["requestBody"] = [
                "required": required,
                "content": ["application/json": ["schema": object(fields, constraints: constraints, json: true)]],
            ]
        case .multipart(let fields):
            operation["requestBody"] = ["required": true, "content": ["multipart/form-data": ["schema": object(fields)]]]
        }
        operation["responses"] = responses(endpoint)
        return operation
    }

    /// Every status the route answers with: its success, and each refusal it can give.
    private static func responses(_ endpoint: Endpoint) -> [String: Any] {
        let hasBody: Bool
        if case .none = endpoint.body { hasBody = false } else { hasBody = true }
        let takesInput = hasBody || !endpoint.parameters.isEmpty
        let isDocument = endpoint.path.hasSuffix("/openapi.json")
        var success: [String: Any] = [
            "description": successDescription(endpoint.success),
            "content": ["application/json": ["schema": render(endpoint.answer)]],
        ]
        if !endpoint.links.isEmpty {
            success["links"] = Dictionary(
                uniqueKeysWithValues: endpoint.links.map { link -> (String, Any) in
                    guard let target = Endpoint.catalogue.first(where: { $0.method == link.method && $0.path == link.path }) else {
                        preconditionFailure("\(endpoint.path) links to \(link.method) \(link.path), which is not in the catalogue")
                    }
                    let id = operationID(target)
                    return (id, ["operationId": id, "parameters": [link.parameter: "$response.body#" + link.pointer]])
                })
        }
        var responses: [String: Any] = [String(endpoint.success.code): success]
        if takesInput {
            responses["400"] = errorResponse(
                "A field or parameter is missing, has the wrong type, or holds text the server refuses "
                    + "(too long, a control character); a search without its justification (unjustified)")
        }
        if endpoint.access != .public {
            responses["401"] = errorResponse("No valid token", authenticate: true)
            responses["403"] = errorResponse("The account may not do this, or a policy rule refuses it")
        }
        if !endpoint.pathParameters.isEmpty || endpoint.namesRecords {
            responses["404"] = errorResponse("No such record (an unknown name, reference or id), or one of another organisation")
        }
        if hasBody { responses["413"] = errorResponse("The request body is larger than the server accepts") }
        if endpoint.method != .get || takesInput {
            responses["422"] = errorResponse(
                "Well formed but cannot be done: no face or an unreadable photo, a folder the server "
                    + "does not have, a name already taken, a step out of turn, a day that does not exist")
        }
        if endpoint.path.hasSuffix("/search") {
            responses["429"] = errorResponse("A daily search limit is reached", retryAfter: true)
        } else if endpoint.access == .public && endpoint.method == .post {
            responses["429"] = errorResponse("Too many requests from your address; try again after Retry-After seconds", retryAfter: true)
        }
        if !isDocument {
            responses["503"] = errorResponse(
                "The request took longer than the server's timeout (code timeout), or the server is "
                    + "answering too many requests of its kind (code busy, with Retry-After)", retryAfter: true)
        }
        return responses
    }

    private static func successDescription(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .created: "Created"
        case .accepted: "Accepted: the work goes on in the background"
        default: "Done"
        }
    }

    private static func errorResponse(_ description: String, authenticate: Bool = false, retryAfter: Bool = false) -> [String: Any] {
        var response: [String: Any] = [
            "description": description,
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
        ]
        var headers: [String: Any] = [:]
        if authenticate {
            headers["WWW-Authenticate"] = ["description": "Bearer", "required": true, "schema": ["type": "string", "const": "Bearer"]]
        }
        if retryAfter {
            headers["Retry-After"] = [
                "description": "Seconds after which trying again may succeed", "required": false,
                "schema": ["type": "string", "pattern": "^[0-9]+$"],
            ]
        }
        if !headers.isEmpty { response["headers"] = headers }
        return response
    }

    private static func operationID(_ endpoint: Endpoint) -> String {
        let words = endpoint.path.dropFirst(APIVersion.prefix.count).split(whereSeparator: { "/-{}.".contains($0) })
        return endpoint.method.rawValue.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    // MARK: - Schemas

    /// The one error shape, with every code the API answers.
    private static var errorSchema: [String: Any] {
        [
            "type": "object",
            "required": ["error"],
            "properties": [
                "error": [
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": [
                        "code": [
                            "type": "string", "enum": APIError.Code.allCases.map(\.rawValue),
                            "description": "Stable, for programs: \(APIError.Code.allCases.map(\.rawValue).joined(separator: ", "))",
                        ],
                        "message": ["type": "string", "description": "For people"],
                    ],
                ]
            ],
        ]
    }

    /// An object of these fields, the required ones required. In a JSON body (`json`)
    /// an optional field may also be null, which the server reads as absent.
    private static func object(_ fields: [Field], constraints: [Endpoint.Constraint] = [], json: Bool = false) -> [String: Any] {
        var properties: [String: Any] = [:]
        for field in fields {
            var property = render(field.schema, json: json)
            if json && !field.required { property = nullable(property) }
            if let description = field.description {
                property["description"] = [property["description"] as? String, description].compactMap { $0 }.joined(separator: ". ")
            }
            properties[field.name] = property
        }
        var object: [String: Any] = ["type": "object", "properties": properties]
        let required = fields.filter(\.required).map(\.name)
        if !required.isEmpty { object["required"] = required }
        for constraint in constraints {
            switch constraint {
            case .exactlyOne(let names):
                // Present and not null: the server reads a null as absent.
                object["oneOf"] = names.map { ["required": [$0], "properties": [$0: ["not": ["type": "null"]]]] }
            case .excludeRuleNamesSources:
                object["if"] = ["required": ["effect"], "properties": ["effect": ["const": PolicyRule.Effect.exclude.rawValue]]]
                object["then"] =
                    [
                        "properties": ["actions": ["const": [PolicyRule.Action.search.rawValue]]],
                        "anyOf": [
                            ["required": ["source_jurisdictions"]],
                            [
                                "required": ["other_organisations_sources"],
                                "properties": ["other_organisations_sources": ["const": true]],
                            ],
                        ],
                    ] as [String: Any]
                // A require-authorisation rule speaks of search only.
                object["allOf"] = [
                    [
                        "if": [
                            "required": ["effect"],
                            "properties": ["effect": ["const": PolicyRule.Effect.requireAuthorisation.rawValue]],
                        ],
                        "then": ["properties": ["actions": ["const": [PolicyRule.Action.search.rawValue]]]],
                    ] as [String: Any]
                ]
            }
        }
        return object
    }

    /// The JSON Schema of `schema`; `json`: inside a JSON request body.
    static func render(_ schema: Schema, json: Bool = false) -> [String: Any] {
        switch schema {
        case .text(let rule):
            return text(rule)
        case .pattern(let pattern, let maxLength, let example):
            return ["type": "string", "pattern": pattern, "maxLength": maxLength, "examples": [example]]
        case .choice(let words):
            return ["type": "string", "enum": words]
        case .string(let format):
            // Formats are annotations in JSON Schema 2020-12; the shape the server reads is also
            // given as a pattern (a well-formed but impossible day, 2026-02-30, is a 422).
            switch format {
            case "date": return ["type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"]
            case "date-time":
                return [
                    "type": "string", "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
                ]
            default: return format.map { ["type": "string", "format": $0] } ?? ["type": "string"]
            }
        case .integer(let minimum, let maximum):
            var integer: [String: Any] = ["type": "integer", "format": "int64"]
            if let minimum { integer["minimum"] = minimum }
            if let maximum { integer["maximum"] = maximum }
            return integer
        case .number:
            return ["type": "number"]
        case .boolean:
            return ["type": "boolean"]
        case .file:
            return ["type": "string", "format": "binary", "contentMediaType": "application/octet-stream"]
        case .array(let items, let minItems, let maxItems):
            var array: [String: Any] = ["type": "array", "items": render(items, json: json)]
            if minItems > 0 { array["minItems"] = minItems }
            if let maxItems { array["maxItems"] = maxItems }
            return array
        case .object(let fields, let constraints):
            return object(fields, constraints: constraints, json: json)
        case .map(let values):
            return ["type": "object", "additionalProperties": render(values)]
        case .named(let name):
            precondition(models[name] != nil, "no schema \(name) in OpenAPIDocument.models")
            return ["$ref": "#/components/schemas/" + name]
        case .any:
            return [:]
        }
    }

    /// The schema, or null.
    private static func nullable(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let type = schema["type"] as? String {
            schema["type"] = [type, "null"]
            if let words = schema["enum"] as? [String] { schema["enum"] = words.map { $0 as Any } + [NSNull()] }
            return schema
        }
        return ["anyOf": [schema, ["type": "null"]]]
    }

    /// Text as a `TextRule` checks it. The pattern states what a JSON Schema can: no
    /// control character (C0, C1, line and paragraph separators); for names, none of
    /// the common invisible characters either (soft hyphen, zero-width characters,
    /// direction marks and overrides, the byte-order mark), and no space at either end; for lines,
    /// at least `minLength` characters that are not spaces. What a pattern cannot
    /// state (unassigned characters, mixed scripts) the description says.
    static func text(_ rule: TextRule) -> [String: Any] {
        let controls = #"\u0000-\u001F\u007F-\u009F\u2028\u2029"#
        let spaces = #"\u0020\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000"#
        let pattern: String
        let description: String
        switch rule.kind {
        case .name:
            let invisible = #"\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF"#
            let inner = "[^" + controls + invisible + "]"
            let edge = "[^" + controls + invisible + #"\u0020"# + "]"
            pattern = "^" + edge + "(" + inner + "*" + edge + ")?$"
            description =
                "A name: normalised to NFC; no control, invisible or formatting characters, no space at either end, "
                + "no letters mixed from the Latin, Greek and Cyrillic scripts"
        case .line:
            let any = "[^" + controls + "]"
            let visible = "[^" + controls + spaces + "]"
            pattern = "^(" + any + "*" + visible + "){\(rule.minLength)}" + any + "*$"
            description = "One line of text: no control characters; at least \(rule.minLength) not counting spaces at either end"
        }
        return [
            "type": "string", "minLength": rule.minLength, "maxLength": rule.maxLength, "pattern": pattern,
            "description": description,
        ]
    }

    // MARK: - What the answers hold

    /// The named schemas of answers (and of a policy rule, which bodies take too). They
    /// list the main properties with their types, and require only what every answer
    /// has; answers may carry more.
    static let models: [String: Schema] = [
        "Health": .object([
            Field("status", .string()), Field("model", .string()), Field("faces", .integer()),
            Field("index", .string()),
        ]),
        "Box": .object([Field("x", .number), Field("y", .number), Field("width", .number), Field("height", .number)]),
        "DetectedFace": .object([
            Field("box", .named("Box")), Field("score", .number), Field("landmarks", .map(.any)),
            Field(
                "quality",
                .object([
                    Field("inter_eye_distance", .number), Field("sharpness", .number), Field("yaw", .number),
                    Field("roll", .number), Field("warnings", .array(.words(QualityWarning.self))),
                ])),
        ]),
        "Detection": .object([
            Field("width", .integer()), Field("height", .integer()), Field("faces", .array(.named("DetectedFace"))),
            .optional("most_prominent", .integer(), "The face a search uses when none is chosen"),
        ]),
        "Candidate": .object([
            Field("rank", .integer()), Field("face_id", .integer()), Field("score", .number),
            .optional("band", .words(ConfidenceBand.self)), Field("box", .named("Box")),
            Field("quality_warnings", .array(.words(QualityWarning.self))), Field("origin_uri", .string()),
            Field("published", .array(.named("Place")), "Where the picture was published (web archive pages, manifest rows)"),
            .optional(
                "archive_record", .object([Field("path", .string()), Field("offset", .integer())]),
                "For a web archive's picture: the archive under the source's root and the offset of its record"),
            .optional("captured_at", Schema.time), Field("ingested_at", Schema.time),
            .optional("frame_seconds", .number), .optional("track_first_seconds", .number), .optional("track_last_seconds", .number),
            Field("source", .string()), .optional("source_root", .string()), Field("legal_basis", .words(Source.LegalBasis.self)),
            Field("special_category_condition", .words(Source.SpecialCategoryCondition.self)), Field("jurisdiction", .string()),
        ]),
        "Place": .object([
            .optional("page_url", .string(), "The page that showed the picture"), .optional("page_title", .string()),
            .optional("image_url", .string(), "The address the picture was served from"),
            .optional("captured_at", Schema.time, "When the archive captured it there"),
            .optional("credit", .string(), "Photographer or licence"),
            Field("recorded_from", .words(Publication.RecordedFrom.self)),
        ]),
        "JustifiedSearch": .object([
            Field(
                "result",
                .object([
                    Field("model_id", .string()), Field("gallery_faces", .integer()), Field("probe_face", .named("DetectedFace")),
                    Field("faces_in_probe", .integer()), Field("warnings", .array(.string())),
                    Field("candidates", .array(.named("Candidate"))), Field("search_milliseconds", .number),
                ])),
            Field("audit_entry", .integer(), "The audit entry that records this search"),
            Field("excluded_sources", .map(.string()), "Sources left out by policy, each with the rule that left it out"),
            Field("opted_out_faces_withheld", .integer(), "Faces of the top asked for withheld because the person opted out"),
            Field(
                "credible_threshold",
                .object([
                    Field("band", .words(ConfidenceBand.self)), Field("score", .number), Field("gallery_faces", .integer()),
                    Field("false_positive_rate", .number),
                ]), "The least band returned unless below_threshold, and its score at this gallery size"),
            Field("below_threshold_shown", .boolean, "Whether the candidates below the threshold were asked for (and logged)"),
            Field("below_threshold_not_shown", .integer(), "Faces of the top asked for that scored below the threshold, not returned"),
            Field(
                "bands",
                .array(
                    .object([
                        Field("band", .words(ConfidenceBand.self)), .optional("least_score", .number), .optional("below_score", .number),
                        Field("meaning", .string()),
                    ])), "Every band with its scores at this gallery size: the legend of the results"),
        ]),
        "Source": .object([
            .optional("id", .integer()), Field("name", .string()), Field("kind", .words(Source.Kind.self)), .optional("root", .string()),
            Field("legal_basis", .words(Source.LegalBasis.self)),
            Field("special_category_condition", .words(Source.SpecialCategoryCondition.self)), Field("jurisdiction", .string()),
            Field("retention_days", .integer()), .optional("licence_reference", .string()), Field("created_at", Schema.time),
            Field("created_by", .string()), .optional("organisation_id", .integer()),
            .optional(
                "collection_method", .words(Source.CollectionMethod.self),
                "How the photos were collected (absent: a source registered before sources stated it; it takes no photos until stated)"),
        ]),
        "IngestSummary": .object([
            Field("run_id", .integer()), Field("source", .string()), Field("files_seen", .integer()), Field("files_ingested", .integer()),
            Field("files_skipped", .integer()),
            .optional("provenance_updated", .integer(), "Files held before whose places of publication changed"),
            Field("faces", .integer()), .optional("faces_withheld", .integer()),
            Field("errors", .array(.object([Field("path", .string()), Field("message", .string())]))),
            .optional("seconds", .number), .optional("faces_per_second", .number), .optional("files_per_second", .number),
        ]),
        "IngestJob": .object([
            Field("id", .string()), Field("source", .string()), Field("started_by", .string()), Field("organisation", .string()),
            Field(
                "state",
                Schema.listed([IngestJobs.Job.State.queued, .running, .finished, .failed]) {
                    switch $0 {
                    case .queued, .running, .finished, .failed: ()
                    }
                }), Field("folder", .string()),
            Field("files_total", .integer()), Field("files_done", .integer()), Field("faces", .integer()), Field("skipped", .integer()),
            Field("error_count", .integer()), Field("errors", .array(.object([Field("path", .string()), Field("message", .string())]))),
            Field("set_aside", .array(.object([Field("path", .string()), Field("reason", .string())]))),
            .optional("summary", .named("IngestSummary")), .optional("failure", .string()), Field("started_at", Schema.time),
            .optional("finished_at", Schema.time),
            Field("links", .object([Field("self", .string()), Field("page", .string()), Field("source", .string())])),
        ]),
        "Organisation": .object([
            .optional("id", .integer()), Field("name", .string()), Field("type", .string()), Field("jurisdiction", .string()),
            Field("searches_per_day", .integer()), Field("created_at", Schema.time),
        ]),
        "Account": .object([
            .optional("id", .integer()), Field("name", .string()),
            Field("roles", .string(), "Role names, comma-separated"), Field("status", Schema.accountStatus),
            Field("searches_per_day", .integer()), .optional("expires_at", Schema.time), Field("created_at", Schema.time),
            Field("created_by", .string()), .optional("approved_by", .string()), .optional("approved_at", Schema.time),
        ]),
        "IssuedToken": .object([
            Field("id", .integer(), "The id to revoke it by"), Field("token", .string(), "Shown once, never stored"),
            Field("account", .string()), Field("expires_at", Schema.time),
        ]),
        // As stored and answered; bodies that give a rule say what it must satisfy.
        "PolicyRule": .object([
            Field("name", .string()), Field("effect", Schema.effect), Field("actions", .array(.words(PolicyRule.Action.self))),
            .optional("description", .string()), .optional("organisation_types", .array(.string())),
            .optional("organisation_jurisdictions", .array(.string())), .optional("except_organisation_jurisdictions", .array(.string())),
            .optional("source_jurisdictions", .array(.string())), .optional("other_organisations_sources", .boolean),
            .optional("from", .string()), .optional("until", .string()),
        ]),
        "PolicyDecision": .object([
            Field("allowed", .boolean), .optional("denied_by", .string()), .optional("reason", .string()),
            Field("allowed_by", .array(.string())), Field("excluded_sources", .map(.string())),
        ]),
        "RequestReceipt": .object([
            Field("reference", .string(), "Keep it to follow the request"),
            Field("status", Schema.reviewStatus),
        ]),
        "RequestStatus": .object([Field("status", Schema.reviewStatus)]),
        "AnnualReport": .object([
            Field("year", .integer()), Field("model_card_url", .string()),
            Field(
                "organisations",
                .array(
                    .object(
                        [Field("organisation", .string()), Field("jurisdiction", .string()), Field("type", .string())]
                            + [
                                "uses", "searches", "searches_refused", "verified_leads", "disputed_candidates",
                                "authorisations_requested", "authorisations_granted", "authorisations_rejected", "erasures",
                            ].map { Field($0, .integer(minimum: 0)) }))),
        ]),
        "ErasureReceipt": .object([
            .optional("id", .integer()), Field("reference", .string()),
            Field("scope", .string(), "person, face, image, source, jurisdiction or retention"), Field("target", .string()),
            Field("faces", .integer()), Field("images", .integer()), Field("files", .integer()), Field("sources", .integer()),
            Field("reason", .string()), Field("erased_at", Schema.time), Field("erased_by", .string()),
            Field("sha256", .string(), "Over all of the receipt: quote it"),
        ]),
        "AccessCandidate": .object([
            Field("face_id", .integer()), Field("score", .number), Field("decision", Schema.reviewStatus),
            .optional("decided_by", .string()), .optional("decided_at", Schema.time),
            .optional("provenance", .named("Candidate"), "Where the face came from; absent once the face was erased"),
        ]),
        "AccessReport": .object([
            Field("reference", .string()), Field("released_by", .string()), Field("released_at", Schema.time),
            Field(
                "faces",
                .array(
                    .object([
                        Field("face_id", .integer()), Field("confirmed_by", .string()), Field("provenance", .named("Candidate")),
                        Field(
                            "searches",
                            .array(
                                .object([
                                    Field("audit_entry", .integer()), Field("at", Schema.time), .optional("organisation", .string()),
                                    .optional("purpose", .string()), .optional("legal_basis", .string()),
                                ]))),
                    ]))),
        ]),
        "AuditVerification": .object([
            Field("entries", .integer()), Field("head_hash", .string(), "The last entry's hash, hex: keep it"),
            .optional("first_bad_entry", .integer()), .optional("problem", .string()),
        ]),
        "AuditEntry": .object([
            Field("id", .integer()), Field("recorded_at", Schema.time), Field("actor", .string()), .optional("organisation", .string()),
            Field("action", .string()), Field("target", .string()), .optional("case_number", .string()),
            .optional("purpose", .string()), .optional("legal_basis", .string()), Field("details", .string()),
            Field("previous_hash", .string()), Field("hash", .string()),
        ]),
    ]
}
