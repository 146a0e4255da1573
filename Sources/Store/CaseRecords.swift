import Foundation

/// One case of one organisation: the unit of use the EU AI Act's logs speak of (Art.
/// 12(3)). A use runs from the case's first search to its closing. Every search names
/// its case; the first search with a number the organisation has not used opens it.
///
/// A case whose organisation's jurisdiction asks for it (policy rule effect
/// `require-authorisation`) needs an authorisation by a judicial or binding
/// administrative authority (Art. 26(10)): requested before the first search or within
/// 48 hours of it, or the case marked as the initial identification of a potential
/// suspect, with the facts that justify it written down.
public struct InvestigationCase: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var organisationID: Int64
    /// The organisation's case number, as searches state it.
    public var number: String
    public var openedAt: Date
    public var openedBy: String
    public var firstSearchAt: Date?
    public var closedAt: Date?
    public var closedBy: String?
    /// The objective and verifiable facts, directly linked to the offence, that make
    /// this an initial identification of a potential suspect (no authorisation needed).
    public var initialIdentificationFacts: String?
    public var initialIdentificationBy: String?

    public static let tableName = "investigationCase"

    public init(organisationID: Int64, number: String, openedAt: Date, openedBy: String) {
        self.organisationID = organisationID
        self.number = number
        self.openedAt = openedAt
        self.openedBy = openedBy
    }

    /// The organisation's case with this number, nil when it has none.
    public static func numbered(_ number: String, organisation: Int64, in db: any MetadataTransaction) throws -> Self? {
        try db.fetchOne(Self.self, "WHERE organisationID = ? AND number = ?", [.integer(organisation), .text(number)])
    }
}

/// An authorisation of a case's searches, from its request to the authority's decision.
public struct CaseAuthorisation: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var caseID: Int64
    public var status: Status
    /// Who decides: a court, or an administrative authority whose decision binds.
    public var authorityKind: AuthorityKind
    public var authority: String
    /// The authority's reference for the request or decision.
    public var reference: String
    /// What the authorisation covers: the person sought, the offence, the period.
    public var scope: String
    public var requestedAt: Date
    public var requestedBy: String
    /// The day the authority decided (YYYY-MM-DD, as its decision states it).
    public var decidedOn: String?
    public var decidedAt: Date?
    public var decidedBy: String?
    /// For a rejection: the receipt of what it erased.
    public var erasureReceipt: String?

    public static let tableName = "caseAuthorisation"

    public enum Status: String, Codable, Sendable, CaseIterable {
        case requested, granted, rejected
    }

    public enum AuthorityKind: String, Codable, Sendable, CaseIterable {
        case judicial
        case administrative
    }

    public init(
        caseID: Int64, authorityKind: AuthorityKind, authority: String, reference: String, scope: String,
        requestedAt: Date, requestedBy: String
    ) {
        self.caseID = caseID
        status = .requested
        self.authorityKind = authorityKind
        self.authority = authority
        self.reference = reference
        self.scope = scope
        self.requestedAt = requestedAt
        self.requestedBy = requestedBy
    }
}

/// A candidate of a search put forward for action, and the second person's
/// independent verification (EU AI Act Art. 14(5)): only a candidate the proposer and a
/// verifier both confirmed is a verified lead; a rejection stays on record beside the
/// proposal.
public struct CandidateReview: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var caseID: Int64
    /// The audit entry of the search that returned the face.
    public var searchEntryID: Int64
    /// A stored face's id; kept as a number, since the face may be erased after.
    public var faceID: Int64
    public var score: Float
    public var proposedBy: String
    public var proposedAt: Date
    /// Why the investigator thinks it a possible match; hidden from the verifier until they decide.
    public var proposalReason: String
    public var verifiedBy: String?
    public var verifiedAt: Date?
    public var verification: Verification?
    public var verificationReason: String?

    public static let tableName = "candidateReview"

    public enum Verification: String, Codable, Sendable, CaseIterable {
        case confirmed, rejected
    }

    /// Where the review stands.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Proposed as a possible match, awaiting a verifier.
        case possibleMatch = "possible-match"
        /// Confirmed by the proposer and by a verifier: the only state that can be acted on.
        case verifiedLead = "verified-lead"
        /// The verifier disagreed: on record, never exported.
        case disputed
    }

    public var state: State {
        switch verification {
        case nil: .possibleMatch
        case .confirmed: .verifiedLead
        case .rejected: .disputed
        }
    }

    public init(
        caseID: Int64, searchEntryID: Int64, faceID: Int64, score: Float, proposedBy: String, proposedAt: Date,
        proposalReason: String
    ) {
        self.caseID = caseID
        self.searchEntryID = searchEntryID
        self.faceID = faceID
        self.score = score
        self.proposedBy = proposedBy
        self.proposedAt = proposedAt
        self.proposalReason = proposalReason
    }
}
