import Foundation
import Governance
import Hummingbird
import Store

/// The supervision pages: who may act (accounts), what was done (the audit log) and
/// the rules that decide what may be done (policy). They call the same Governance
/// functions as the JSON API and decide nothing themselves; a refusal of bad input
/// (malformed JSON, an unknown organisation, a bad date) is shown on the page it came
/// from, and nothing is changed.
extension LineupServer {
    func addSupervisionPages(to router: Router<LineupRequestContext>) {
        addAccountPages(to: router)
        addAuditPage(to: router)
        addPolicyPages(to: router)
    }

    // MARK: Accounts

    private func addAccountPages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/accounts") { web in
            let query = web.queryForm
            let notice =
                query["approved"].map { "Approved \($0): the account can sign in and search." }
                ?? query["suspended"].map { "Suspended \($0): its tokens and sessions no longer work." }
            return try await accountsPage(web, notice: notice)
        }
        page(router, .post, "/accounts/{name}/approve") { web in
            let principal = try web.signedIn
            let name = try web.parameter("name")
            if let refusal = try await refusalOfInput({ _ = try await blocking { try governance.approve(as: principal, account: name) } }) {
                return try await accountsPage(web, refusal: refusal)
            }
            return redirect(to: "/accounts?approved=" + PageText.pathSegment(name))
        }
        page(router, .post, "/accounts/{name}/suspend") { web in
            let principal = try web.signedIn
            let name = try web.parameter("name")
            let refusal = try await refusalOfInput {
                let reason = try web.form.required("reason")
                try await blocking { try governance.suspend(as: principal, account: name, reason: reason) }
            }
            if let refusal { return try await accountsPage(web, refusal: refusal) }
            return redirect(to: "/accounts?suspended=" + PageText.pathSegment(name))
        }
    }

    /// The accounts the caller may see, pending ones first (they wait for a supervisor).
    private func accountsPage(_ web: WebRequest, notice: String? = nil, refusal: APIError? = nil) async throws -> Response {
        let principal = try web.signedIn
        let listed = try await blocking { try governance.accounts(as: principal) }
        var page = AccountsPage(listed, approver: principal.has(.supervisor))
        page.notice = notice
        page.error = refusal?.message
        return render("accounts", page, for: web, status: refusal?.status ?? .ok)
    }

    // MARK: Audit log

    /// The audit-log browser. Browsing is itself logged: each view reads the log
    /// through `Governance.exportAudit`, which records an `audit.export` entry, and a
    /// chain check (`?verify=1`) records an `audit.verify` entry. The page shows the
    /// newest `auditRowsShown` matching entries and how many matched.
    private func addAuditPage(to router: Router<LineupRequestContext>) {
        page(router, .get, "/audit") { web in
            let principal = try web.signedIn
            let query = web.queryForm
            let filter = AuditFilter(
                actor: query["actor"], actionPrefix: query["action"], caseNumber: query["case"],
                since: query["since"])
            var page = AuditPage(filter: filter.fields)
            var status = HTTPResponse.Status.ok
            if query["verify"] == "1" {
                let verification = try await blocking { try governance.verifyAudit(as: principal) }
                page.verification = AuditPage.Verification(verification)
            }
            do {
                let selection = AuditEntry.Selection(
                    actor: filter.actor, actionPrefix: filter.actionPrefix, caseNumber: filter.caseNumber,
                    since: try filter.since.map { try day($0, field: "since") })
                let browse = try await blocking { try governance.browseAudit(as: principal, selection, limit: Self.auditRowsShown) }
                page.count = browse.matching == browse.countUpTo ? "at least \(browse.matching)" : String(browse.matching)
                page.shown = browse.entries.count
                page.truncated = browse.matching > browse.entries.count
                page.entries = browse.entries.map(AuditRow.init)
            } catch let refusal as APIError {
                page.error = refusal.message
                status = refusal.status
            }
            return render("audit", page, for: web, status: status)
        }
    }

    private static let auditRowsShown = 200

    /// The audit browser's filters, as given in the query string (blank means any).
    private struct AuditFilter {
        var actor: String?
        var actionPrefix: String?
        var caseNumber: String?
        var since: String?

        init(actor: String?, actionPrefix: String?, caseNumber: String?, since: String?) {
            let given = { (value: String?) in value.flatMap { $0.isEmpty ? nil : $0 } }
            self.actor = given(actor)
            self.actionPrefix = given(actionPrefix)
            self.caseNumber = given(caseNumber)
            self.since = given(since)
        }

        /// For the form: the values to put back in its fields.
        var fields: AuditPage.Filter { AuditPage.Filter(actor: actor, action: actionPrefix, caseNumber: caseNumber, since: since) }
    }

    // MARK: Policy

    private func addPolicyPages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/policy") { web in
            let query = web.queryForm
            var view = PolicyView()
            view.notice =
                query["saved"].map { "Saved rule \($0): it applies from now on." }
                ?? query["removed"].map { "Removed rule \($0)." }
                ?? query["default"].map { "The default is now \($0)." }
            view.editing = query["edit"]
            return try await policyPage(web, view)
        }
        page(router, .post, "/policy/rules") { web in
            let principal = try web.signedIn
            let text = web.form["rule"] ?? ""
            var savedName = ""
            let refusal = try await refusalOfInput {
                guard !text.isEmpty else { throw APIError(.badRequest, .invalid, "paste one rule's JSON") }
                let rule = try PolicyRule.parse(Data(text.utf8))
                try await blocking { try governance.putRule(as: principal, rule) }
                savedName = rule.name
            }
            if let refusal {
                return try await policyPage(web, PolicyView(editorText: text, editError: refusal), status: refusal.status)
            }
            return redirect(to: "/policy?saved=" + PageText.pathSegment(savedName))
        }
        page(router, .post, "/policy/rules/{name}/delete") { web in
            let principal = try web.signedIn
            let name = try web.parameter("name")
            if let refusal = try await refusalOfInput({ try await blocking { try governance.removeRule(as: principal, named: name) } }) {
                return try await policyPage(web, PolicyView(editError: refusal), status: refusal.status)
            }
            return redirect(to: "/policy?removed=" + PageText.pathSegment(name))
        }
        page(router, .post, "/policy/default") { web in
            let principal = try web.signedIn
            let chosen = web.form["effect"] ?? ""
            let refusal = try await refusalOfInput {
                guard let effect = PolicyRule.Effect(rawValue: chosen) else {
                    throw APIError(.badRequest, .invalid, "the default is allow or deny, not '\(chosen)'")
                }
                try await blocking { try governance.setPolicyDefault(as: principal, effect) }
            }
            if let refusal { return try await policyPage(web, PolicyView(editError: refusal), status: refusal.status) }
            return redirect(to: "/policy?default=" + PageText.pathSegment(chosen))
        }
        page(router, .post, "/policy/test") { web in
            let principal = try web.signedIn
            var view = PolicyView(question: DryRunQuestion(form: web.form))
            let question = view.question
            let refusal = try await refusalOfInput {
                guard let action = PolicyRule.Action(rawValue: question.action) else {
                    throw APIError(
                        .badRequest, .invalid,
                        "choose an action: "
                            + PolicyRule.Action.allCases.map(\.rawValue).joined(separator: " or "))
                }
                let organisation = try web.form.required("organisation")
                let date = try question.date.map { try day($0, field: "date") }
                let draft = try question.draftRule.map { try PolicyRule.parse(Data($0.utf8)) }
                view.decision = try await blocking {
                    try governance.testPolicy(
                        as: principal, action: action, organisation: organisation, source: question.source,
                        date: date, with: draft)
                }
            }
            view.testError = refusal
            return try await policyPage(web, view, status: refusal?.status ?? .ok)
        }
    }

    /// What the policy page shows beside the rules: a notice, the editor's text and
    /// refusal, and the dry run's question, decision or refusal.
    private struct PolicyView {
        var notice: String?
        var editing: String?
        var editorText: String?
        var editError: APIError?
        var question = DryRunQuestion()
        var decision: PolicyDecision?
        var testError: APIError?
    }

    /// The dry-run form's fields, kept to fill the form again with the answer.
    private struct DryRunQuestion {
        var action = PolicyRule.Action.search.rawValue
        var organisation: String?
        var date: String?
        var source: String?
        var draftRule: String?

        init() {}

        init(form: WebForm) {
            let given = { (field: String) in form[field].flatMap { $0.isEmpty ? nil : $0 } }
            action = given("action") ?? ""
            organisation = given("organisation")
            date = given("date")
            source = given("source")
            draftRule = given("rule")
        }
    }

    private func policyPage(_ web: WebRequest, _ view: PolicyView, status: HTTPResponse.Status = .ok) async throws -> Response {
        let principal = try web.signedIn
        let (policy, organisations) = try await blocking { (try governance.policy(as: principal), try governance.organisations()) }
        var page = PolicyPage(
            policy, organisations: organisations, editor: principal.has(.admin), action: view.question.action,
            organisation: view.question.organisation,
            question: PolicyPage.DryRunFields(date: view.question.date, source: view.question.source, rule: view.question.draftRule))
        page.notice = view.notice
        let edited = view.editing.flatMap { name in policy.rules.first { $0.name == name } }
        page.editorText = view.editorText ?? edited.map(PolicyPage.json)
        page.editError = view.editError?.message
        page.testError = view.testError?.message
        page.decision = view.decision.map { DryRunDecision($0, default: policy.defaultEffect) }
        return render("policy", page, for: web, status: status)
    }

    // MARK: Refusals shown on the page

    /// Runs an act and returns its refusal (a Governance or input error) to show on the
    /// page instead of the act's result; any other error is left to the error page.
    private func refusalOfInput(_ act: () async throws -> Void) async throws -> APIError? {
        do {
            try await act()
            return nil
        } catch let error as GovernanceError {
            return APIError.from(error)
        } catch let error as APIError {
            return error
        }
    }
}
