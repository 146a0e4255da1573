import Foundation
import Governance
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@testable import Server

/// The supervision pages through a browser's eyes: what each role sees and can do on
/// /accounts, /audit and /policy, and that bad input leaves everything as it was.
@Suite struct WebSupervisionTests {
    static let denyMetRule =
        #"{"name": "met-pause", "effect": "deny", "actions": ["search"], "#
        + #""organisation_types": ["law-enforcement"], "description": "searches by the police are paused"}"#

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    /// A pending investigator of Met, added by Met's supervisor.
    static func addPending(_ world: ServerWorld, name: String) throws {
        let supervisor = try world.governance.authenticate(token: world.tokens[.supervisor]!)
        _ = try world.governance.addAccount(as: supervisor, name: name, organisation: "Met", roles: [.investigator])
    }

    static func account(_ world: ServerWorld, named name: String) throws -> Account? {
        let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
        return try world.governance.accounts(as: admin).first { $0.0.name == name }?.0
    }

    @Test func supervisorApprovesAPendingAccountThroughThePage() async throws {
        let world = try ServerWorld()
        try Self.addPending(world, name: "newbie")
        try Self.addPending(world, name: "ann <b>")
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.supervisor]!)
            let page = try await browser.get(client, "/accounts")
            #expect(page.status == .ok)
            let html = Self.text(page)
            #expect(html.contains(#"id="approve-newbie""#))
            #expect(!html.contains(#"id="approve-inv""#), "an active account has nothing to approve")
            let pending = try #require(html.range(of: #"id="account-newbie""#))
            let active = try #require(html.range(of: #"id="account-inv""#))
            #expect(pending.lowerBound < active.lowerBound, "pending accounts come first")
            #expect(html.contains("ann &lt;b&gt;") && !html.contains("ann <b>"), "names are escaped")
            #expect(html.contains(#"action="/accounts/ann%20%3Cb%3E/approve""#), "names are encoded in paths")

            let approved = try await browser.post(client, "/accounts/newbie/approve")
            #expect(approved.status == .seeOther)
            let location = try #require(approved.headers[.location])
            #expect(location == "/accounts?approved=newbie")
            let after = Self.text(try await browser.get(client, location))
            #expect(after.contains(#"id="notice""#) && after.contains("Approved newbie"))
            #expect(!after.contains(#"id="approve-newbie""#))

            #expect(try await browser.post(client, "/accounts/ann%20%3Cb%3E/approve").status == .seeOther)

            // Approving twice is refused on the page, with Governance's reason.
            let again = try await browser.post(client, "/accounts/newbie/approve")
            #expect(again.status == .unprocessableContent)
            #expect(Self.text(again).contains("not pending"))
        }
        #expect(try Self.account(world, named: "newbie")?.status == .active)
        #expect(try Self.account(world, named: "newbie")?.approvedBy == "sup")
        #expect(try Self.account(world, named: "ann <b>")?.status == .active)
    }

    @Test func suspendingNeedsAReasonAndStopsTheAccount() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.admin]!)
            let blank = try await browser.post(client, "/accounts/inv/suspend", ["reason": "  "])
            #expect(blank.status == .badRequest)
            #expect(Self.text(blank).contains("fill in reason"))
            #expect(try Self.account(world, named: "inv")?.status == .active, "a refused suspension changes nothing")

            let suspended = try await browser.post(client, "/accounts/inv/suspend", ["reason": "left the force"])
            #expect(suspended.status == .seeOther)
            #expect(suspended.headers[.location] == "/accounts?suspended=inv")
            #expect(try Self.account(world, named: "inv")?.status == .suspended)
        }
    }

    @Test func aPostWithoutTheCSRFFieldIsRefusedAndChangesNothing() async throws {
        let world = try ServerWorld()
        try Self.addPending(world, name: "newbie")
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.supervisor]!)
            var headers = browser.headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            let forged = try await client.execute(
                uri: "/accounts/newbie/approve", method: .post, headers: headers,
                body: ByteBuffer(string: "confirm=yes"))
            #expect(forged.status == .forbidden)
            let wrong = try await client.execute(
                uri: "/accounts/newbie/approve", method: .post, headers: headers,
                body: ByteBuffer(string: "csrf=not-the-token"))
            #expect(wrong.status == .forbidden)
        }
        #expect(try Self.account(world, named: "newbie")?.status == .pending)
    }

    @Test func theAuditPageListsFiltersAndVerifiesTheChain() async throws {
        let world = try ServerWorld()
        let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
        try world.governance.putRule(as: admin, try PolicyRule.parse(Data(Self.denyMetRule.utf8)))
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.auditor]!)
            let all = try await browser.get(client, "/audit")
            #expect(all.status == .ok)
            let html = Self.text(all)
            #expect(html.contains("account.add") && html.contains("policy.add") && html.contains("bootstrap"))
            #expect(html.contains(#"id="audit-count""#))
            let newest = try #require(html.range(of: "policy.add"))
            let oldest = try #require(html.range(of: ">bootstrap<"))
            #expect(newest.lowerBound < oldest.lowerBound, "newest first")

            let filtered = Self.text(try await browser.get(client, "/audit?action=policy.&actor=root"))
            #expect(filtered.contains("policy.add") && filtered.contains("met-pause"))
            #expect(!filtered.contains("account.add"))
            #expect(filtered.contains("1 entries match"))
            #expect(filtered.contains(#"value="policy.""#), "the filter is kept in the form")

            let nobody = Self.text(try await browser.get(client, "/audit?actor=nobody+at+all"))
            #expect(nobody.contains("0 entries match") && nobody.contains(#"value="nobody at all""#))

            let badDay = try await browser.get(client, "/audit?since=last+week")
            #expect(badDay.status == .badRequest)
            #expect(Self.text(badDay).contains("is not a date YYYY-MM-DD"))

            let verified = try await browser.get(client, "/audit?verify=1")
            #expect(verified.status == .ok)
            let verifiedHTML = Self.text(verified)
            #expect(verifiedHTML.contains(#"id="chain-intact""#) && verifiedHTML.contains(#"id="head-hash""#))
            #expect(!verifiedHTML.contains(#"id="chain-broken""#))
        }
        // Browsing and verifying are logged.
        let auditor = try world.governance.authenticate(token: world.tokens[.auditor]!)
        let actions = try world.governance.exportAudit(as: auditor).filter { $0.actor == "aud" }.map(\.action)
        #expect(actions.contains("audit.export") && actions.contains("audit.verify"))
    }

    @Test func theEditorAddsRefusesAndRemovesRules() async throws {
        let world = try ServerWorld()
        let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.admin]!)
            #expect(Self.text(try await browser.get(client, "/policy")).contains(#"id="rule-form""#))

            let saved = try await browser.post(client, "/policy/rules", ["rule": Self.denyMetRule])
            #expect(saved.status == .seeOther)
            #expect(saved.headers[.location] == "/policy?saved=met-pause")
            let listed = Self.text(try await browser.get(client, "/policy?saved=met-pause"))
            #expect(listed.contains(#"id="rule-met-pause""#) && listed.contains(#"id="remove-met-pause""#))
            #expect(listed.contains("&quot;law-enforcement&quot;"), "conditions shown as JSON")
            #expect(listed.contains("Saved rule met-pause"))
            #expect(try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName, "met-pause"])

            let editing = Self.text(try await browser.get(client, "/policy?edit=met-pause"))
            #expect(editing.contains("&quot;name&quot; : &quot;met-pause&quot;"), "Edit fills the editor with the rule")

            let malformed = try await browser.post(client, "/policy/rules", ["rule": #"{"name": "broken", "effect": "#])
            #expect(malformed.status == .unprocessableContent)
            let malformedHTML = Self.text(malformed)
            #expect(malformedHTML.contains(#"id="edit-error""#) && malformedHTML.contains("not valid JSON"))
            #expect(malformedHTML.contains("{&quot;name&quot;: &quot;broken&quot;"), "the text is kept to correct it")
            let invalid = try await browser.post(
                client, "/policy/rules",
                ["rule": #"{"name": "x", "effect": "deny", "actions": ["search"], "organisation_jurisdictions": ["Illinois"]}"#])
            #expect(invalid.status == .unprocessableContent)
            #expect(Self.text(invalid).contains("is not an ISO 3166 code"))
            #expect(
                try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName, "met-pause"],
                "refused rules change nothing")

            let removed = try await browser.post(client, "/policy/rules/met-pause/delete")
            #expect(removed.status == .seeOther)
            #expect(removed.headers[.location] == "/policy?removed=met-pause")
            #expect(try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName])
            let gone = try await browser.post(client, "/policy/rules/met-pause/delete")
            #expect(gone.status == .notFound && Self.text(gone).contains("no policy rule named"))

            let strict = try await browser.post(client, "/policy/default", ["effect": "deny"])
            #expect(strict.status == .seeOther)
            #expect(try world.governance.policy(as: admin).defaultEffect == .deny)
            let exclude = try await browser.post(client, "/policy/default", ["effect": "exclude"])
            #expect(exclude.status == .unprocessableContent && Self.text(exclude).contains("the default is allow or deny"))
            #expect(try world.governance.policy(as: admin).defaultEffect == .deny, "a refused default changes nothing")
        }
    }

    @Test func theDryRunShowsWhichRuleDecides() async throws {
        let world = try ServerWorld()
        let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
        try await world.test { client in
            let browser = try await BrowserSession.signIn(client, token: world.tokens[.auditor]!)
            #expect(!Self.text(try await browser.get(client, "/policy")).contains(#"id="rule-form""#), "only admins edit")

            let allowed = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Met"])
            #expect(allowed.status == .ok)
            #expect(Self.text(allowed).contains(#"id="decision-allowed""#))

            let drafted = try await browser.post(
                client, "/policy/test",
                ["action": "search", "organisation": "Met", "rule": Self.denyMetRule])
            let draftedHTML = Self.text(drafted)
            #expect(draftedHTML.contains(#"id="decision-denied""#) && draftedHTML.contains("rule met-pause"))
            #expect(try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName], "a draft rule is not saved")

            try world.governance.putRule(as: admin, try PolicyRule.parse(Data(Self.denyMetRule.utf8)))
            let denied = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Met"])
            let deniedHTML = Self.text(denied)
            #expect(deniedHTML.contains(#"id="decision-denied""#) && deniedHTML.contains("rule met-pause"))
            #expect(deniedHTML.contains("searches by the police are paused"))
            #expect(deniedHTML.contains(#"<option value="Met" selected>"#), "the question is kept in the form")
            let otherOrganisation = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Operations"])
            #expect(Self.text(otherOrganisation).contains(#"id="decision-allowed""#))
            let beforeTheRule = try await browser.post(
                client, "/policy/test",
                ["action": "ingest", "organisation": "Met", "date": "2020-01-01"])
            #expect(Self.text(beforeTheRule).contains(#"id="decision-allowed""#))

            let unknown = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Nowhere PD"])
            #expect(unknown.status == .notFound)
            #expect(Self.text(unknown).contains(#"id="test-error""#) && Self.text(unknown).contains("no organisation named"))
            let badDay = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Met", "date": "soon"])
            #expect(badDay.status == .badRequest && Self.text(badDay).contains("is not a date"))
            let badDraft = try await browser.post(client, "/policy/test", ["action": "search", "organisation": "Met", "rule": "{"])
            #expect(badDraft.status == .unprocessableContent && Self.text(badDraft).contains("not valid JSON"))
            let badAction = try await browser.post(client, "/policy/test", ["action": "erase", "organisation": "Met"])
            #expect(badAction.status == .badRequest && Self.text(badAction).contains("choose an action"))
        }
        #expect(try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName, "met-pause"])
    }

    @Test func rolesAndSessionsAreChecked() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            let investigator = try await BrowserSession.signIn(client, token: world.tokens[.investigator]!)
            for path in ["/audit", "/accounts", "/policy"] {
                #expect(try await investigator.get(client, path).status == .forbidden, "\(path)")
            }
            let auditor = try await BrowserSession.signIn(client, token: world.tokens[.auditor]!)
            #expect(try await auditor.post(client, "/policy/rules", ["rule": Self.denyMetRule]).status == .forbidden)
            #expect(try await auditor.get(client, "/accounts").status == .forbidden)
            let supervisor = try await BrowserSession.signIn(client, token: world.tokens[.supervisor]!)
            let policy = try await supervisor.get(client, "/policy")
            #expect(policy.status == .ok && !Self.text(policy).contains(#"id="rule-form""#))

            for path in ["/audit", "/accounts", "/policy"] {
                let unsigned = try await client.execute(uri: path, method: .get)
                #expect(unsigned.status == .seeOther)
                #expect(unsigned.headers[.location]?.hasPrefix("/login") == true, "\(path)")
            }
            let unsignedPost = try await client.execute(
                uri: "/accounts/inv/suspend", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "reason=x"))
            #expect(unsignedPost.status == .unauthorized)
        }
        let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
        #expect(try world.governance.policy(as: admin).rules.map(\.name) == [PolicyRuleRecord.authorisationRuleName])
        #expect(try Self.account(world, named: "inv")?.status == .active)
    }
}
