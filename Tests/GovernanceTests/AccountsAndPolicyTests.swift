import FaceVision
import Foundation
import Gallery
import Store
import Synchronization
import Testing

@testable import Governance

@Suite struct AccountsAndPolicyTests {
    @Test(arguments: MetadataEngine.available) func tokensAreStoredAsHashesAndStopWorkingWhenRevokedExpiredOrSuspended(engine: MetadataEngine) throws
    {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance
        let cast = try world.cast(ingest: false)
        let issued = try g.issueToken(as: cast.investigator, label: "laptop", days: 1)
        #expect(try g.authenticate(token: issued.token).name == "inv")
        for (_, bytes) in try world.storeFiles() {
            #expect(bytes.range(of: Data(issued.token.utf8)) == nil, "the token itself is never written")
        }
        #expect(throws: GovernanceError.unauthenticated("unknown token")) { _ = try g.authenticate(token: issued.token + "x") }

        world.advance(days: 2)
        #expect(throws: GovernanceError.unauthenticated("the token expired")) { _ = try g.authenticate(token: issued.token) }

        let second = try g.issueToken(as: cast.investigator, label: "desk", days: 30)
        let id = try g.database.read { db in try db.ids("SELECT id FROM accessToken WHERE label = 'desk'").first }!
        #expect(throws: GovernanceError.self) { try g.revokeToken(as: cast.supervisor, id: id) }
        try g.revokeToken(as: cast.investigator, id: id)
        #expect(throws: GovernanceError.unauthenticated("the token was revoked")) { _ = try g.authenticate(token: second.token) }

        let third = try g.issueToken(as: cast.investigator, label: "phone", days: 30)
        try g.suspend(as: cast.supervisor, account: "inv", reason: "left the unit")
        #expect(throws: GovernanceError.forbidden("account inv is suspended")) { _ = try g.authenticate(token: third.token) }
        // A principal already in hand loses its rights at once.
        #expect(throws: GovernanceError.forbidden("account inv is suspended")) { _ = try world.search(cast.investigator, "obama.jpg") }
    }

    @Test(arguments: MetadataEngine.available) func accountsExpire(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let cast = try world.cast(ingest: false)
        let g = world.governance
        let token = try g.addAccount(
            as: cast.admin, name: "temp", organisation: "Met", roles: [.auditor],
            expiresAt: world.clock.now().addingTimeInterval(3600)
        ).1.token
        #expect(try g.authenticate(token: token).name == "temp")
        world.advance(days: 1)
        #expect(throws: GovernanceError.forbidden("account temp expired")) { _ = try g.authenticate(token: token) }
    }

    @Test(arguments: MetadataEngine.available) func policyRulesRefuseNamingTheRuleAndExcludeSources(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance
        let cast = try world.cast(ingest: false)
        try FileManager.default.createDirectory(atPath: world.folder + "/photos-il", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: world.folder + "/photos/biden.jpg", toPath: world.folder + "/photos-il/biden.jpg")
        _ = try g.registerSource(as: cast.admin, world.source(name: "portraits", root: world.folder + "/photos", jurisdiction: "GB"))
        _ = try g.registerSource(as: cast.admin, world.source(name: "chicago", root: world.folder + "/photos-il", jurisdiction: "US-IL"))
        _ = try g.registerSource(as: cast.admin, world.source(name: "paris", root: world.folder + "/photos", jurisdiction: "FR"))

        // Sources in FR may not be ingested.
        try g.putRule(
            as: cast.admin,
            PolicyRule.parse(
                Data(
                    #"""
                    {"name": "no-fr-ingest", "effect": "deny", "actions": ["ingest"], "source_jurisdictions": ["FR"],
                     "description": "French sources are not ingested"}
                    """#.utf8)))
        #expect(throws: GovernanceError.deniedByPolicy(rule: "no-fr-ingest", reason: "French sources are not ingested")) {
            _ = try g.ingest(as: cast.admin, source: "paris", paths: [], pipelines: [GovernedWorld.pipeline])
        }
        #expect(try g.gallery.store.counts().faces == 0, "a refused ingest stores nothing")
        _ = try g.ingest(as: cast.admin, source: "portraits", paths: [], pipelines: [GovernedWorld.pipeline])
        _ = try g.ingest(as: cast.admin, source: "chicago", paths: [], pipelines: [GovernedWorld.pipeline])

        // Faces from US-IL sources are left out for organisations outside US-IL.
        #expect(try world.search(cast.investigator, "biden.jpg").result.candidates.filter { $0.originURI == "biden.jpg" }.count == 2)
        try g.putRule(
            as: cast.admin,
            PolicyRule(
                name: "bipa", effect: .exclude, actions: [.search],
                exceptOrganisationJurisdictions: ["US-IL"], sourceJurisdictions: ["US-IL"]))
        let filtered = try world.search(cast.investigator, "biden.jpg")
        #expect(filtered.result.candidates.filter { $0.originURI == "biden.jpg" }.map(\.source) == ["portraits"])
        #expect(filtered.excludedSources == ["chicago": "bipa"])

        // Organisations in US-IL may not search until 2027-05-09 (deny over allow).
        _ = try g.addOrganisation(as: cast.admin, name: "Chicago PD", type: .lawEnforcement, jurisdiction: "US-IL")
        try g.putRule(as: cast.admin, PolicyRule(name: "everyone-may-search", effect: .allow, actions: [.search]))
        try g.putRule(
            as: cast.admin,
            PolicyRule(
                name: "illinois-moratorium", effect: .deny, actions: [.search],
                organisationJurisdictions: ["US"], until: "2027-05-09"))
        let dryRun = try g.testPolicy(as: cast.auditor, action: .search, organisation: "Chicago PD")
        #expect(!dryRun.allowed && dryRun.deniedBy == "illinois-moratorium" && dryRun.allowedBy == ["everyone-may-search"])
        #expect(dryRun.excludedSources.isEmpty, "bipa does not apply inside US-IL")
        let later = try g.testPolicy(as: cast.auditor, action: .search, organisation: "Chicago PD", date: PolicyRule.day("2027-05-09"))
        #expect(later.allowed)
        #expect(try g.testPolicy(as: cast.auditor, action: .search, organisation: "Met").allowed)
        #expect(throws: GovernanceError.self) { _ = try g.testPolicy(as: cast.investigator, action: .search, organisation: "Met") }

        // Private organisations see only their own sources' faces.
        let privateRule = PolicyRule(
            name: "private-own-sources", effect: .exclude, actions: [.search],
            organisationTypes: ["private"], otherOrganisationsSources: true)
        _ = try g.addOrganisation(as: cast.admin, name: "Shop", type: .private, jurisdiction: "GB")
        let shop = try g.testPolicy(as: cast.auditor, action: .search, organisation: "Shop", with: privateRule)
        #expect(Set(shop.excludedSources.keys) == ["portraits", "chicago", "paris"])

        // A default of deny needs an allow rule.
        try g.setPolicyDefault(as: cast.admin, .deny)
        try g.removeRule(as: cast.admin, named: "everyone-may-search")
        #expect(throws: GovernanceError.deniedByPolicy(rule: "default", reason: "the policy default is deny and no rule allows search")) {
            _ = try world.search(cast.investigator, "obama.jpg")
        }
        // Refusals are in the audit log with the rule's name.
        let refused = try g.exportAudit(as: cast.auditor).filter { $0.action.hasSuffix(".refused") }
        #expect(refused.map(\.action) == ["ingest.refused", "search.refused"])
        #expect(refused.allSatisfy { $0.details.contains("\"rule\"") })
        // Only admins edit rules; bad rules are refused with a reason.
        #expect(throws: GovernanceError.self) { try g.putRule(as: cast.supervisor, PolicyRule(name: "x", effect: .deny, actions: [.search])) }
        #expect(throws: GovernanceError.invalid("policy rule 'y': 'Illinois' is not an ISO 3166 code")) {
            _ = try PolicyRule.parse(Data(#"{"name": "y", "effect": "deny", "actions": ["search"], "source_jurisdictions": ["Illinois"]}"#.utf8))
        }
        #expect(throws: GovernanceError.invalid("policy rule: missing field 'effect'")) {
            _ = try PolicyRule.parse(Data(#"{"name": "z", "actions": ["search"]}"#.utf8))
        }
    }

    @Test(arguments: MetadataEngine.available) func searchesPerDayAreLimitedPerAccountAndOrganisation(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance
        let cast = try world.cast()
        try g.setSearchesPerDay(as: cast.supervisor, account: "inv", to: 2)
        _ = try world.search(cast.investigator, "obama.jpg")
        _ = try world.search(cast.investigator, "obama.jpg")
        #expect(throws: GovernanceError.rateLimited("inv has run 2 of 2 searches allowed today")) {
            _ = try world.search(cast.investigator, "obama.jpg")
        }
        world.advance(days: 1)
        _ = try world.search(cast.investigator, "obama.jpg")
        try g.setSearchesPerDay(as: cast.admin, organisation: "Met", to: 1)
        try g.setSearchesPerDay(as: cast.supervisor, account: "inv", to: 100)
        #expect(throws: GovernanceError.rateLimited("Met has run 1 of 1 searches allowed today")) {
            _ = try world.search(cast.investigator, "obama.jpg")
        }
        #expect(throws: GovernanceError.self) { try g.setSearchesPerDay(as: cast.supervisor, organisation: "Met", to: 100) }
    }

    /// Searches racing for the last one of the day: exactly one is recorded, even
    /// though all of them pass the check made before the work.
    @Test(arguments: MetadataEngine.available) func concurrentSearchesCannotOvershootTheLimit(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance
        let cast = try world.cast()
        try g.setSearchesPerDay(as: cast.supervisor, account: "inv", to: 1)
        let models = ModelDirectory(path: GovernedWorld.root.appendingPathComponent(".lineup/models").path)
        let pipelines = try (0..<4).map { _ in try FacePipeline(models: models) }
        let photo = try GovernedWorld.photo("obama.jpg")
        let outcomes = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: pipelines.count) { index in
            let outcome: String
            do {
                _ = try g.search(
                    as: cast.investigator, justification: GovernedWorld.justification, photo: photo,
                    pipeline: pipelines[index])
                outcome = "searched"
            } catch GovernanceError.rateLimited {
                outcome = "refused"
            } catch {
                outcome = "\(error)"
            }
            outcomes.withLock { $0.append(outcome) }
        }
        #expect(outcomes.withLock { $0 }.sorted() == ["refused", "refused", "refused", "searched"])
        let searches = try g.exportAudit(as: cast.auditor).filter { $0.action == "search" }
        #expect(searches.count == 1)
    }
}
