import Crypto
import Foundation
import Store

extension Governance {
    /// A token as handed to its holder: shown once, never stored.
    public struct IssuedToken: Sendable, Codable {
        /// The id to revoke it by.
        public var id: Int64
        public var token: String
        public var account: String
        public var expiresAt: Date
    }

    /// Creates the first organisation and its first admin in a store with no
    /// accounts, and the admin's token. Refused once any account exists: from then
    /// on every account is made by someone accountable.
    public func bootstrap(
        organisation rawName: String, type: OrganisationType, jurisdiction: String,
        admin rawAdmin: String
    ) throws -> IssuedToken {
        let name = try TextRule.organisationName.check(rawName), admin = try TextRule.accountName.check(rawAdmin)
        try validate(jurisdiction: jurisdiction)
        return try database.write { db in
            guard try db.count(Account.self) == 0 else {
                throw GovernanceError.forbidden("this store already has accounts; bootstrap only sets up a fresh store")
            }
            var organisation = Organisation(
                name: name, type: type, jurisdiction: jurisdiction,
                searchesPerDay: Self.defaultOrganisationSearchesPerDay, createdAt: now())
            try db.insert(&organisation)
            // The operator: its store-wide roles reach every organisation's data.
            try Setting.set(.operatorOrganisation, to: String(organisation.id!), in: db)
            var account = Account(
                organisationID: organisation.id!, name: admin, roles: [.admin], status: .active,
                searchesPerDay: Self.defaultAccountSearchesPerDay, expiresAt: nil, createdAt: now(),
                createdBy: "bootstrap")
            try db.insert(&account)
            // The EU AI Act's authorisation rule, as policy data admins can change.
            var rule = PolicyRuleRecord(
                name: PolicyRuleRecord.authorisationRuleName, body: PolicyRuleRecord.authorisationRuleBody, createdAt: now(),
                createdBy: "bootstrap")
            try db.insert(&rule)
            let principal = Principal(account: account, organisation: organisation, isOperator: true)
            try audit(
                principal, action: .bootstrap, target: "organisation \(name)",
                details: Self.json(["admin": admin, "jurisdiction": jurisdiction, "type": type.rawValue]), in: db)
            return try issueToken(for: account, label: "bootstrap", days: Self.defaultTokenDays, in: db)
        }
    }

    public func addOrganisation(
        as principal: Principal, name rawName: String, type: OrganisationType, jurisdiction: String,
        searchesPerDay: Int = Governance.defaultOrganisationSearchesPerDay
    ) throws -> Organisation {
        let name = try TextRule.organisationName.check(rawName)
        try requireOperator(principal, .admin, for: "adding an organisation")
        try validate(jurisdiction: jurisdiction)
        guard searchesPerDay >= 0 else { throw GovernanceError.invalid("searches per day cannot be negative") }
        return try database.write { db in
            guard try Organisation.named(name, in: db) == nil else {
                throw GovernanceError.invalid("an organisation named '\(name)' already exists")
            }
            var organisation = Organisation(
                name: name, type: type, jurisdiction: jurisdiction,
                searchesPerDay: searchesPerDay, createdAt: now())
            try db.insert(&organisation)
            try audit(
                principal, action: .organisationAdd, target: name,
                details: Self.json([
                    "jurisdiction": jurisdiction, "searches_per_day": String(searchesPerDay),
                    "type": type.rawValue,
                ]), in: db)
            return organisation
        }
    }

    public func organisations() throws -> [Organisation] {
        try database.read { db in try db.fetchAll(Organisation.self, "ORDER BY name") }
    }

    /// Creates an account and its first token (to hand to its holder). The operator's
    /// admins create any account; another organisation's admins, accounts of their
    /// own organisation; a supervisor, investigators of their own organisation. An
    /// account that may search starts pending until a supervisor approves it.
    public func addAccount(
        as principal: Principal, name rawName: String, organisation rawOrganisation: String, roles: [Role],
        expiresAt: Date? = nil, searchesPerDay: Int = Governance.defaultAccountSearchesPerDay
    ) throws
        -> (Account, IssuedToken)
    {
        let name = try TextRule.accountName.check(rawName)
        let organisationName = try TextRule.organisationName.check(rawOrganisation)
        let actor = try require(principal, .admin, .supervisor, for: "adding an account")
        guard !roles.isEmpty else { throw GovernanceError.invalid("an account needs at least one role") }
        guard searchesPerDay >= 0 else { throw GovernanceError.invalid("searches per day cannot be negative") }
        if let expiresAt, expiresAt <= now() {
            throw GovernanceError.invalid("expires_at \(expiresAt.formatted(.iso8601)) is not in the future")
        }
        return try database.write { db in
            guard let organisation = try Organisation.named(organisationName, in: db) else {
                throw GovernanceError.notFound("no organisation named '\(organisationName)'")
            }
            if actor.has(.admin) {
                try requireReach(actor, organisation: organisation.id, "organisation \(organisationName)")
            } else {
                guard organisation.id == actor.organisation.id, roles == [.investigator] else {
                    throw GovernanceError.forbidden("a supervisor adds investigators of their own organisation only")
                }
            }
            guard try Account.named(name, in: db) == nil else {
                throw GovernanceError.invalid("an account named '\(name)' already exists")
            }
            let status: Account.Status = roles.contains(.investigator) ? .pending : .active
            var account = Account(
                organisationID: organisation.id!, name: name, roles: roles, status: status,
                searchesPerDay: searchesPerDay, expiresAt: expiresAt, createdAt: now(), createdBy: actor.name)
            try db.insert(&account)
            try audit(
                actor, action: .accountAdd, target: name,
                details: Self.json(["organisation": organisationName, "roles": account.roles.description, "status": status.rawValue]),
                in: db)
            return (account, try issueToken(for: account, label: "first token", days: Self.defaultTokenDays, in: db))
        }
    }

    /// A supervisor approves a pending account of their own organisation, never their own.
    public func approve(as principal: Principal, account rawName: String) throws -> Account {
        let name = try TextRule.accountName.check(rawName)
        let supervisor = try require(principal, .supervisor, for: "approving an account")
        return try database.write { db in
            var account = try fetchAccount(named: name, in: db)
            guard account.id != supervisor.account.id else { throw GovernanceError.forbidden("no one approves their own account") }
            guard account.organisationID == supervisor.organisation.id else {
                throw GovernanceError.forbidden("a supervisor approves accounts of their own organisation only")
            }
            guard account.status == .pending else { throw GovernanceError.invalid("account \(name) is \(account.status.rawValue), not pending") }
            account.status = .active
            account.approvedBy = supervisor.name
            account.approvedAt = now()
            try db.update(account)
            try audit(supervisor, action: .accountApprove, target: name, in: db)
            return account
        }
    }

    /// Grants a role to an account (admins of its organisation, the operator's for any):
    /// how a person becomes a `verifier` of other investigators' proposed matches. No
    /// one grants a role to themselves.
    public func grantRole(as principal: Principal, account rawName: String, role: Role) throws -> Account {
        let name = try TextRule.accountName.check(rawName)
        let admin = try require(principal, .admin, for: "granting a role")
        return try database.write { db in
            var account = try fetchAccount(named: name, in: db)
            try requireReach(admin, organisation: account.organisationID, "account \(name)")
            guard account.id != admin.account.id else { throw GovernanceError.forbidden("no one grants a role to themselves") }
            guard !account.roles.contains(role) else { throw GovernanceError.invalid("account \(name) already holds \(role.rawValue)") }
            account.roles.roles.append(role)
            try db.update(account)
            try audit(admin, action: .accountGrant, target: name, details: Self.json(["role": role.rawValue]), in: db)
            return account
        }
    }

    /// Suspends an account; its tokens stop working at once. Admins suspend any
    /// account their roles reach (the operator's: every account; another
    /// organisation's: their own organisation's). A supervisor suspends the
    /// investigators of their own organisation, and no one else: not its auditors,
    /// privacy officers or admins, who answer to the organisation's admins.
    public func suspend(as principal: Principal, account rawName: String, reason rawReason: String) throws {
        let name = try TextRule.accountName.check(rawName), reason = try TextRule.reason.check(rawReason)
        let actor = try require(principal, .admin, .supervisor, for: "suspending an account")
        try database.write { db in
            var account = try fetchAccount(named: name, in: db)
            if actor.has(.admin) {
                try requireReach(actor, organisation: account.organisationID, "account \(name)")
            } else {
                guard account.organisationID == actor.organisation.id else {
                    throw GovernanceError.forbidden("a supervisor suspends accounts of their own organisation only")
                }
                guard account.roles.roles == [.investigator] else {
                    throw GovernanceError.forbidden(
                        "a supervisor suspends investigators only; \(name) holds "
                            + "\(account.roles.listed): ask an admin")
                }
            }
            account.status = .suspended
            try db.update(account)
            try audit(actor, action: .accountSuspend, target: name, details: Self.json(["reason": reason]), in: db)
        }
    }

    /// The accounts a principal oversees: the operator's admins see all; another
    /// organisation's admins and every supervisor, their own organisation's. An
    /// active account whose expiry has passed is listed as expired.
    public func accounts(as principal: Principal) throws -> [(Account, Organisation)] {
        let actor = try require(principal, .admin, .supervisor, for: "listing accounts")
        let seesAll = actor.has(.admin) && actor.isOperator
        let moment = now()
        return try database.read { db in
            let organisations = Dictionary(uniqueKeysWithValues: try db.fetchAll(Organisation.self).map { ($0.id!, $0) })
            return try db.fetchAll(Account.self, "ORDER BY name")
                .filter { seesAll || $0.organisationID == actor.organisation.id }
                .map { account in
                    var shown = account
                    if shown.status == .active, let expiry = shown.expiresAt, expiry <= moment { shown.status = .expired }
                    return (shown, organisations[account.organisationID]!)
                }
        }
    }

    /// A new token for the principal's own account. A web session may issue one only
    /// if it ends no later than the session does: a stolen session cookie must not
    /// become a credential that outlives it.
    public func issueToken(as principal: Principal, label rawLabel: String, days: Int) throws -> IssuedToken {
        let label = try TextRule.tokenLabel.check(rawLabel)
        guard (1...366).contains(days) else { throw GovernanceError.invalid("a token lives 1 to 366 days") }
        let holder = try require(principal, roles: Role.allCases, for: "issuing a token")
        if let session = holder.credential, session.isSession, now().addingTimeInterval(Double(days) * 86_400) > session.expiresAt {
            throw GovernanceError.forbidden(
                "a web session cannot issue a token that outlives it (the session ends "
                    + "\(session.expiresAt.formatted(.iso8601))): issue it with your API token")
        }
        return try database.write { db in
            let token = try issueToken(for: holder.account, label: label, days: days, in: db)
            try audit(holder, action: .tokenIssue, target: holder.name, details: Self.json(["label": label]), in: db)
            return token
        }
    }

    /// Revokes one of the principal's tokens (admins: anyone's) by its id.
    public func revokeToken(as principal: Principal, id: Int64) throws {
        let principal = try require(principal, roles: Role.allCases, for: "revoking a token")
        try database.write { db in
            guard var token = try db.fetchOne(AccessToken.self, id: id) else { throw GovernanceError.notFound("no token \(id)") }
            if token.accountID != principal.account.id {
                guard principal.has(.admin), let holder = try db.fetchOne(Account.self, id: token.accountID) else {
                    throw GovernanceError.forbidden("only its holder or an admin revokes a token")
                }
                try requireReach(principal, organisation: holder.organisationID, "token \(id)")
            }
            token.revokedAt = now()
            try db.update(token)
            try audit(principal, action: .tokenRevoke, target: "token \(id)", in: db)
        }
    }

    /// The principal a token stands for: refused when unknown, revoked, expired, or
    /// when its account is pending, suspended or expired.
    public func authenticate(token: String) throws -> Principal {
        let digest = Data(SHA256.hash(data: Data(token.utf8)))
        let found = try database.read { db -> (AccessToken, Account, Organisation)? in
            guard let stored = try db.fetchOne(AccessToken.self, "WHERE sha256 = ?", [SQLValue(digest)]),
                let account = try db.fetchOne(Account.self, id: stored.accountID),
                let organisation = try db.fetchOne(Organisation.self, id: account.organisationID)
            else { return nil }
            return (stored, account, organisation)
        }
        guard let (stored, account, organisation) = found else { throw GovernanceError.unauthenticated("unknown token") }
        if stored.revokedAt != nil { throw GovernanceError.unauthenticated("the token was revoked") }
        if stored.expiresAt <= now() { throw GovernanceError.unauthenticated("the token expired") }
        try checkUsable(account)
        return Principal(
            account: account, organisation: organisation, isOperator: try isOperator(organisation),
            credential: Credential(tokenID: stored.id!, expiresAt: stored.expiresAt, isSession: stored.isSession))
    }

    func issueToken(for account: Account, label: String, days: Int, in db: any MetadataTransaction) throws -> IssuedToken {
        try issueToken(for: account, label: label, lifetime: Double(days) * 86_400, in: db)
    }

    func issueToken(
        for account: Account, label: String, lifetime: TimeInterval, isSession: Bool = false,
        in db: any MetadataTransaction
    ) throws -> IssuedToken {
        var generator = SystemRandomNumberGenerator()
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let token =
            "lnt_"
            + secret.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let expiry = now().addingTimeInterval(lifetime)
        var record = AccessToken(
            accountID: account.id!, sha256: Data(SHA256.hash(data: Data(token.utf8))), label: label,
            createdAt: now(), expiresAt: expiry, isSession: isSession)
        try db.insert(&record)
        return IssuedToken(id: record.id!, token: token, account: account.name, expiresAt: expiry)
    }

    func fetchAccount(named name: String, in db: any MetadataTransaction) throws -> Account {
        guard let account = try Account.named(name, in: db) else {
            throw GovernanceError.notFound("no account named '\(name)'")
        }
        return account
    }

    func validate(jurisdiction: String) throws(GovernanceError) {
        guard Source.isJurisdictionCode(jurisdiction) else {
            throw .invalid("jurisdiction '\(jurisdiction)' is not an ISO 3166 code such as FR or US-IL")
        }
    }
}
