import Foundation
import Store

/// A policy rule, stored as data and edited by admins. A rule applies to an act
/// when every condition it states holds; conditions it leaves out match anything.
///
/// - `deny` refuses the act, naming the rule.
/// - `allow` permits it; it matters only when the policy default is `deny`.
/// - `exclude` lets a search go on but leaves out faces of the sources it names
///   (by jurisdiction, or every source another organisation owns).
/// - `require-authorisation` lets a search go on only within its case's authorisation
///   (EU AI Act Art. 26(10)): requested before the first search or within 48 hours of
///   it, never rejected, unless the case is an initial identification of a suspect.
///   The default rule `eu-ai-act-authorisation` asks it of organisations in EU member states.
///
/// Deny wins over allow. Jurisdictions match by prefix: `US` covers `US-IL`.
///
/// ```json
/// {"name": "illinois-moratorium", "effect": "deny", "actions": ["search"],
///  "organisation_jurisdictions": ["US-IL"], "until": "2027-05-09"}
/// ```
public struct PolicyRule: Codable, Sendable, Equatable {
    public enum Effect: String, Codable, Sendable, CaseIterable {
        case allow, deny, exclude
        case requireAuthorisation = "require-authorisation"
    }
    public enum Action: String, Codable, Sendable, CaseIterable { case search, ingest }

    public var name: String
    public var effect: Effect
    public var actions: [Action]
    public var description: String?
    public var organisationTypes: [String]?
    public var organisationJurisdictions: [String]?
    /// The rule applies to organisations outside these jurisdictions only.
    public var exceptOrganisationJurisdictions: [String]?
    /// Ingest: the source being ingested. Exclude: the sources whose faces are left out.
    public var sourceJurisdictions: [String]?
    /// Exclude: leave out every source another organisation owns.
    public var otherOrganisationsSources: Bool?
    /// The rule applies from this day (inclusive) and until that day (exclusive), UTC, YYYY-MM-DD.
    public var from: String?
    public var until: String?

    enum CodingKeys: String, CodingKey {
        case name, effect, actions, description, from, until
        case organisationTypes = "organisation_types"
        case organisationJurisdictions = "organisation_jurisdictions"
        case exceptOrganisationJurisdictions = "except_organisation_jurisdictions"
        case sourceJurisdictions = "source_jurisdictions"
        case otherOrganisationsSources = "other_organisations_sources"
    }

    public init(
        name: String, effect: Effect, actions: [Action], description: String? = nil, organisationTypes: [String]? = nil,
        organisationJurisdictions: [String]? = nil, exceptOrganisationJurisdictions: [String]? = nil,
        sourceJurisdictions: [String]? = nil, otherOrganisationsSources: Bool? = nil,
        from: String? = nil, until: String? = nil
    ) {
        self.name = name
        self.effect = effect
        self.actions = actions
        self.description = description
        self.organisationTypes = organisationTypes
        self.organisationJurisdictions = organisationJurisdictions
        self.exceptOrganisationJurisdictions = exceptOrganisationJurisdictions
        self.sourceJurisdictions = sourceJurisdictions
        self.otherOrganisationsSources = otherOrganisationsSources
        self.from = from
        self.until = until
    }

    /// Parses and checks a rule, with an error that says what is wrong.
    public static func parse(_ json: Data) throws -> PolicyRule {
        let rule: PolicyRule
        do {
            rule = try JSONDecoder().decode(PolicyRule.self, from: json)
        } catch let DecodingError.keyNotFound(key, _) {
            throw GovernanceError.invalid("policy rule: missing field '\(key.stringValue)'")
        } catch let DecodingError.dataCorrupted(context) {
            throw GovernanceError.invalid("policy rule: \(context.codingPath.map(\.stringValue).joined(separator: ".")) \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw GovernanceError.invalid("policy rule: wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw GovernanceError.invalid("policy rule: not valid JSON")
        }
        try rule.validate()
        return rule
    }

    func validate() throws(GovernanceError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .invalid("policy rule: the name must be letters, digits, - or _")
        }
        _ = try TextRule.ruleName.check(name)
        _ = try TextRule.ruleText.named("description").check(description)
        let lists = [organisationTypes, organisationJurisdictions, exceptOrganisationJurisdictions, sourceJurisdictions]
        guard lists.allSatisfy({ ($0?.count ?? 0) <= 300 }) else {
            throw .badInput("policy rule '\(name)': a list holds at most 300 entries")
        }
        guard !actions.isEmpty else { throw .invalid("policy rule '\(name)': name at least one action (search, ingest)") }
        for code in (organisationJurisdictions ?? []) + (exceptOrganisationJurisdictions ?? []) + (sourceJurisdictions ?? [])
        where !Source.isJurisdictionCode(code) {
            throw .invalid("policy rule '\(name)': '\(code)' is not an ISO 3166 code")
        }
        for type in organisationTypes ?? [] where OrganisationType(rawValue: type) == nil {
            throw .invalid(
                "policy rule '\(name)': unknown organisation type '\(type)' "
                    + "(\(OrganisationType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        for day in [from, until].compactMap({ $0 }) where Self.day(day) == nil {
            throw .invalid("policy rule '\(name)': '\(day)' is not a date YYYY-MM-DD")
        }
        if effect == .requireAuthorisation, actions != [.search] {
            throw .invalid("policy rule '\(name)': a require-authorisation rule applies to search only")
        }
        if effect == .exclude {
            guard actions == [.search], sourceJurisdictions != nil || otherOrganisationsSources == true else {
                throw .invalid(
                    "policy rule '\(name)': an exclude rule applies to search and names source_jurisdictions "
                        + "or other_organisations_sources")
            }
        }
    }

    /// Whether the rule applies to this act (for exclude rules: whether it is in force).
    func applies(to act: PolicyAct) -> Bool {
        guard actions.contains(act.action) else { return false }
        if let types = organisationTypes, !types.contains(act.organisation.type.rawValue) { return false }
        if let codes = organisationJurisdictions, !codes.contains(where: { Self.covers($0, act.organisation.jurisdiction) }) {
            return false
        }
        if let codes = exceptOrganisationJurisdictions, codes.contains(where: { Self.covers($0, act.organisation.jurisdiction) }) {
            return false
        }
        if effect != .exclude, let codes = sourceJurisdictions {
            guard let source = act.source, codes.contains(where: { Self.covers($0, source.jurisdiction) }) else { return false }
        }
        if let from, let start = Self.day(from), act.date < start { return false }
        if let until, let end = Self.day(until), act.date >= end { return false }
        return true
    }

    /// For an exclude rule in force: whether it leaves out the faces of `source`.
    func excludes(_ source: Source, for organisation: Organisation) -> Bool {
        if let codes = sourceJurisdictions, codes.contains(where: { Self.covers($0, source.jurisdiction) }) { return true }
        return otherOrganisationsSources == true && source.organisationID != organisation.id
    }

    static func covers(_ pattern: String, _ code: String) -> Bool { code == pattern || code.hasPrefix(pattern + "-") }

    /// The UTC day of `date`, written YYYY-MM-DD.
    public static func dayString(_ date: Date) -> String { dayFormatter().string(from: date) }

    /// Midnight UTC of a day written YYYY-MM-DD.
    public static func day(_ text: String) -> Date? { dayFormatter().date(from: text) }

    /// Days as the rules write them: YYYY-MM-DD in UTC (a new formatter each time:
    /// DateFormatter is not safe to share between threads).
    private static func dayFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }
}

/// An act the policy is asked about.
public struct PolicyAct: Sendable {
    public var action: PolicyRule.Action
    public var organisation: Organisation
    public var source: Source?
    public var date: Date

    public init(action: PolicyRule.Action, organisation: Organisation, source: Source? = nil, date: Date) {
        self.action = action
        self.organisation = organisation
        self.source = source
        self.date = date
    }
}

/// The policy's answer: allowed or not (and by which rule), and for a search the
/// sources whose faces are left out, each with the rule that leaves it out.
public struct PolicyDecision: Sendable, Codable, Equatable {
    public var allowed: Bool
    /// The deny rule that refused, or "default" when the default is deny and no rule allowed.
    public var deniedBy: String?
    public var reason: String?
    public var allowedBy: [String]
    public var excludedSources: [String: String]
    /// Whether a rule keeps the search to the searching organisation's own sources
    /// (every other organisation's are in `excludedSources` too): an engine that keeps
    /// organisations apart then searches only that organisation's faces.
    public var ownOrganisationOnly: Bool? = nil
    /// The rule that asks the search's case for an authorisation, if one does.
    public var authorisationRequiredBy: String? = nil
}

/// Every rule, evaluated together, deny over allow.
public struct Policy: Sendable {
    public var rules: [PolicyRule]
    /// What happens when no rule speaks: allow, unless set to deny.
    public var defaultEffect: PolicyRule.Effect

    public func decide(_ act: PolicyAct, sources: [Source] = []) -> PolicyDecision {
        let applying = rules.filter { $0.applies(to: act) }
        let allows = applying.filter { $0.effect == .allow }.map(\.name)
        var decision = PolicyDecision(allowed: true, deniedBy: nil, reason: nil, allowedBy: allows, excludedSources: [:])
        if let deny = applying.first(where: { $0.effect == .deny }) {
            decision.allowed = false
            decision.deniedBy = deny.name
            decision.reason = deny.description ?? "\(act.action.rawValue) is denied"
        } else if defaultEffect == .deny, allows.isEmpty {
            decision.allowed = false
            decision.deniedBy = "default"
            decision.reason = "the policy default is deny and no rule allows \(act.action.rawValue)"
        }
        if act.action == .search {
            decision.authorisationRequiredBy = applying.first { $0.effect == .requireAuthorisation }?.name
            for rule in applying where rule.effect == .exclude {
                if rule.otherOrganisationsSources == true { decision.ownOrganisationOnly = true }
                for source in sources where decision.excludedSources[source.name] == nil && rule.excludes(source, for: act.organisation) {
                    decision.excludedSources[source.name] = rule.name
                }
            }
        }
        return decision
    }
}
