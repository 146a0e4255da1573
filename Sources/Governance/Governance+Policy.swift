import Foundation
import Store

extension Governance {

    /// The rules and default in force now (admins, supervisors, auditors).
    public func policy(as principal: Principal) throws -> Policy {
        try require(principal, .admin, .supervisor, .auditor, for: "reading the policy")
        return try database.read { db in try policy(in: db) }
    }

    func policy(in db: any MetadataTransaction) throws -> Policy {
        let rules = try db.fetchAll(PolicyRuleRecord.self, "ORDER BY name").map { try PolicyRule.parse(Data($0.body.utf8)) }
        return Policy(rules: rules, defaultEffect: try Setting.value(.policyDefault, in: db) == "deny" ? .deny : .allow)
    }

    /// Adds a rule or replaces the rule of the same name (admins).
    public func putRule(as principal: Principal, _ rule: PolicyRule) throws {
        try rule.validate()
        try requireOperator(principal, .admin, for: "editing policy rules")
        let body = Self.json(rule)
        try database.write { db in
            let existing = try PolicyRuleRecord.named(rule.name, in: db)
            if var existing {
                existing.body = body
                try db.update(existing)
            } else {
                var record = PolicyRuleRecord(name: rule.name, body: body, createdAt: now(), createdBy: principal.name)
                try db.insert(&record)
            }
            try audit(principal, action: existing == nil ? .policyAdd : .policyReplace, target: rule.name, details: body, in: db)
        }
    }

    public func removeRule(as principal: Principal, named rawName: String) throws {
        let name = try TextRule.ruleName.check(rawName)
        try requireOperator(principal, .admin, for: "editing policy rules")
        try database.write { db in
            guard try PolicyRuleRecord.delete(named: name, in: db) else {
                throw GovernanceError.notFound("no policy rule named '\(name)'")
            }
            try audit(principal, action: .policyRemove, target: name, in: db)
        }
    }

    public func setPolicyDefault(as principal: Principal, _ effect: PolicyRule.Effect) throws {
        try requireOperator(principal, .admin, for: "editing policy rules")
        guard effect != .exclude else { throw GovernanceError.invalid("the default is allow or deny") }
        try database.write { db in
            try Setting.set(.policyDefault, to: effect.rawValue, in: db)
            try audit(principal, action: .policyDefault, target: effect.rawValue, in: db)
        }
    }

    /// A dry run: what the policy would decide for an organisation's act, without acting
    /// (admins, supervisors, auditors). `rule` tries a new or changed rule against the rest.
    public func testPolicy(
        as principal: Principal, action: PolicyRule.Action, organisation name: String,
        source sourceName: String? = nil, date: Date? = nil, with rule: PolicyRule? = nil
    ) throws -> PolicyDecision {
        _ = try TextRule.organisationName.check(name)
        _ = try TextRule.sourceName.check(sourceName)
        try rule?.validate()
        try require(principal, .admin, .supervisor, .auditor, for: "testing the policy")
        return try database.read { db in
            guard let organisation = try Organisation.named(name, in: db) else {
                throw GovernanceError.notFound("no organisation named '\(name)'")
            }
            let source = try sourceName.map { name in
                guard let source = try Source.named(name, in: db) else {
                    throw GovernanceError.notFound("no source named '\(name)'")
                }
                return source
            }
            var policy = try policy(in: db)
            if let rule {
                try rule.validate()
                policy.rules.removeAll { $0.name == rule.name }
                policy.rules.append(rule)
            }
            return policy.decide(
                PolicyAct(action: action, organisation: organisation, source: source, date: date ?? now()),
                sources: try db.fetchAll(Source.self))
        }
    }

    /// Decides an act and, when refused, logs the refusal and throws naming the rule.
    func enforce(_ act: PolicyAct, principal: Principal, target: String, justification: Justification? = nil) throws -> PolicyDecision {
        let decision = try database.read { db in
            try policy(in: db).decide(act, sources: act.action == .search ? try db.fetchAll(Source.self) : [])
        }
        guard decision.allowed else {
            let rule = decision.deniedBy ?? "default"
            try audit(
                principal, action: act.action == .search ? .searchRefused : .ingestRefused, target: target, justification: justification,
                details: Self.json(["reason": decision.reason ?? "", "rule": rule]))
            throw GovernanceError.deniedByPolicy(rule: rule, reason: decision.reason ?? "denied")
        }
        return decision
    }
}
