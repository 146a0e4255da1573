import Foundation

/// Kinds of organisation the policy rules speak of.
public enum OrganisationType: String, Codable, Sendable, CaseIterable {
    case lawEnforcement = "law-enforcement"
    case government, `private`, ngo, newsroom
}

/// What a role may do. An account holds one or more.
public enum Role: String, Codable, Sendable, CaseIterable {
    case investigator, supervisor, auditor
    case privacyOfficer = "privacy-officer"
    case admin
    /// Qualified to verify another investigator's proposed match (EU AI Act Art. 14(5)):
    /// granted by an admin, never taken by oneself.
    case verifier
}

/// An account's roles, in the order given. Kept in one text column as the role
/// names joined by commas (`investigator,supervisor`), which is also how JSON shows them.
public struct RoleList: Codable, Sendable, Equatable, CustomStringConvertible {
    public var roles: [Role]

    public init(_ roles: [Role]) { self.roles = roles }

    public func contains(_ role: Role) -> Bool { roles.contains(role) }

    public var description: String { roles.map(\.rawValue).joined(separator: ",") }

    /// The role names for people to read: `investigator, supervisor`.
    public var listed: String { roles.map(\.rawValue).joined(separator: ", ") }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        roles = try text.split(separator: ",").map { name in
            guard let role = Role(rawValue: String(name)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no role named '\(name)'"))
            }
            return role
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A body that uses Lineup: a police force, a ministry, a newsroom. Who may search
/// what depends on its type and home jurisdiction (see the policy rules).
public struct Organisation: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var name: String
    public var type: OrganisationType
    /// ISO 3166 code of where the organisation is based: `GB`, `US-IL`.
    public var jurisdiction: String
    /// Searches the whole organisation may run per UTC day.
    public var searchesPerDay: Int
    public var createdAt: Date

    public static let tableName = "organisation"

    public init(name: String, type: OrganisationType, jurisdiction: String, searchesPerDay: Int, createdAt: Date = Date()) {
        self.name = name
        self.type = type
        self.jurisdiction = jurisdiction
        self.searchesPerDay = searchesPerDay
        self.createdAt = createdAt
    }

}

/// A person's account in one organisation. Accounts that may search start pending
/// and act only once a supervisor of the same organisation approves them.
public struct Account: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var organisationID: Int64
    public var name: String
    public var roles: RoleList
    public var status: Status
    /// Searches this account may run per UTC day.
    public var searchesPerDay: Int
    public var expiresAt: Date?
    public var createdAt: Date
    public var createdBy: String
    public var approvedBy: String?
    public var approvedAt: Date?

    public static let tableName = "account"

    public enum Status: String, Codable, Sendable {
        case pending, active, suspended
        /// Never stored: how a listing shows an active account whose expiry has passed.
        case expired
    }

    public init(
        organisationID: Int64, name: String, roles: [Role], status: Status, searchesPerDay: Int,
        expiresAt: Date?, createdAt: Date = Date(), createdBy: String
    ) {
        self.organisationID = organisationID
        self.name = name
        self.roles = RoleList(roles)
        self.status = status
        self.searchesPerDay = searchesPerDay
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

}

/// An API token. Only its SHA-256 is stored; the token itself is shown once.
public struct AccessToken: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var accountID: Int64
    public var sha256: Data
    public var label: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    /// A web interface session's token: it can neither issue tokens nor start a session.
    public var isSession: Bool = false

    public static let tableName = "accessToken"

    public init(accountID: Int64, sha256: Data, label: String, createdAt: Date = Date(), expiresAt: Date, isSession: Bool = false) {
        self.accountID = accountID
        self.sha256 = sha256
        self.label = label
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.isSession = isSession
    }

}

/// One entry of the append-only audit log, chained to the one before by its hash.
public struct AuditEntry: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var recordedAt: Date
    /// Account name, or `public` for requests made without an account.
    public var actor: String
    public var organisation: String?
    public var action: String
    public var target: String
    public var caseNumber: String?
    public var purpose: String?
    public var legalBasis: String?
    /// Action-specific facts as sorted-key JSON (faces returned, counts, rule names).
    public var details: String
    public var previousHash: Data
    public var hash: Data

    public static let tableName = "auditEntry"

    public init(
        recordedAt: Date, actor: String, organisation: String?, action: String, target: String,
        caseNumber: String? = nil, purpose: String? = nil, legalBasis: String? = nil, details: String = "{}"
    ) {
        self.recordedAt = recordedAt
        self.actor = actor
        self.organisation = organisation
        self.action = action
        self.target = target
        self.caseNumber = caseNumber
        self.purpose = purpose
        self.legalBasis = legalBasis
        self.details = details
        previousHash = Data()
        hash = Data()
    }

}

/// A policy rule as stored: its name, whether it is on, and its JSON body, which
/// the Governance module reads and evaluates.
public struct PolicyRuleRecord: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var name: String
    public var body: String
    public var createdAt: Date
    public var createdBy: String

    public static let tableName = "policyRule"

    public init(name: String, body: String, createdAt: Date = Date(), createdBy: String) {
        self.name = name
        self.body = body
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

}

/// What a search kept of its probe: the photo's hash, the sealed template, and the
/// sealed photo itself only while the configured keeping time lasts. The face searched
/// with, cut from the photo and sealed (`crop`), stays while its case is open, so the
/// second person who verifies a candidate sees the probe beside it; closing the case
/// drops it, and a rejected authorisation erases the whole record.
public struct ProbeRecord: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var photoSHA256: Data
    public var template: Data
    public var photo: Data?
    public var keyID: String
    public var photoKeptUntil: Date?
    public var createdAt: Date
    /// The case the search was made for (nil: a search older than cases).
    public var caseID: Int64?
    /// The probe face, JPEG, sealed.
    public var crop: Data?

    public static let tableName = "probe"

    public init(
        photoSHA256: Data, template: Data, photo: Data?, keyID: String, photoKeptUntil: Date?, createdAt: Date = Date(),
        caseID: Int64? = nil, crop: Data? = nil
    ) {
        self.photoSHA256 = photoSHA256
        self.template = template
        self.photo = photo
        self.keyID = keyID
        self.photoKeptUntil = photoKeptUntil
        self.createdAt = createdAt
        self.caseID = caseID
        self.crop = crop
    }

}

/// A person's opt-out: their sealed template and a way to reach them; never the photo.
public struct Suppression: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    /// Unguessable reference the requester uses to follow the request.
    public var reference: String
    public var template: Data
    public var keyID: String
    public var contact: String
    public var status: ReviewStatus
    public var createdAt: Date
    public var reviewedBy: String?
    public var reviewedAt: Date?

    public static let tableName = "suppression"

    public init(reference: String, template: Data, keyID: String, contact: String, createdAt: Date = Date()) {
        self.reference = reference
        self.template = template
        self.keyID = keyID
        self.contact = contact
        status = .pending
        self.createdAt = createdAt
    }

}

public enum ReviewStatus: String, Codable, Sendable {
    case pending, confirmed, rejected, released
}

/// A person's request to see what Lineup holds of them.
public struct AccessRequest: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var reference: String
    public var contact: String
    public var template: Data
    /// The requester's photo, sealed, kept for the reviewer's side-by-side check
    /// until the report is released, then erased.
    public var photo: Data?
    public var keyID: String
    public var status: ReviewStatus
    public var createdAt: Date
    public var releasedBy: String?
    public var releasedAt: Date?

    public static let tableName = "accessRequest"

    public init(reference: String, contact: String, template: Data, photo: Data?, keyID: String, createdAt: Date = Date()) {
        self.reference = reference
        self.contact = contact
        self.template = template
        self.photo = photo
        self.keyID = keyID
        status = .pending
        self.createdAt = createdAt
    }

}

/// A stored face that may be the requester's, and a privacy officer's decision on it.
public struct AccessCandidate: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var requestID: Int64
    public var faceID: Int64
    public var score: Float
    public var decision: ReviewStatus
    public var decidedBy: String?
    public var decidedAt: Date?

    public static let tableName = "accessCandidate"

    public init(requestID: Int64, faceID: Int64, score: Float) {
        self.requestID = requestID
        self.faceID = faceID
        self.score = score
        decision = .pending
    }

}

/// Proof of an erasure: what went, how much, when, by whom and why, with a hash
/// over all of it that the person or an auditor can quote.
public struct ErasureReceipt: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var reference: String
    /// person, face, image, source, jurisdiction or retention.
    public var scope: String
    public var target: String
    public var faces: Int
    public var images: Int
    public var files: Int
    public var sources: Int
    public var reason: String
    public var erasedAt: Date
    public var erasedBy: String
    public var sha256: String
    /// When the erased templates left the index's files: the snapshot rewritten
    /// without them, or the shared index's segments compacted. Nil until then; set
    /// after the receipt is issued, so not covered by `sha256`.
    public var indexPurgedAt: Date?

    public static let tableName = "erasureReceipt"

    public init(
        reference: String, scope: String, target: String, faces: Int, images: Int, files: Int, sources: Int,
        reason: String, erasedAt: Date, erasedBy: String
    ) {
        self.reference = reference
        self.scope = scope
        self.target = target
        self.faces = faces
        self.images = images
        self.files = files
        self.sources = sources
        self.reason = reason
        self.erasedAt = erasedAt
        self.erasedBy = erasedBy
        sha256 = ""
    }

}
