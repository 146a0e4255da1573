import Foundation
import Governance
import Hummingbird
import Store

/// The API of cases: authorisations, two-person verification, verified leads, the log
/// of use, and the reports. Each route only presents; Governance decides.
extension LineupServer {
    struct NewCase: Decodable { var number: String }

    struct AuthorisationRequest: Decodable {
        var authorityKind: CaseAuthorisation.AuthorityKind
        var authority: String
        var reference: String
        var scope: String
    }

    struct AuthorisationDecision: Decodable {
        var granted: Bool
        var decidedOn: String
    }

    struct Facts: Decodable { var facts: String }

    struct Proposal: Decodable {
        var search: Int64
        var face: Int64
        var reason: String
    }

    struct Verification: Decodable {
        var confirm: Bool
        var reason: String
    }

    struct RoleGrant: Decodable { var role: Role }

    struct Collection: Decodable { var collection: String }

    struct Decided: Encodable {
        var `case`: Governance.CaseStatus
        var receipt: ErasureReceipt?
    }

    func addCaseRoutes(to api: RouterGroup<LineupRequestContext>) {
        route(api, .post, "cases") { request, context in
            let principal = try context.authenticated
            let new = try await request.decode(as: NewCase.self, context: context)
            return try json(try await blocking { try governance.openCase(as: principal, number: new.number) }, status: .created)
        }
        route(api, .get, "cases/{number}") { request, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number"), organisation = request.uri.queryParameters["organisation"].map(String.init)
            return try json(try await blocking { try governance.caseStatus(as: principal, number: number, organisation: organisation) })
        }
        route(api, .post, "cases/{number}/close") { _, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            return try json(try await blocking { try governance.closeCase(as: principal, case: number) })
        }
        route(api, .post, "cases/{number}/authorisation") { request, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            let asked = try await request.decode(as: AuthorisationRequest.self, context: context)
            return try json(
                try await blocking {
                    try governance.requestAuthorisation(
                        as: principal, case: number, authorityKind: asked.authorityKind, authority: asked.authority,
                        reference: asked.reference, scope: asked.scope)
                }, status: .created)
        }
        route(api, .post, "cases/{number}/authorisation/decision") { request, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            let decision = try await request.decode(as: AuthorisationDecision.self, context: context)
            let (status, receipt) = try await blocking {
                try governance.recordAuthorisationDecision(as: principal, case: number, granted: decision.granted, decidedOn: decision.decidedOn)
            }
            return try json(Decided(case: status, receipt: receipt))
        }
        route(api, .post, "cases/{number}/initial-identification") { request, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            let facts = try await request.decode(as: Facts.self, context: context)
            return try json(try await blocking { try governance.markInitialIdentification(as: principal, case: number, facts: facts.facts) })
        }
        route(api, .get, "cases/{number}/reviews") { _, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            return try json(["reviews": try await blocking { try governance.reviews(as: principal, case: number) }])
        }
        route(api, .get, "cases/{number}/leads") { _, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number")
            return try json(["verified_leads": try await blocking { try governance.verifiedLeads(as: principal, case: number) }])
        }
        route(api, .get, "cases/{number}/log") { request, context in
            let principal = try context.authenticated
            let number = try parameter(context, "number"), organisation = request.uri.queryParameters["organisation"].map(String.init)
            return try json(try await blocking { try governance.caseLog(as: principal, case: number, organisation: organisation) })
        }
        route(api, .post, "reviews") { request, context in
            let principal = try context.authenticated
            let proposal = try await request.decode(as: Proposal.self, context: context)
            return try json(
                try await blocking {
                    try governance.proposeCandidate(as: principal, search: proposal.search, face: proposal.face, reason: proposal.reason)
                }, status: .created)
        }
        route(api, .get, "reviews/queue") { _, context in
            let principal = try context.authenticated
            return try json(["reviews": try await blocking { try governance.verificationQueue(as: principal) }])
        }
        route(api, .get, "reviews/{id}") { _, context in
            let principal = try context.authenticated
            let id = try reviewNumber(context)
            return try json(try await blocking { try governance.verificationItem(as: principal, review: id) })
        }
        route(api, .post, "reviews/{id}/verification") { request, context in
            let principal = try context.authenticated
            let id = try reviewNumber(context)
            let decision = try await request.decode(as: Verification.self, context: context)
            return try json(
                try await blocking { try governance.verifyCandidate(as: principal, review: id, confirm: decision.confirm, reason: decision.reason) })
        }
        route(api, .post, "accounts/{name}/roles") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            let grant = try await request.decode(as: RoleGrant.self, context: context)
            return try json(try await blocking { try governance.grantRole(as: principal, account: name, role: grant.role) })
        }
        route(api, .post, "sources/{name}/collection") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            let stated = try await request.decode(as: Collection.self, context: context)
            return try json(try await blocking { try governance.stateCollection(as: principal, source: name, method: stated.collection) })
        }
        route(api, .get, "reports/annual") { request, context in
            let principal = try context.authenticated
            let year = try Self.year(request)
            return try json(try await blocking { try governance.annualReport(as: principal, year: year) })
        }
        publicRoute(api, .get, "model-card") { _, _ in
            try json(try await blocking { try governance.modelCard() })
        }
        publicRoute(api, .get, "transparency") { request, _ in
            let year = try Self.year(request)
            return try json(try await blocking { try governance.publicAnnualReport(year: year) })
        }
    }

    private func reviewNumber(_ context: LineupRequestContext) throws -> Int64 {
        guard let id = Int64(try parameter(context, "id")) else { throw APIError(.notFound, .notFound, "no such review") }
        return id
    }

    static func year(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["year"] else {
            throw APIError(.badRequest, .invalid, "give the year: ?year=2026")
        }
        guard let year = Int(String(text)), (2000...2200).contains(year) else {
            throw APIError(.badRequest, .invalid, "year \(text) is not one from 2000 to 2200")
        }
        return year
    }
}
