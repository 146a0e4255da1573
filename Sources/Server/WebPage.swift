import Governance
import Hummingbird

/// One page (or form target) of the web interface: method, path and who may open
/// it. Like the API's `Endpoint.catalogue`, the list is what the router serves and
/// what the tests walk, role by role.
public struct WebPage: Sendable {
    public var method: HTTPRequest.Method
    public var path: String
    public var access: Endpoint.Access
    public var summary: String

    init(_ method: HTTPRequest.Method, _ path: String, _ access: Endpoint.Access, _ summary: String) {
        self.method = method
        self.path = path
        self.access = access
        self.summary = summary
    }

    /// Every page the server serves.
    public static let catalogue: [WebPage] = [
        WebPage(.get, "/", .public, "Home: where each role starts"),
        WebPage(.get, "/login", .public, "Sign in with an API token"),
        WebPage(.post, "/login", .public, "Start a session"),
        WebPage(.post, "/logout", .anyAccount, "End the session"),
        WebPage(.get, "/static/{file}", .public, "Style sheet and script"),
        // Investigators
        WebPage(.get, "/search", .roles([.investigator]), "Search form: photo, faces found, justification"),
        WebPage(.post, "/search", .roles([.investigator]), "Candidates for human review"),
        WebPage(.get, "/searches", .roles([.investigator]), "Your own past searches, newest first"),
        WebPage(.get, "/searches/{entry}", .roles([.investigator]), "One of your past searches: its candidates again"),
        WebPage(
            .get, "/searches/{entry}/candidates/{face}", .roles([.investigator]),
            "One candidate: the probe beside it, the whole picture, its provenance and review state"),
        WebPage(.post, "/searches/{entry}/candidates/{face}/propose", .roles([.investigator]), "Propose a candidate as a possible match"),
        // Verifiers and cases
        WebPage(.get, "/verify", .roles([.verifier]), "The proposals awaiting your verification"),
        WebPage(.get, "/verify/{review}", .roles([.verifier]), "A proposal: the probe beside the candidate, to confirm or reject"),
        WebPage(.post, "/verify/{review}", .roles([.verifier]), "Confirm or reject a proposal"),
        WebPage(.get, "/cases/{number}/log", .roles([.supervisor, .auditor, .admin]), "A case's log of use (JSON download)"),
        WebPage(.get, "/model-card", .public, "The model card: models, licences, measured accuracy, bands"),
        WebPage(.get, "/transparency", .public, "The annual transparency report, when the operator publishes it"),
        // Sources and ingest
        WebPage(.get, "/sources", .anyAccount, "Sources, registration and uploads"),
        WebPage(.post, "/sources", .roles([.admin]), "Register a source"),
        WebPage(.post, "/sources/{name}/uploads", .roles([.admin]), "Upload photos, a zip or a video to a source"),
        WebPage(.get, "/ingests/{job}", .roles([.admin]), "An upload's ingest: live progress and per-file errors"),
        // Supervision and audit
        WebPage(.get, "/accounts", .roles([.admin, .supervisor]), "Accounts, pending approvals"),
        WebPage(.post, "/accounts/{name}/approve", .roles([.supervisor]), "Approve a pending account"),
        WebPage(.post, "/accounts/{name}/suspend", .roles([.admin, .supervisor]), "Suspend an account"),
        WebPage(.get, "/audit", .roles([.auditor, .admin]), "Audit log browser and chain verification"),
        WebPage(.get, "/policy", .roles([.admin, .supervisor, .auditor]), "Policy rules, editor and dry run"),
        WebPage(.post, "/policy/rules", .roles([.admin]), "Add or replace a rule"),
        WebPage(.post, "/policy/rules/{name}/delete", .roles([.admin]), "Remove a rule"),
        WebPage(.post, "/policy/default", .roles([.admin]), "Set the default: allow or deny"),
        WebPage(.post, "/policy/test", .roles([.admin, .supervisor, .auditor]), "Dry run"),
        // Privacy office
        WebPage(.get, "/privacy", .roles([.privacyOfficer]), "Opt-outs and access requests to review"),
        WebPage(.post, "/privacy/opt-outs/{reference}/{decision}", .roles([.privacyOfficer]), "Confirm, reject or erase an opt-out"),
        WebPage(.get, "/privacy/access/{reference}", .roles([.privacyOfficer]), "Review an access request side by side"),
        WebPage(.post, "/privacy/access/{reference}/decide", .roles([.privacyOfficer]), "Confirm or reject a candidate"),
        WebPage(.post, "/privacy/access/{reference}/report", .roles([.privacyOfficer]), "Release the report"),
        WebPage(.post, "/privacy/access/{reference}/erase", .roles([.privacyOfficer]), "Erase the confirmed faces"),
        WebPage(.get, "/privacy/receipts/{reference}", .roles([.privacyOfficer, .admin]), "An erasure receipt (JSON download)"),
        // The public, without an account
        WebPage(.get, "/opt-out", .public, "Opt out with one photo"),
        WebPage(.post, "/opt-out", .public, "Send an opt-out"),
        WebPage(.get, "/access-request", .public, "Ask what is held about you, with one photo"),
        WebPage(.post, "/access-request", .public, "Send an access request"),
        WebPage(.get, "/requests", .public, "Where a request stands, by its reference"),
    ]
}
