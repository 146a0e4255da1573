import Governance
import Hummingbird
import Store

/// One route of the API as it is documented: method, path, who may call it, what it
/// takes and what it answers. The OpenAPI document is made from this catalogue, and
/// tests compare the catalogue with the routes the router really serves, with the
/// roles the Governance layer really enforces and (schemathesis, against a running
/// server) with what the server really accepts and answers, so they cannot drift apart.
public struct Endpoint: Sendable {
    public enum Access: Sendable, Equatable {
        /// Anyone, without a token: health, the document, the public request forms.
        case `public`
        /// Any signed-in account.
        case anyAccount
        /// Accounts holding one of these roles.
        case roles([Role])
    }

    public enum Body: Sendable {
        case none
        /// A JSON object with these fields (snake_case keys), and what it must satisfy
        /// beyond them. `required: false`: the route also takes no body at all
        /// (`Content-Length: 0`).
        case json([Field], required: Bool = true, constraints: [Constraint] = [])
        /// A multipart form with these fields.
        case multipart([Field])
    }

    public var method: HTTPRequest.Method
    public var path: String
    public var access: Access
    public var body: Body
    /// Path parameters (named in `path` as `{name}`) and query parameters.
    public var parameters: [Field]
    /// The status of a successful answer: 200, 201 for what the call creates, 202 for
    /// work that goes on in the background.
    public var success: HTTPResponse.Status
    /// What a successful answer holds.
    public var answer: Schema
    /// Operations that take a value of a successful answer in their path.
    public var links: [Link]
    /// Whether the body names records that may not exist (an organisation, a source):
    /// 404 then, as for an unknown name in the path.
    public var namesRecords: Bool
    public var summary: String

    init(
        _ method: HTTPRequest.Method, _ path: String, _ access: Access, parameters: [Field] = [], body: Body = .none,
        namesRecords: Bool = false, success: HTTPResponse.Status = .ok, answer: Schema, links: [Link] = [], _ summary: String
    ) {
        self.method = method
        self.path = APIVersion.prefix + path
        self.access = access
        self.parameters = parameters
        self.body = body
        self.namesRecords = namesRecords
        self.success = success
        self.answer = answer
        self.links = links
        self.summary = summary
    }

    /// The fields of the body, JSON or multipart.
    public var fields: [Field] {
        switch body {
        case .none: []
        case .json(let fields, _, _), .multipart(let fields): fields
        }
    }

    /// The names of the path's `{captures}`, in order.
    public var pathParameters: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }
}

extension Endpoint {
    /// Another operation that takes a value of this one's answer as a path parameter:
    /// the created source's name to ingest it, an upload's job id to follow it.
    public struct Link: Sendable {
        public var method: HTTPRequest.Method
        /// The operation's path, as in the catalogue.
        public var path: String
        public var parameter: String
        /// Where the value is in the answer (a JSON pointer: `/reference`).
        public var pointer: String

        init(_ method: HTTPRequest.Method, _ path: String, _ parameter: String, from pointer: String) {
            self.method = method
            self.path = APIVersion.prefix + path
            self.parameter = parameter
            self.pointer = pointer
        }
    }

    /// A named field of a body, or a path or query parameter, and what it holds.
    public struct Field: Sendable {
        public var name: String
        public var schema: Schema
        public var required: Bool
        public var description: String?

        public init(_ name: String, _ schema: Schema, required: Bool = true, _ description: String? = nil) {
            self.name = name
            self.schema = schema
            self.required = required
            self.description = description
        }

        /// The same field, optional.
        static func optional(_ name: String, _ schema: Schema, _ description: String? = nil) -> Field {
            Field(name, schema, required: false, description)
        }
    }

    /// What a JSON body must satisfy beyond its fields' own schemas.
    public enum Constraint: Sendable {
        /// Exactly one of these optional fields is given.
        case exactlyOne([String])
        /// A policy rule whose effect is exclude has the actions [search] and names the
        /// sources it leaves out (source_jurisdictions, or other_organisations_sources true).
        case excludeRuleNamesSources
    }

    /// What a field or an answer holds, in the terms of JSON Schema.
    public indirect enum Schema: Sendable {
        /// Text the server checks with this rule: its length, no control characters, and
        /// for names no invisible characters, no spaces at either end and one script.
        case text(TextRule)
        /// A string matching `pattern` (ECMA-262), at most `maxLength` characters.
        case pattern(String, maxLength: Int, example: String)
        /// One of these words.
        case choice([String])
        case string(format: String? = nil)
        case integer(minimum: Int? = nil, maximum: Int? = nil)
        case number
        case boolean
        /// A file's bytes (in a multipart form).
        case file
        case array(Schema, minItems: Int = 0, maxItems: Int? = nil)
        /// An object with these properties, and what it must satisfy beyond them; more
        /// properties may come (answers grow).
        case object([Field], constraints: [Constraint] = [])
        /// An object mapping any key to this.
        case map(Schema)
        /// A named schema of the document's components.
        case named(String)
        /// Anything: an answer this document does not describe further.
        case any

        static func words<Words: CaseIterable & RawRepresentable>(_ type: Words.Type) -> Schema where Words.RawValue == String {
            .choice(type.allCases.map(\.rawValue))
        }

        /// An ISO 3166-1 alpha-2 or ISO 3166-2 code, `GB` or `US-IL`.
        static let jurisdiction = Schema.pattern("^[A-Z]{2}(-[A-Z0-9]{1,3})?$", maxLength: TextRule.code.maxLength, example: "GB")
        /// A policy rule's name: letters, digits, `-` and `_`.
        static let ruleName = Schema.pattern("^[A-Za-z0-9_-]+$", maxLength: TextRule.ruleName.maxLength, example: "illinois-moratorium")
        /// Every case of an enum that is not `CaseIterable`. `exhaustive` switches over
        /// every case, so a case added to the enum does not compile until it is listed.
        static func listed<Words: RawRepresentable>(_ cases: [Words], exhaustive: (Words) -> Void) -> Schema
        where Words.RawValue == String {
            cases.forEach(exhaustive)
            return .choice(cases.map(\.rawValue))
        }

        static let effect = words(PolicyRule.Effect.self)
        static let reviewStatus = listed([ReviewStatus.pending, .confirmed, .rejected, .released]) {
            switch $0 {
            case .pending, .confirmed, .rejected, .released: ()
            }
        }
        static let accountStatus = listed([Account.Status.pending, .active, .suspended, .expired]) {
            switch $0 {
            case .pending, .active, .suspended, .expired: ()
            }
        }
        static let day = Schema.string(format: "date")
        static let time = Schema.string(format: "date-time")
        static let id = Schema.integer()
    }
}

enum APIVersion {
    static let prefix = "/api/v1"
}

extension Endpoint {
    private static let justification = [
        Field("case_number", .text(.caseNumber), "The case the search is for"),
        Field("purpose", .text(.purpose), "Why the search is made"),
        Field("legal_basis", .text(.legalBasis), "The law that allows it (free text, e.g. PACE 1984 s.64A)"),
    ]
    private static let photo = Field("photo", .file, "One photo (JPEG, PNG, …)")
    private static let contact = Field("contact", .text(.contact), "How to reach the person (an e-mail address)")
    private static let accountName = Field("name", .text(.accountName), "The account's name")
    private static let sourceName = Field("name", .text(.sourceName), "The source's name")
    private static let ruleName = Field("name", Schema.ruleName, "The rule's name")
    private static let reference = Field("reference", .text(.reference), "The request's reference, as its receipt gave it")
    private static let reason = Field("reason", .text(.reason), "Why; recorded in the audit log")

    /// Every route the server serves.
    public static let catalogue = generalCatalogue + caseCatalogue

    /// The routes of searches, sources, accounts, policy, people's rights and the audit log.
    static let generalCatalogue: [Endpoint] = [
        Endpoint(.get, "/health", .public, answer: .named("Health"), "Liveness and the gallery's size"),
        Endpoint(.get, "/openapi.json", .public, answer: .object([Field("openapi", .string())]), "This document"),
        Endpoint(
            .post, "/search", .roles([.investigator]),
            body: .multipart(
                [
                    Field(
                        "photo", .array(.file, minItems: 1, maxItems: Governance.maxProbePhotos),
                        "One to ten photos of the same person (JPEG, PNG, …), one part each; several are searched as one fused probe")
                ]
                    + justification + [
                        .optional(
                            "top", .integer(minimum: 1, maximum: 1000),
                            "How many candidates to look at, 1 to 1000 (default 10); only the credible ones are returned unless below_threshold"),
                        .optional(
                            "face", .integer(minimum: 1),
                            "Which face of the photo, numbered from 1 as /detect numbers them (default: the most prominent); only with one photo"),
                        .optional(
                            "below_threshold", .boolean,
                            "true: also return the candidates below the credible band (the audit log records that you asked)"),
                    ]), answer: .named("JustifiedSearch"),
            "Search with a photo: candidates for human review, with provenance; logged with its justification"),
        Endpoint(
            .post, "/detect", .roles([.investigator]), body: .multipart([photo]), answer: .named("Detection"),
            "The faces found in a photo (boxes, scores, quality), to choose which one to search with; searches nothing"),
        Endpoint(
            .get, "/sources", .anyAccount, answer: .object([Field("sources", .array(.named("Source")))]),
            "The registered sources"),
        Endpoint(
            .post, "/sources", .roles([.admin]),
            body: .json([
                sourceName,
                Field("root", .text(.path), "A folder on the server holding the source's files"),
                .optional("kind", .words(Source.Kind.self), "Default folder"),
                Field("legal_basis", .words(Source.LegalBasis.self), "The GDPR Art. 6(1) lawful basis"),
                Field(
                    "special_category_condition", .words(Source.SpecialCategoryCondition.self),
                    "The GDPR Art. 9(2) condition for processing biometric data"),
                Field("jurisdiction", Schema.jurisdiction, "Where the material was collected"),
                Field("retention_days", .integer(minimum: 1), "How long its faces are kept"),
                .optional("licence", .text(.licence), "The licence, contract or consent record that covers the material"),
                Field(
                    "collection", .words(Source.CollectionMethod.self),
                    "How the photos were collected; untargeted scraping from the internet or CCTV is prohibited "
                        + "(EU AI Act Art. 5(1)(e)) and is not one"),
            ]), success: .created, answer: .named("Source"),
            links: [
                Link(.post, "/sources/{name}/ingest", "name", from: "/name"),
                Link(.post, "/sources/{name}/uploads", "name", from: "/name"),
            ],
            "Register a source for your organisation"),
        Endpoint(
            .post, "/sources/{name}/ingest", .roles([.admin]), parameters: [sourceName],
            body: .json(
                [.optional("paths", .array(.text(.path)), "Files or folders inside the source's root (default: all of it)")],
                required: false),
            answer: .named("IngestSummary"), "Ingest the source's files (all, or the paths given)"),
        Endpoint(
            .post, "/sources/{name}/uploads", .roles([.admin]), parameters: [sourceName],
            body: .multipart([Field("files", .array(.file, minItems: 1), "Photos, videos or zip archives of them")]),
            success: .accepted, answer: .named("IngestJob"), links: [Link(.get, "/ingest-jobs/{id}", "id", from: "/id")],
            "Upload photos, zip archives or videos into the source and ingest them in the background; answers with the job"),
        Endpoint(
            .get, "/ingest-jobs/{id}", .roles([.admin]),
            parameters: [
                Field(
                    "id", .pattern("^[0-9a-f]{32}$", maxLength: 32, example: "3f9a2c1b00000000000000000000000a"),
                    "The job's id, as the upload answered it")
            ],
            answer: .named("IngestJob"), "An upload's ingest: progress, faces, per-file errors"),
        Endpoint(
            .get, "/organisations", .anyAccount, answer: .object([Field("organisations", .array(.named("Organisation")))]),
            "The organisations"),
        Endpoint(
            .post, "/organisations", .roles([.admin]),
            body: .json([
                Field("name", .text(.organisationName), "The organisation's name"),
                Field("type", .words(OrganisationType.self), "What kind of body it is; policy rules speak of types"),
                Field("jurisdiction", Schema.jurisdiction, "Where it is based"),
                .optional("searches_per_day", .integer(minimum: 0), "Searches the whole organisation may run per UTC day"),
            ]), success: .created, answer: .named("Organisation"), "Add an organisation"),
        Endpoint(
            .get, "/accounts", .roles([.admin, .supervisor]), answer: .object([Field("accounts", .array(.named("Account")))]),
            "The accounts"),
        Endpoint(
            .post, "/accounts", .roles([.admin, .supervisor]),
            body: .json([
                accountName,
                Field("organisation", .text(.organisationName), "The organisation's name"),
                Field("roles", .array(.words(Role.self), minItems: 1), "What the account may do"),
                .optional("expires_at", Schema.time, "When the account stops working"),
                .optional("searches_per_day", .integer(minimum: 0), "Searches the account may run per UTC day"),
            ]), namesRecords: true, success: .created,
            answer: .object([Field("account", .named("Account")), Field("token", .named("IssuedToken"))]),
            links: [
                Link(.post, "/accounts/{name}/approve", "name", from: "/account/name"),
                Link(.post, "/accounts/{name}/suspend", "name", from: "/account/name"),
            ],
            "Add an account; its first token is in the answer"),
        Endpoint(
            .post, "/accounts/{name}/approve", .roles([.supervisor]), parameters: [accountName], answer: .named("Account"),
            "Approve a pending account of your organisation"),
        Endpoint(
            .post, "/accounts/{name}/suspend", .roles([.admin, .supervisor]), parameters: [accountName], body: .json([reason]),
            answer: .object([Field("suspended", .string())]), "Suspend an account"),
        Endpoint(
            .post, "/tokens", .anyAccount,
            body: .json([
                .optional("label", .text(.tokenLabel), "What the token is for (default api)"),
                .optional("days", .integer(minimum: 1, maximum: 366), "How long it lives (default \(Governance.defaultTokenDays))"),
            ]), success: .created, answer: .named("IssuedToken"), links: [Link(.delete, "/tokens/{id}", "id", from: "/id")],
            "Issue a token for your own account (shown once)"),
        Endpoint(
            .delete, "/tokens/{id}", .anyAccount, parameters: [Field("id", Schema.id, "The token's id, as its issue answered it")],
            answer: .object([Field("revoked", .integer())]), "Revoke one of your tokens"),
        Endpoint(
            .get, "/policy", .roles([.admin, .supervisor, .auditor]),
            answer: .object([Field("default_effect", Schema.effect), Field("rules", .array(.named("PolicyRule")))]),
            "The policy rules and default"),
        Endpoint(
            .put, "/policy/rules/{name}", .roles([.admin]), parameters: [ruleName],
            body: .json(policyRuleFields, constraints: [.excludeRuleNamesSources]), answer: .named("PolicyRule"),
            links: [Link(.delete, "/policy/rules/{name}", "name", from: "/name")], "Add or replace a rule (its name is the path's)"),
        Endpoint(
            .delete, "/policy/rules/{name}", .roles([.admin]), parameters: [ruleName],
            answer: .object([Field("removed", .string())]), "Remove a rule"),
        Endpoint(
            .post, "/policy/test", .roles([.admin, .supervisor, .auditor]),
            body: .json([
                Field("action", .words(PolicyRule.Action.self), "The act to decide"),
                Field("organisation", .text(.organisationName), "The organisation acting"),
                .optional("source", .text(.sourceName), "For ingest: the source ingested"),
                .optional("date", Schema.day, "The day to decide for (default today)"),
                .optional(
                    "rule", .object([Field("name", Schema.ruleName)] + policyRuleFields, constraints: [.excludeRuleNamesSources]),
                    "A rule to try as if it were added"),
            ]), namesRecords: true, answer: .named("PolicyDecision"), "Dry run: what the policy would decide"),
        Endpoint(
            .post, "/opt-outs", .public, body: .multipart([photo, contact]), success: .created, answer: .named("RequestReceipt"),
            links: [
                Link(.get, "/requests/{reference}", "reference", from: "/reference"),
                Link(.post, "/opt-outs/{reference}/confirm", "reference", from: "/reference"),
                Link(.post, "/opt-outs/{reference}/reject", "reference", from: "/reference"),
                Link(.post, "/opt-outs/{reference}/erase", "reference", from: "/reference"),
            ],
            "Opt out with one photo: withheld from every search and never ingested again"),
        Endpoint(
            .get, "/opt-outs", .roles([.privacyOfficer]),
            answer: .object([
                Field(
                    "opt_outs",
                    .array(
                        .object([
                            Field("reference", .string()), Field("status", Schema.reviewStatus), Field("contact", .string()),
                            Field("faces", .array(Schema.id)),
                        ])))
            ]), "The opt-outs and the faces each withholds"),
        Endpoint(
            .post, "/opt-outs/{reference}/confirm", .roles([.privacyOfficer]), parameters: [reference],
            answer: .named("RequestStatus"), "Confirm an opt-out"),
        Endpoint(
            .post, "/opt-outs/{reference}/reject", .roles([.privacyOfficer]), parameters: [reference],
            answer: .named("RequestStatus"), "Reject an abusive opt-out"),
        Endpoint(
            .post, "/opt-outs/{reference}/erase", .roles([.privacyOfficer]), parameters: [reference],
            answer: .named("ErasureReceipt"), "Erase the faces an opt-out matched"),
        Endpoint(
            .get, "/requests/{reference}", .public, parameters: [reference], answer: .named("RequestStatus"),
            "Where an opt-out or access request stands"),
        Endpoint(
            .post, "/access-requests", .public, body: .multipart([photo, contact]), success: .created,
            answer: .named("RequestReceipt"),
            links: [
                Link(.get, "/requests/{reference}", "reference", from: "/reference"),
                Link(.get, "/access-requests/{reference}", "reference", from: "/reference"),
                Link(.post, "/access-requests/{reference}/report", "reference", from: "/reference"),
                Link(.post, "/access-requests/{reference}/erase", "reference", from: "/reference"),
            ],
            "Ask with one photo what Lineup holds of you"),
        Endpoint(
            .get, "/access-requests/{reference}", .roles([.privacyOfficer]), parameters: [reference],
            answer: .object([
                .optional("requester_photo", .string(format: "byte"), "The requester's photo, base64, until the report is released"),
                Field("candidates", .array(.named("AccessCandidate"))),
            ]), "The candidates of a request, for review"),
        Endpoint(
            .post, "/access-requests/{reference}/decisions", .roles([.privacyOfficer]), parameters: [reference],
            body: .json([
                Field("face_id", Schema.id, "The candidate's face"),
                Field("confirm", .boolean, "true: it is the requester; false: a lookalike"),
            ]), answer: .object([Field("face_id", Schema.id)]), "Confirm or reject one candidate"),
        Endpoint(
            .post, "/access-requests/{reference}/report", .roles([.privacyOfficer]), parameters: [reference],
            answer: .named("AccessReport"), "Release the report of confirmed faces (refused while any is undecided)"),
        Endpoint(
            .post, "/access-requests/{reference}/erase", .roles([.privacyOfficer]), parameters: [reference],
            answer: .named("ErasureReceipt"), "Erase the confirmed faces"),
        Endpoint(
            .post, "/erasures", .roles([.privacyOfficer, .admin]),
            body: .json(
                [
                    .optional("faces", .array(Schema.id, minItems: 1), "These faces"),
                    .optional("image", Schema.id, "This picture and its faces"),
                    .optional("source", .text(.sourceName), "This source and everything from it"),
                    .optional("jurisdiction", Schema.jurisdiction, "Every source collected there"),
                    reason,
                ], constraints: [.exactlyOne(["faces", "image", "source", "jurisdiction"])]),
            namesRecords: true, success: .created, answer: .named("ErasureReceipt"),
            "Erase faces, a picture, a source or a jurisdiction (exactly one); answers with the receipt"),
        Endpoint(
            .post, "/retention/run", .roles([.admin, .privacyOfficer]),
            answer: .object([Field("receipts", .array(.named("ErasureReceipt")))]), "Erase what retention periods no longer cover"),
        Endpoint(.get, "/audit/verify", .roles([.auditor, .admin]), answer: .named("AuditVerification"), "Check the audit chain"),
        Endpoint(
            .get, "/audit/entries", .roles([.auditor, .admin]),
            parameters: [.optional("since", Schema.day, "Only entries from this day on (UTC)")],
            answer: .object([Field("entries", .array(.named("AuditEntry")))]), "The audit entries, oldest first"),
        Endpoint(
            .post, "/keys/rotate", .roles([.admin]),
            answer: .object([Field("key_id", .string()), Field("resealed", .string(), "How many templates were re-sealed")]),
            "Re-seal every template with a new key"),
    ]

    /// A policy rule's fields as a body gives them (the name comes from the path).
    static let policyRuleFields: [Field] = [
        Field(
            "effect", Schema.effect,
            "deny refuses the act; allow permits it when the default is deny; exclude lets a search go on without "
                + "the faces of the sources it names (then actions is [search] and source_jurisdictions or "
                + "other_organisations_sources is given); require-authorisation lets a case's searches go on only "
                + "within its authorisation (EU AI Act Art. 26(10); actions is [search])"),
        Field("actions", .array(.words(PolicyRule.Action.self), minItems: 1), "The acts the rule speaks of"),
        .optional("description", .text(.ruleText), "For people"),
        .optional("organisation_types", .array(.words(OrganisationType.self)), "The rule applies to organisations of these types"),
        .optional("organisation_jurisdictions", .array(Schema.jurisdiction), "… based in these jurisdictions (US covers US-IL)"),
        .optional("except_organisation_jurisdictions", .array(Schema.jurisdiction), "… based outside these"),
        .optional(
            "source_jurisdictions", .array(Schema.jurisdiction),
            "Ingest: the source's jurisdiction; exclude: the sources whose faces are left out"),
        .optional("other_organisations_sources", .boolean, "Exclude: leave out every source another organisation owns"),
        .optional("from", Schema.day, "In force from this day (inclusive, UTC)"),
        .optional("until", Schema.day, "In force until this day (exclusive, UTC)"),
    ]
}
