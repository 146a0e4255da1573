import ArgumentParser
import Console
import Foundation
import Governance

extension PolicyRule.Action: ExpressibleByArgument {}
extension PolicyRule.Effect: ExpressibleByArgument {}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Policy rules, stored as data: who may search or ingest what, and which faces a search leaves out.",
        discussion: """
            A rule is a JSON object: name, effect (deny, allow or exclude), actions (search, ingest) and \
            conditions: organisation_types, organisation_jurisdictions, except_organisation_jurisdictions, \
            source_jurisdictions, other_organisations_sources, from and until (YYYY-MM-DD, UTC). Deny wins \
            over allow; every refusal names its rule. Example: \
            {"name": "no-fr-ingest", "effect": "deny", "actions": ["ingest"], "source_jurisdictions": ["FR"]}
            """,
        subcommands: [Add.self, Remove.self, List.self, Default.self, Test.self])

    static func readRule(_ path: String) throws -> PolicyRule {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return try PolicyRule.parse(data)
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a rule, or replace the rule of the same name (admins).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "A JSON file holding the rule.") var file: String

        func run() throws {
            let rule = try PolicyCommand.readRule(file)
            let (governance, principal) = try options.open()
            try governance.putRule(as: principal, rule)
            try options.outputOptions.present(Outcome("in force", "policy rule \(rule.name)"), text: "policy rule '\(rule.name)' in force")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule (admins).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The rule's name.") var name: String

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.removeRule(as: principal, named: name)
            try options.outputOptions.present(Outcome("removed", "policy rule \(name)"), text: "policy rule '\(name)' removed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rules in force and the default, as JSON.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            struct Listing: Encodable {
                var defaultEffect: PolicyRule.Effect
                var rules: [PolicyRule]
            }
            let (governance, principal) = try options.open()
            let policy = try governance.policy(as: principal)
            try printJSON(Listing(defaultEffect: policy.defaultEffect, rules: policy.rules))
        }
    }

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What happens when no rule speaks: allow or deny (admins).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "allow or deny.") var effect: PolicyRule.Effect

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setPolicyDefault(as: principal, effect)
            try options.outputOptions.present(
                Outcome("set", "policy default \(effect.rawValue)"),
                text: "when no rule speaks, the policy says \(effect.rawValue)")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dry run: what the policy decides for an organisation's act, optionally with a new rule (admins, supervisors, auditors).")
        @OptionGroup var options: GovernedOptions
        @Option(help: "search or ingest.") var action: PolicyRule.Action
        @Option(help: "The organisation acting.") var organisation: String
        @Option(help: "The source (for ingest).") var source: String?
        @Option(help: "The day, YYYY-MM-DD (default: now).") var date: String?
        @Option(help: "A JSON file with a rule to try alongside the rules in force.") var rule: String?

        func run() throws {
            let day = try date.map { try parseDay($0, option: "--date") }
            let extra = try rule.map(PolicyCommand.readRule)
            let (governance, principal) = try options.open()
            let decision = try governance.testPolicy(
                as: principal, action: action, organisation: organisation, source: source,
                date: day, with: extra)
            if options.outputOptions.json { return try printJSON(decision) }
            if decision.allowed {
                print("allowed" + (decision.allowedBy.isEmpty ? "" : " by \(decision.allowedBy.joined(separator: ", "))"))
            } else {
                print("denied by rule '\(decision.deniedBy ?? "default")': \(decision.reason ?? "")")
            }
            for (source, rule) in decision.excludedSources.sorted(by: { $0.key < $1.key }) {
                print("  source \(source) left out by rule '\(rule)'")
            }
        }
    }
}
