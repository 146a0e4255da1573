import Foundation
import Governance
import Store

/// The accounts the caller may see, pending ones first (they wait for a supervisor),
/// with what the last approval or suspension did or why it was refused.
struct AccountsPage: PageModel {
    var accounts: [AccountRow]
    var count: Int
    /// Whether the caller may approve (a supervisor).
    var approver: Bool
    var pendingCount: Int
    var notice: String?
    var error: String?

    /// `listed` in Governance's order; the page keeps it, pending accounts first.
    init(_ listed: [(Account, Organisation)], approver: Bool, now: Date = Date()) {
        let pendingFirst = listed.enumerated().sorted {
            ($0.element.0.status == .pending ? 0 : 1, $0.offset) < ($1.element.0.status == .pending ? 0 : 1, $1.offset)
        }
        accounts = pendingFirst.map { AccountRow($0.element.0, organisation: $0.element.1, now: now) }
        count = accounts.count
        self.approver = approver
        pendingCount = accounts.filter(\.pending).count
    }
}

/// An account in the list, with the actions its status allows.
struct AccountRow {
    var name: String
    /// The name as one path segment of a link.
    var path: String
    var organisation: String
    var roles: String
    var status: String
    var pending: Bool
    var suspendable: Bool
    /// The UTC day it expires, or `never`.
    var expires: String
    var expired: Bool
    var approvedBy: String?

    init(_ account: Account, organisation: Organisation, now: Date) {
        name = account.name
        path = PageText.pathSegment(account.name)
        self.organisation = organisation.name
        roles = account.roles.listed
        status = account.status.rawValue
        pending = account.status == .pending
        suspendable = account.status != .suspended
        expires = account.expiresAt.map { PageText.day($0) } ?? "never"
        expired = account.expiresAt.map { $0 <= now } ?? false
        approvedBy = account.approvedBy
    }
}

/// The audit-log browser: the filter as given, a chain check when asked for, and the
/// newest matching entries. When the log could not be read, `error` says why and the
/// template shows no listing (so it is left empty).
struct AuditPage: PageModel {
    var filter: Filter
    var verification: Verification?
    /// How many entries match the filter ("at least 10000" past the count's cap).
    var count = "0"
    /// How many of them are listed.
    var shown = 0
    var truncated = false
    var entries: [AuditRow] = []
    var error: String?

    init(filter: Filter) {
        self.filter = filter
    }

    /// The filter's fields as typed; nil is a blank field (any).
    struct Filter {
        var actor: String?
        /// What the action starts with.
        var action: String?
        var caseNumber: String?
        /// The UTC day, `YYYY-MM-DD`.
        var since: String?
    }

    /// The chain check's answer: intact, or which entries do not fit it.
    struct Verification {
        var intact: Bool
        var entries: Int
        var headHash: String
        var badCount: Int
        var badEntries: [BadEntry]

        /// An entry that does not fit the chain, and why.
        struct BadEntry {
            var id: Int64
            var problem: String
        }

        init(_ verification: AuditLog.Verification) {
            intact = verification.isIntact
            entries = verification.entries
            headHash = verification.headHash
            badCount = verification.badEntryCount
            badEntries = verification.badEntries.map { BadEntry(id: $0.id, problem: $0.problem) }
        }
    }
}

/// An audit entry in the browser, times in UTC.
struct AuditRow {
    var id: Int64
    var time: String
    var actor: String
    var action: String
    var target: String
    /// The entry's action-specific facts, as the log keeps them (JSON).
    var details: String
    var organisation: String?
    var caseNumber: String?
    var purpose: String?
    /// The legal basis a search gave.
    var basis: String?

    init(_ entry: AuditEntry) {
        id = entry.id ?? 0
        time = PageText.time(entry.recordedAt)
        actor = entry.actor
        action = entry.action
        target = entry.target
        details = entry.details
        organisation = entry.organisation
        caseNumber = entry.caseNumber
        purpose = entry.purpose
        basis = entry.legalBasis
    }
}

/// The policy page: the default, the rules (with their editor for admins), and the
/// dry run's form, answer or refusal.
struct PolicyPage: PageModel {
    var defaultEffect: String
    var rules: [RuleRow]
    var ruleCount: Int
    /// Whether the caller may change the policy (an admin).
    var editor: Bool
    var actions: [ActionChoice]
    var organisations: [OrganisationChoice]
    /// The dry run's optional fields, filled in again with the answer.
    var question: DryRunFields
    var notice: String?
    /// The rule editor's text: what was typed, or the rule opened for editing.
    var editorText: String?
    var editError: String?
    var testError: String?
    var decision: DryRunDecision?

    /// An action the dry run can ask about; `selected` is the one last asked.
    struct ActionChoice {
        var name: String
        var selected: Bool
    }

    /// An organisation the dry run can ask for, with its type and jurisdiction.
    struct OrganisationChoice {
        var name: String
        /// The type as Swift names its case (`lawEnforcement`), as the page has always
        /// shown it.
        var type: String
        var jurisdiction: String
        var selected: Bool
    }

    /// The dry run's optional fields as typed; nil is blank.
    struct DryRunFields {
        var date: String?
        var source: String?
        var rule: String?
    }

    /// `action` and `organisation` are the dry run's last question, to select them again.
    init(
        _ policy: Policy, organisations: [Organisation], editor: Bool, action: String, organisation: String?,
        question: DryRunFields
    ) {
        defaultEffect = policy.defaultEffect.rawValue
        rules = policy.rules.map(RuleRow.init)
        ruleCount = policy.rules.count
        self.editor = editor
        actions = PolicyRule.Action.allCases.map { ActionChoice(name: $0.rawValue, selected: $0.rawValue == action) }
        self.organisations = organisations.map {
            OrganisationChoice(
                name: $0.name, type: $0.type.rawValue, jurisdiction: $0.jurisdiction, selected: $0.name == organisation)
        }
        self.question = question
    }

    /// A rule as the editor shows it: pretty-printed JSON, keys sorted.
    static func json(_ rule: PolicyRule) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(rule)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// A rule in the list: its name, effect, description, and its conditions as JSON.
struct RuleRow {
    var name: String
    /// The name as one path segment of a link.
    var path: String
    var effect: String
    /// The rule's JSON without its name, effect and description.
    var conditions: String
    var description: String?

    init(_ rule: PolicyRule) {
        name = rule.name
        path = PageText.pathSegment(rule.name)
        effect = rule.effect.rawValue
        description = rule.description
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var fields = (try? JSONDecoder().decode([String: JSONValue].self, from: encoder.encode(rule))) ?? [:]
        for key in ["name", "effect", "description"] { fields.removeValue(forKey: key) }
        conditions = (try? encoder.encode(fields)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Any JSON value, so that a rule's JSON can lose the fields shown apart and be
/// written again as it was.
private enum JSONValue: Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}

/// A dry run's answer: allowed or denied, which rule decided, and the sources left out.
struct DryRunDecision {
    var allowed: Bool
    var deniedBy: String?
    var reason: String?
    /// The rule or default that decided, in words.
    var decidedBy: String
    var anyExcluded: Bool
    var excluded: [ExcludedSource]

    init(_ decision: PolicyDecision, default defaultEffect: PolicyRule.Effect) {
        allowed = decision.allowed
        deniedBy = decision.deniedBy
        reason = decision.reason
        decidedBy =
            decision.deniedBy.map { $0 == "default" ? "the default (deny)" : "rule \($0)" }
            ?? (decision.allowedBy.isEmpty
                ? "the default (\(defaultEffect.rawValue)): no rule applies"
                : "rule " + decision.allowedBy.joined(separator: ", "))
        anyExcluded = !decision.excludedSources.isEmpty
        excluded = ExcludedSource.list(decision.excludedSources)
    }
}
