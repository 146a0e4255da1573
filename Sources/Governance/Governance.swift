import Foundation
import Gallery
import Store
import Synchronization
import Vision

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
    /// The opt-out templates in memory, with the state of the table they were read at.
    let suppressionCache = Mutex<(stamp: String, templates: [[Float]])?>(nil)

    public init(gallery: Gallery, calibration: ScoreCalibration? = nil, now: @escaping @Sendable () -> Date = Date.init) throws {
        guard let calibration = calibration ?? ScoreCalibration.bundled(for: gallery.modelID) else {
            throw GovernanceError.invalid("no score calibration for model \(gallery.modelID): opt-out and access-request thresholds need one")
        }
        self.gallery = gallery
        self.calibration = calibration
        self.now = now
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

/// What a role may do. An account holds one or more.
public enum Role: String, Codable, Sendable, CaseIterable {
    case investigator, supervisor, auditor
    case privacyOfficer = "privacy-officer"
    case admin
}

/// Kinds of organisation the policy rules speak of.
public enum OrganisationType: String, Codable, Sendable, CaseIterable {
    case lawEnforcement = "law-enforcement"
    case government, `private`, ngo, newsroom
}

/// An authenticated, active account and its organisation: who is acting.
public struct Principal: Sendable, Equatable {
    public var account: Account
    public var organisation: Organisation

    public var name: String { account.name }
    public var roles: Set<Role> { Set(account.roleNames.compactMap(Role.init(rawValue:))) }

    public func has(_ role: Role) -> Bool { roles.contains(role) }
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

    func validate() throws(GovernanceError) {
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
    case notFound(String)

    public var description: String {
        switch self {
        case .unauthenticated(let message): "not signed in: \(message)"
        case .forbidden(let message): "not allowed: \(message)"
        case .unjustified(let message): "refused: \(message)"
        case .deniedByPolicy(let rule, let reason): "refused by policy rule '\(rule)': \(reason)"
        case .rateLimited(let message): "refused: \(message)"
        case .invalid(let message): message
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
        let found = try database.read { db -> (Account, Organisation)? in
            guard let account = try db.fetchOne(Account.self, id: principal.account.id),
                  let organisation = try db.fetchOne(Organisation.self, id: account.organisationID) else { return nil }
            return (account, organisation)
        }
        guard let (current, organisation) = found else { throw GovernanceError.unauthenticated("the account no longer exists") }
        let fresh = Principal(account: current, organisation: organisation)
        try checkUsable(current)
        guard roles.contains(where: fresh.has) else {
            throw GovernanceError.forbidden("\(action) needs the role \(roles.map(\.rawValue).joined(separator: " or ")); "
                                            + "\(current.name) has \(current.roleNames.joined(separator: ", "))")
        }
        return fresh
    }

    func checkUsable(_ account: Account) throws(GovernanceError) {
        switch account.status {
        case .pending: throw .forbidden("account \(account.name) awaits a supervisor's approval")
        case .suspended: throw .forbidden("account \(account.name) is suspended")
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
