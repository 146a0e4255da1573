import FaceVision
import Foundation
import Gallery
import Store
import Synchronization

/// The rules of the engine: who may act, on what grounds, within which policy,
/// and the evidence of every act. Every entry point (the command line, the HTTP
/// server) goes through it; nothing that searches, ingests or erases bypasses it.
///
/// It owns no state beyond the gallery's database: accounts, tokens, rules, the
/// audit log, opt-outs, access requests and receipts are records there, so each
/// act and its audit entry commit in one transaction.
public final class Governance: Sendable {
    public let gallery: Gallery
    /// Score calibration for the gallery's model: sets the opt-out and access-request thresholds.
    public let calibration: ScoreCalibration
    /// The present time; tests move it.
    let now: @Sendable () -> Date
    /// The opt-outs in force as searches and ingests use them (see `optOutState()`).
    let optOutCache = Mutex<OptOutState?>(nil)
    /// The operator's organisation id, once known (it never changes).
    let operatorID = Mutex<Int64?>(nil)

    public init(gallery: Gallery, calibration: ScoreCalibration? = nil, now: @escaping @Sendable () -> Date = Date.init) throws {
        guard let calibration = calibration ?? ScoreCalibration.bundled(for: gallery.modelID) else {
            throw GovernanceError.invalid("no score calibration for model \(gallery.modelID): opt-out and access-request thresholds need one")
        }
        self.gallery = gallery
        self.calibration = calibration
        self.now = now
        // An erasure whose keys were shredded but whose rows did not commit is finished
        // before anything else reads the gallery (a database awaiting its restore gets
        // the erasures with the backup's records instead).
        if !gallery.store.awaitsRestore { try replayErasures() }
    }

    var database: any MetadataStore { gallery.store.database }

    /// Days an API token lives unless asked otherwise.
    public static let defaultTokenDays = 90
    /// Searches per UTC day for a new account and for a new organisation.
    public static let defaultAccountSearchesPerDay = 200
    public static let defaultOrganisationSearchesPerDay = 2000

    /// Score from which a stored face is taken for an opted-out person: the
    /// calibrated threshold at a false-match rate of 1 in 1,000, so the person is
    /// found at some cost of hiding a few lookalikes.
    public var optOutThreshold: Float { calibration.threshold(atFalseMatchRate: 1e-3) }

    /// Score from which a stored face is offered to the privacy officer for an
    /// access request: 1 in 100, toward finding everything; a person confirms each.
    public var accessRequestThreshold: Float { calibration.threshold(atFalseMatchRate: 1e-2) }
}

/// An authenticated, active account and its organisation: who is acting.
public struct Principal: Sendable, Equatable {
    public var account: Account
    public var organisation: Organisation
    /// Whether the organisation is the operator's, the one made at bootstrap. Its
    /// admins, auditors and privacy officers act on the whole store; those of every
    /// other organisation reach only their own organisation's data.
    public var isOperator: Bool
    /// The token the request came with, when it came with one.
    public var credential: Credential?

    public init(account: Account, organisation: Organisation, isOperator: Bool = false, credential: Credential? = nil) {
        self.account = account
        self.organisation = organisation
        self.isOperator = isOperator
        self.credential = credential
    }

    public var name: String { account.name }
    public var roles: Set<Role> { Set(account.roles.roles) }

    public func has(_ role: Role) -> Bool { roles.contains(role) }

    /// Whether the principal's roles reach data of this organisation.
    public func reaches(organisation id: Int64?) -> Bool { isOperator || (id != nil && id == organisation.id) }
}

/// The token behind a principal: a web session's token may neither outlive its
/// session through a new token nor start another session.
public struct Credential: Sendable, Equatable {
    public var tokenID: Int64
    public var expiresAt: Date
    public var isSession: Bool
}

/// Why a search is made. Every search states all three; they go into the audit log.
public struct Justification: Sendable, Codable, Equatable {
    public var caseNumber: String
    public var purpose: String
    public var legalBasis: String

    public init(caseNumber: String, purpose: String, legalBasis: String) {
        self.caseNumber = caseNumber
        self.purpose = purpose
        self.legalBasis = legalBasis
    }

    /// Refuses a justification with a control character or past its length (400) —
    /// before anything is logged, since the log would keep it — and then one that
    /// leaves a field empty (`unjustified`).
    func validate() throws(GovernanceError) {
        for (rule, value) in [(TextRule.caseNumber, caseNumber), (.purpose, purpose), (.legalBasis, legalBasis)] {
            _ = try rule.allowingShort.check(value)
        }
        for (field, value) in [("a case number", caseNumber), ("a purpose", purpose), ("a legal basis", legalBasis)]
        where value.trimmingCharacters(in: .whitespacesAndNewlines).count < 2 {
            throw .unjustified("every search must state \(field)")
        }
    }
}

public enum GovernanceError: Error, Equatable, Sendable, CustomStringConvertible {
    case unauthenticated(String)
    case forbidden(String)
    case unjustified(String)
    case deniedByPolicy(rule: String, reason: String)
    case rateLimited(String)
    case invalid(String)
    /// Input refused before anything was read or written: a control character, a
    /// field too long or empty (HTTP 400).
    case badInput(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .unauthenticated(let message): "not signed in: \(message)"
        case .forbidden(let message): "not allowed: \(message)"
        case .unjustified(let message): "refused: \(message)"
        case .deniedByPolicy(let rule, let reason): "refused by policy rule '\(rule)': \(reason)"
        case .rateLimited(let message): "refused: \(message)"
        case .invalid(let message): message
        case .badInput(let message): message
        case .notFound(let message): message
        }
    }
}

extension Governance {
    /// Refuses unless the principal holds one of `roles`. The account and its
    /// organisation are re-read, so a suspension, expiry or new limit takes effect at
    /// once, even for a principal in hand.
    @discardableResult
    func require(_ principal: Principal, _ roles: Role..., for action: String) throws -> Principal {
        try require(principal, roles: roles, for: action)
    }

    func require(_ principal: Principal, roles: [Role], for action: String) throws -> Principal {
        let found = try database.read { db -> (Account, Organisation)? in
            guard let account = try db.fetchOne(Account.self, id: principal.account.id),
                let organisation = try db.fetchOne(Organisation.self, id: account.organisationID)
            else { return nil }
            return (account, organisation)
        }
        guard let (current, organisation) = found else { throw GovernanceError.unauthenticated("the account no longer exists") }
        let fresh = Principal(
            account: current, organisation: organisation, isOperator: try isOperator(organisation),
            credential: principal.credential)
        try checkUsable(current)
        guard roles.contains(where: fresh.has) else {
            throw GovernanceError.forbidden(
                "\(action) needs the role \(roles.map(\.rawValue).joined(separator: " or ")); "
                    + "\(current.name) has \(current.roles.listed)")
        }
        return fresh
    }

    /// `require`, for acts on the whole store (organisations, policy, keys, people's
    /// rights, retention): only the operator's organisation holds them.
    @discardableResult
    func requireOperator(_ principal: Principal, _ roles: Role..., for action: String) throws -> Principal {
        let fresh = try require(principal, roles: roles, for: action)
        guard fresh.isOperator else {
            throw GovernanceError.forbidden(
                "\(action) is for the operator's organisation; the roles of "
                    + "\(fresh.organisation.name) reach only its own data")
        }
        return fresh
    }

    /// Refuses data of an organisation the principal's roles do not reach.
    func requireReach(_ principal: Principal, organisation id: Int64?, _ what: String) throws(GovernanceError) {
        guard principal.reaches(organisation: id) else {
            throw .forbidden("\(what) belongs to another organisation; the roles of \(principal.organisation.name) reach only its own data")
        }
    }

    /// The operator's organisation: the one bootstrap made (recorded then), or in a
    /// store made before that was recorded, the first one.
    func operatorOrganisationID() throws -> Int64? {
        if let known = operatorID.withLock({ $0 }) { return known }
        let found = try database.read { db -> Int64? in
            if let recorded = try Setting.value(.operatorOrganisation, in: db), let id = Int64(recorded) { return id }
            return try Organisation.firstID(in: db)
        }
        if let found { operatorID.withLock { $0 = found } }
        return found
    }

    func isOperator(_ organisation: Organisation) throws -> Bool {
        guard let id = organisation.id else { return false }
        return try operatorOrganisationID() == id
    }

    func checkUsable(_ account: Account) throws(GovernanceError) {
        switch account.status {
        case .pending: throw .forbidden("account \(account.name) awaits a supervisor's approval")
        case .suspended: throw .forbidden("account \(account.name) is suspended")
        case .expired: throw .forbidden("account \(account.name) expired")
        case .active: break
        }
        if let expiry = account.expiresAt, expiry <= now() { throw .forbidden("account \(account.name) expired") }
    }

    /// An unguessable reference for a request or receipt: 128 random bits.
    static func newReference(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + "-" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Sorted-key JSON of a value, for audit details and receipts.
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
