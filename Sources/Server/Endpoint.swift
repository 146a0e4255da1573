import Governance
import Hummingbird

/// One route of the API as it is documented: method, path, who may call it and
/// what it takes. The OpenAPI document is made from this catalogue, and a test
/// compares the catalogue with the routes the router really serves and with the
/// roles the Governance layer really enforces, so the three cannot drift apart.
public struct Endpoint: Sendable {
    public enum Access: Sendable, Equatable {
        /// Anyone, without a token: health, the document, the public request forms.
        case `public`
        /// Any signed-in account.
        case anyAccount
        /// Accounts holding one of these roles.
        case roles([Role])
    }

    public enum Body: String, Sendable {
        case none, json
        case multipart = "multipart/form-data"
    }

    public var method: HTTPRequest.Method
    public var path: String
    public var access: Access
    public var body: Body
    public var summary: String
    /// Multipart or JSON fields the request must carry.
    public var fields: [String]

    init(_ method: HTTPRequest.Method, _ path: String, _ access: Access, body: Body = .none, fields: [String] = [],
         _ summary: String) {
        self.method = method
        self.path = APIVersion.prefix + path
        self.access = access
        self.body = body
        self.fields = fields
        self.summary = summary
    }
}

enum APIVersion {
    static let prefix = "/api/v1"
}

extension Endpoint {
    /// Every route the server serves.
    public static let catalogue: [Endpoint] = [
        Endpoint(.get, "/health", .public, "Liveness and the gallery's size"),
        Endpoint(.get, "/openapi.json", .public, "This document"),
        Endpoint(.post, "/search", .roles([.investigator]), body: .multipart,
                 fields: ["photo", "case_number", "purpose", "legal_basis"],
                 "Search with a photo: candidates for human review, with provenance; logged with its justification"),
        Endpoint(.post, "/detect", .roles([.investigator]), body: .multipart, fields: ["photo"],
                 "The faces found in a photo (boxes, scores, quality), to choose which one to search with; searches nothing"),
        Endpoint(.get, "/sources", .anyAccount, "The registered sources"),
        Endpoint(.post, "/sources", .roles([.admin]), body: .json,
                 fields: ["name", "root", "legal_basis", "special_category_condition", "jurisdiction", "retention_days"],
                 "Register a source for your organisation"),
        Endpoint(.post, "/sources/{name}/ingest", .roles([.admin]), body: .json, "Ingest the source's files (all, or the paths given)"),
        Endpoint(.post, "/sources/{name}/uploads", .roles([.admin]), body: .multipart, fields: ["files"],
                 "Upload photos, zip archives or videos into the source and ingest them in the background; answers with the job"),
        Endpoint(.get, "/ingest-jobs/{id}", .roles([.admin]), "An upload's ingest: progress, faces, per-file errors"),
        Endpoint(.get, "/organisations", .anyAccount, "The organisations"),
        Endpoint(.post, "/organisations", .roles([.admin]), body: .json, fields: ["name", "type", "jurisdiction"], "Add an organisation"),
        Endpoint(.get, "/accounts", .roles([.admin, .supervisor]), "The accounts"),
        Endpoint(.post, "/accounts", .roles([.admin, .supervisor]), body: .json, fields: ["name", "organisation", "roles"],
                 "Add an account; its first token is in the answer"),
        Endpoint(.post, "/accounts/{name}/approve", .roles([.supervisor]), "Approve a pending account of your organisation"),
        Endpoint(.post, "/accounts/{name}/suspend", .roles([.admin, .supervisor]), body: .json, fields: ["reason"], "Suspend an account"),
        Endpoint(.post, "/tokens", .anyAccount, body: .json, "Issue a token for your own account (shown once)"),
        Endpoint(.delete, "/tokens/{id}", .anyAccount, "Revoke one of your tokens"),
        Endpoint(.get, "/policy", .roles([.admin, .supervisor, .auditor]), "The policy rules and default"),
        Endpoint(.put, "/policy/rules/{name}", .roles([.admin]), body: .json, fields: ["effect", "actions"], "Add or replace a rule"),
        Endpoint(.delete, "/policy/rules/{name}", .roles([.admin]), "Remove a rule"),
        Endpoint(.post, "/policy/test", .roles([.admin, .supervisor, .auditor]), body: .json, fields: ["action", "organisation"],
                 "Dry run: what the policy would decide"),
        Endpoint(.post, "/opt-outs", .public, body: .multipart, fields: ["photo", "contact"],
                 "Opt out with one photo: withheld from every search and never ingested again"),
        Endpoint(.get, "/opt-outs", .roles([.privacyOfficer]), "The opt-outs and the faces each withholds"),
        Endpoint(.post, "/opt-outs/{reference}/confirm", .roles([.privacyOfficer]), "Confirm an opt-out"),
        Endpoint(.post, "/opt-outs/{reference}/reject", .roles([.privacyOfficer]), "Reject an abusive opt-out"),
        Endpoint(.post, "/opt-outs/{reference}/erase", .roles([.privacyOfficer]), "Erase the faces an opt-out matched"),
        Endpoint(.get, "/requests/{reference}", .public, "Where an opt-out or access request stands"),
        Endpoint(.post, "/access-requests", .public, body: .multipart, fields: ["photo", "contact"],
                 "Ask with one photo what Lineup holds of you"),
        Endpoint(.get, "/access-requests/{reference}", .roles([.privacyOfficer]), "The candidates of a request, for review"),
        Endpoint(.post, "/access-requests/{reference}/decisions", .roles([.privacyOfficer]), body: .json,
                 fields: ["face_id", "confirm"], "Confirm or reject one candidate"),
        Endpoint(.post, "/access-requests/{reference}/report", .roles([.privacyOfficer]),
                 "Release the report of confirmed faces (refused while any is undecided)"),
        Endpoint(.post, "/access-requests/{reference}/erase", .roles([.privacyOfficer]), "Erase the confirmed faces"),
        Endpoint(.post, "/erasures", .roles([.privacyOfficer, .admin]), body: .json, fields: ["reason"],
                 "Erase faces, a picture, a source or a jurisdiction; answers with the receipt"),
        Endpoint(.post, "/retention/run", .roles([.admin, .privacyOfficer]), "Erase what retention periods no longer cover"),
        Endpoint(.get, "/audit/verify", .roles([.auditor, .admin]), "Check the audit chain"),
        Endpoint(.get, "/audit/entries", .roles([.auditor, .admin]), "The audit entries, oldest first"),
        Endpoint(.post, "/keys/rotate", .roles([.admin]), "Re-seal every template with a new key"),
    ]
}
