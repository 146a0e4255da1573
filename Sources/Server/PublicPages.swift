/// The form of an opt-out or an access request; after a refusal it says what was
/// wrong and keeps the contact address typed.
struct PublicRequestPage: PageModel {
    var heading: String
    var explanation: String
    /// Where the form is sent.
    var action: String
    var error: String?
    var contact: String?

    init(_ kind: LineupServer.PublicRequest) {
        heading = kind.heading
        explanation = kind.explanation
        action = "/" + kind.rawValue
    }
}

/// A request received, with the reference to follow it by.
struct RequestSentPage: PageModel {
    var heading: String
    var reference: String
    var optOut: Bool
}

/// Where a request stands: the look-up form alone, the request's status, or why the
/// reference was not found.
struct RequestStatusPage: PageModel {
    var reference: String?
    var status: String?
    var error: String?
}
