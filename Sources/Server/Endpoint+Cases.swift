import Governance
import Hummingbird
import Store

extension Endpoint {
    private static let caseNumber = Field("number", .text(.caseNumber), "The case number, as its searches state it")
    private static let reviewID = Field("id", Schema.id, "The review's number")
    private static let caseStatus = Schema.object([
        Field("number", .string()), Field("organisation", .string()), Field("opened_at", Schema.time), Field("opened_by", .string()),
        .optional("first_search_at", Schema.time), .optional("closed_at", Schema.time), .optional("closed_by", .string()),
        .optional("initial_identification_facts", .string()),
        Field(
            "authorisations",
            .array(
                .object([
                    Field("status", .words(CaseAuthorisation.Status.self)), Field("authority_kind", .words(CaseAuthorisation.AuthorityKind.self)),
                    Field("authority", .string()), Field("reference", .string()), Field("scope", .string()),
                    Field("requested_at", Schema.time), Field("requested_by", .string()), .optional("decided_on", .string()),
                    .optional("erasure_receipt", .string()),
                ]))),
        .optional("authorisation_required_by", .string(), "The policy rule that asks this case for an authorisation"),
        .optional("request_deadline", Schema.time, "When its searches stop without a recorded request"),
        Field("searches_allowed", .boolean), .optional("refusal", .string(), "Why a search would be refused now"),
    ])
    private static let review = Schema.object([
        Field("review", Schema.id), Field("case_number", .string()), Field("search", Schema.id), Field("face_id", Schema.id),
        Field("score", .number), Field("state", .words(CandidateReview.State.self)), Field("proposed_by", .string()),
        Field("proposed_at", Schema.time),
        .optional("proposal_reason", .string(), "Hidden from a verifier until they decide"),
        .optional("verified_by", .string()), .optional("verified_at", Schema.time),
        .optional("verification", .words(CandidateReview.Verification.self)), .optional("verification_reason", .string()),
    ])

    /// The routes of cases, their authorisations and two-person verification, and the
    /// reports (EU AI Act Arts. 12, 13, 14 and 26).
    static let caseCatalogue: [Endpoint] = [
        Endpoint(
            .post, "/cases", .roles([.investigator, .supervisor]), body: .json([caseNumber]), success: .created, answer: caseStatus,
            "Open a case before its first search, so its authorisation can be requested first"),
        Endpoint(
            .get, "/cases/{number}", .anyAccount,
            parameters: [
                caseNumber, .optional("organisation", .text(.organisationName), "Another organisation's (the operator's auditors, admins)"),
            ],
            answer: caseStatus, "Where a case stands: authorisations, deadline, whether it may search"),
        Endpoint(
            .post, "/cases/{number}/close", .roles([.investigator, .supervisor]), parameters: [caseNumber], answer: caseStatus,
            "Close a case: no more searches; the probe faces kept for verification are dropped"),
        Endpoint(
            .post, "/cases/{number}/authorisation", .roles([.investigator, .supervisor]), parameters: [caseNumber],
            body: .json([
                Field("authority_kind", .words(CaseAuthorisation.AuthorityKind.self), "judicial, or a binding administrative authority"),
                Field("authority", .text(.authority), "The authority asked"),
                Field("reference", .text(.reference), "The authority's reference"),
                Field("scope", .text(.scope), "What it is to cover"),
            ]), success: .created, answer: caseStatus,
            "Record the request for an authorisation (before the first search or within 48 hours of it)"),
        Endpoint(
            .post, "/cases/{number}/authorisation/decision", .roles([.supervisor]), parameters: [caseNumber],
            body: .json([
                Field("granted", .boolean, "true: granted; false: rejected, which stops the case and erases its searches' data"),
                Field("decided_on", Schema.day, "The day the authority decided"),
            ]),
            answer: .object([Field("case", caseStatus), .optional("receipt", .named("ErasureReceipt"), "For a rejection")]),
            "Record the authority's decision"),
        Endpoint(
            .post, "/cases/{number}/initial-identification", .roles([.investigator, .supervisor]), parameters: [caseNumber],
            body: .json([Field("facts", .text(.facts), "The objective and verifiable facts, directly linked to the offence")]),
            answer: caseStatus, "Mark a case as the initial identification of a potential suspect (no authorisation needed)"),
        Endpoint(
            .get, "/cases/{number}/reviews", .anyAccount, parameters: [caseNumber],
            answer: .object([Field("reviews", .array(review))]), "A case's reviews in every state"),
        Endpoint(
            .get, "/cases/{number}/leads", .roles([.investigator, .supervisor]), parameters: [caseNumber],
            answer: .object([Field("verified_leads", .array(.object([Field("review", review), .optional("candidate", .named("Candidate"))])))]),
            "Export the case's verified leads: candidates confirmed by two people, the only results that may be acted on"),
        Endpoint(
            .get, "/cases/{number}/log", .roles([.supervisor, .auditor, .admin]),
            parameters: [
                caseNumber, .optional("organisation", .text(.organisationName), "Another organisation's (the operator's auditors, admins)"),
            ],
            answer: .object([
                Field("case", caseStatus), Field("searches", .array(.any)), Field("reviews", .array(review)),
                Field("verifiers", .array(.string())), Field("audit_entries", .array(.any)), Field("model_card", .any),
                .optional("use_started_at", Schema.time), .optional("use_ended_at", Schema.time), Field("use_open", .boolean),
            ]), "The log of the case's use (EU AI Act Art. 12(3)), with the audit entries and chain hashes it rests on"),
        Endpoint(
            .post, "/reviews", .roles([.investigator]),
            body: .json([
                Field("search", Schema.id, "Your search's audit entry"), Field("face", Schema.id, "The candidate's face id"),
                Field("reason", .text(.reason), "Why it is a possible match (hidden from the verifier until they decide)"),
            ]), namesRecords: true, success: .created, answer: review, "Propose a candidate of your search as a possible match"),
        Endpoint(
            .get, "/reviews/queue", .roles([.verifier]), answer: .object([Field("reviews", .array(review))]),
            "The proposals awaiting your verification"),
        Endpoint(
            .get, "/reviews/{id}", .roles([.verifier]), parameters: [reviewID],
            answer: .object([
                Field("review", Schema.id), Field("case_number", .string()), Field("face_id", Schema.id), Field("score", .number),
                .optional("candidate", .named("Candidate")), .optional("probe_face", .string(format: "byte"), "The probe face, JPEG, base64"),
            ]), "A proposal to verify: the probe face beside the candidate, without the proposer's reason"),
        Endpoint(
            .post, "/reviews/{id}/verification", .roles([.verifier]), parameters: [reviewID],
            body: .json([
                Field("confirm", .boolean, "true: it is the person sought; false: it is not"),
                Field("reason", .text(.reason), "Why"),
            ]), answer: review, "Confirm or reject a proposal (never your own proposal or search)"),
        Endpoint(
            .post, "/accounts/{name}/roles", .roles([.admin]), parameters: [Field("name", .text(.accountName), "The account's name")],
            body: .json([Field("role", .words(Role.self), "The role to grant (verifier: may verify others' proposed matches)")]),
            answer: .named("Account"), "Grant a role to an account"),
        Endpoint(
            .post, "/sources/{name}/collection", .roles([.admin]), parameters: [Field("name", .text(.sourceName), "The source's name")],
            body: .json([Field("collection", .words(Source.CollectionMethod.self), "How its photos were collected")]),
            answer: .named("Source"), "State how a source registered before sources stated it collected its photos"),
        Endpoint(
            .get, "/reports/annual", .roles([.auditor, .admin]),
            parameters: [Field("year", .integer(minimum: 2000, maximum: 2200), "The year")],
            answer: .named("AnnualReport"), "The annual report per organisation, in counts only (EU AI Act Art. 26(10))"),
        Endpoint(
            .get, "/model-card", .public, answer: .any,
            "The model card: models, licences, measured accuracy, thresholds, bands, weak conditions (EU AI Act Art. 13)"),
        Endpoint(
            .get, "/transparency", .public, parameters: [Field("year", .integer(minimum: 2000, maximum: 2200), "The year")],
            namesRecords: true, answer: .named("AnnualReport"), "The annual report, when the operator publishes it (404 when it does not)"),
    ]
}
