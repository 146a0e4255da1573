import Foundation
import Governance
import Hummingbird
import Store

extension LineupServer {
    struct NewOrganisation: Decodable {
        var name: String
        var type: OrganisationType
        var jurisdiction: String
        var searchesPerDay: Int?
    }

    struct NewAccount: Decodable {
        var name: String
        var organisation: String
        var roles: [Role]
        var expiresAt: Date?
        var searchesPerDay: Int?
    }

    struct Reason: Decodable {
        var reason: String
    }

    struct NewToken: Decodable {
        var label: String?
        var days: Int?
    }

    /// A dry run's question; its `rule`, if any, is read as a rule file is
    /// (`PolicyRule.parse`, the rule's own snake_case keys), not with this body's coder.
    struct PolicyQuestion: Decodable {
        var action: PolicyRule.Action
        var organisation: String
        var source: String?
        var date: String?

        enum CodingKeys: String, CodingKey {
            case action, organisation, source, date
        }
    }

    func addAccountRoutes(to api: RouterGroup<LineupRequestContext>) {
        route(api, .get, "organisations") { _, _ in
            return try json(["organisations": try await blocking { try governance.organisations() }])
        }
        route(api, .post, "organisations") { request, context in
            let principal = try context.authenticated
            let new = try await request.decode(as: NewOrganisation.self, context: context)
            return try json(
                try await blocking {
                    try governance.addOrganisation(
                        as: principal, name: new.name, type: new.type, jurisdiction: new.jurisdiction,
                        searchesPerDay: new.searchesPerDay ?? Governance.defaultOrganisationSearchesPerDay)
                }, status: .created)
        }
        route(api, .get, "accounts") { request, context in
            let principal = try context.authenticated
            return try json(["accounts": try await blocking { try governance.accounts(as: principal) }.map(\.0)])
        }
        route(api, .post, "accounts") { request, context in
            let principal = try context.authenticated
            let new = try await request.decode(as: NewAccount.self, context: context)
            let (account, token) = try await blocking {
                try governance.addAccount(
                    as: principal, name: new.name, organisation: new.organisation, roles: new.roles,
                    expiresAt: new.expiresAt,
                    searchesPerDay: new.searchesPerDay ?? Governance.defaultAccountSearchesPerDay)
            }
            struct Created: Encodable {
                var account: Account
                var token: Governance.IssuedToken
            }
            return try json(Created(account: account, token: token), status: .created)
        }
        route(api, .post, "accounts/{name}/approve") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            return try json(try await blocking { try governance.approve(as: principal, account: name) })
        }
        route(api, .post, "accounts/{name}/suspend") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            let body = try await request.decode(as: Reason.self, context: context)
            try await blocking { try governance.suspend(as: principal, account: name, reason: body.reason) }
            return try json(["suspended": name])
        }
        route(api, .post, "tokens") { request, context in
            let principal = try context.authenticated
            let body = try await request.decode(as: NewToken.self, context: context)
            return try json(
                try await blocking {
                    try governance.issueToken(as: principal, label: body.label ?? "api", days: body.days ?? Governance.defaultTokenDays)
                }, status: .created)
        }
        route(api, .delete, "tokens/{id}") { request, context in
            let principal = try context.authenticated
            let id = try context.parameters.require("id", as: Int64.self)
            try await blocking { try governance.revokeToken(as: principal, id: id) }
            return try json(["revoked": id])
        }
        route(api, .get, "policy") { request, context in
            let principal = try context.authenticated
            let policy = try await blocking { try governance.policy(as: principal) }
            struct Listing: Encodable {
                var defaultEffect: PolicyRule.Effect
                var rules: [PolicyRule]
            }
            return try json(Listing(defaultEffect: policy.defaultEffect, rules: policy.rules))
        }
        route(api, .put, "policy/rules/{name}") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            let body = try await Self.body(of: request, limit: configuration.maxUploadBytes)
            // The rule's name is the path's: a body naming another rule is refused.
            var object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            if let named = object["name"] as? String, named != name {
                throw APIError(.unprocessableContent, .invalid, "the body names rule '\(named)' but the path names '\(name)'")
            }
            object["name"] = name
            let rule = try PolicyRule.parse(try JSONSerialization.data(withJSONObject: object))
            try await blocking { try governance.putRule(as: principal, rule) }
            return try json(rule)
        }
        route(api, .delete, "policy/rules/{name}") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            try await blocking { try governance.removeRule(as: principal, named: name) }
            return try json(["removed": name])
        }
        route(api, .post, "policy/test") { request, context in
            let principal = try context.authenticated
            let body = try await Self.body(of: request, limit: configuration.maxUploadBytes)
            let question = try LineupRequestDecoder.decode(PolicyQuestion.self, body: body)
            let date = try question.date.map { try day($0, field: "date") }
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
            let rule = try (object?["rule"]).flatMap { $0 is NSNull ? nil : $0 }.map { value -> PolicyRule in
                guard JSONSerialization.isValidJSONObject(value) else {
                    throw APIError(.badRequest, .invalid, "the field 'rule' must be a policy rule object")
                }
                return try PolicyRule.parse(try JSONSerialization.data(withJSONObject: value))
            }
            return try json(
                try await blocking {
                    try governance.testPolicy(
                        as: principal, action: question.action, organisation: question.organisation,
                        source: question.source, date: date, with: rule)
                })
        }
    }
}
