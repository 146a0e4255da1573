import ArgumentParser
import Console
import Foundation
import Governance
import Store

extension OrganisationType: ExpressibleByArgument {}
extension Role: ExpressibleByArgument {}

struct BootstrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Set up a fresh store: its first organisation and first admin; prints the admin's API token once.",
        discussion: "Refused once the store has any account: from then on, accounts are made by accountable people."
    )

    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var galleryOptions: GalleryOptions

    @Option(help: "The operating organisation's name.")
    var organisation: String

    @Option(help: "Its type: \(OrganisationType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: OrganisationType

    @Option(help: "Its home jurisdiction (ISO 3166), e.g. GB or US-IL.")
    var jurisdiction: String

    @Option(help: "The admin account's name.")
    var admin: String

    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let token = try galleryOptions.governance(pipelineOptions)
            .bootstrap(organisation: organisation, type: type, jurisdiction: jurisdiction, admin: admin)
        try printToken(token, json: outputOptions.json)
    }
}

func printToken(_ token: Governance.IssuedToken, json: Bool) throws {
    if json { return try printJSON(token) }
    print("token \(token.id) for \(token.account) (shown once; keep it secret), valid until \(ISO8601DateFormatter().string(from: token.expiresAt)):")
    print(token.token)
}

struct OrganisationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Organisations: their type, jurisdiction and daily search limit.",
        subcommands: [Add.self, List.self, Limit.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an organisation (admins).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The organisation's name.") var name: String
        @Option(help: "\(OrganisationType.allCases.map(\.rawValue).joined(separator: ", ")).") var type: OrganisationType
        @Option(help: "Home jurisdiction (ISO 3166).") var jurisdiction: String
        @Option(help: "Searches the organisation may run per UTC day.") var searchesPerDay = Governance.defaultOrganisationSearchesPerDay

        func run() throws {
            let (governance, principal) = try options.open()
            let organisation = try governance.addOrganisation(
                as: principal, name: name, type: type, jurisdiction: jurisdiction,
                searchesPerDay: searchesPerDay)
            try options.outputOptions.present(organisation) { "added organisation '\($0.name)' (\($0.type.rawValue), \($0.jurisdiction))" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the organisations.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let organisations = try options.open().0.organisations()
            if options.outputOptions.json { return try printJSON(["organisations": organisations]) }
            for o in organisations { print("\(o.name)  \(o.type.rawValue)  \(o.jurisdiction)  \(o.searchesPerDay) searches/day") }
        }
    }

    struct Limit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an organisation's searches per UTC day (admins).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The organisation's name.") var name: String
        @Argument(help: "Searches its accounts may run together per UTC day.") var searchesPerDay: Int

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setSearchesPerDay(as: principal, organisation: name, to: searchesPerDay)
            try options.outputOptions.present(
                Outcome("limited", "organisation \(name)", figures: ["searches_per_day": searchesPerDay]),
                text: "organisation '\(name)' may run \(searchesPerDay) searches per UTC day")
        }
    }
}

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Accounts: add, approve, grant a role, suspend, limit, list.",
        discussion: """
            An account that may search starts pending and acts only once a supervisor of the same \
            organisation approves it; no one approves their own account.
            """,
        subcommands: [Add.self, Approve.self, Grant.self, Suspend.self, Limit.self, List.self])

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant a role to an account (admins): 'verifier' qualifies a person to verify others' proposed matches.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The account's name.") var name: String
        @Option(help: "The role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: Role

        func run() throws {
            let (governance, principal) = try options.open()
            let account = try governance.grantRole(as: principal, account: name, role: role)
            try options.outputOptions.present(account) { "\($0.name) now holds \($0.roles.listed)" }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account and print its first token, to hand to its holder (admins; supervisors add investigators).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The account's name (its holder signs in with its token).") var name: String
        @Option(name: .customLong("org"), help: "Its organisation.") var organisation: String
        @Option(parsing: .upToNextOption, help: "Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: [Role]
        @Option(help: "Last day of the account, YYYY-MM-DD (UTC).") var expires: String?
        @Option(help: "Searches per UTC day.") var searchesPerDay = Governance.defaultAccountSearchesPerDay

        func run() throws {
            let expiry = try expires.map { try parseDay($0, option: "--expires").addingTimeInterval(86_400) }
            let (governance, principal) = try options.open()
            let (account, token) = try governance.addAccount(
                as: principal, name: name, organisation: organisation, roles: role,
                expiresAt: expiry, searchesPerDay: searchesPerDay)
            if !options.outputOptions.json { print("added account '\(account.name)' (\(account.roles)), \(account.status.rawValue)") }
            try printToken(token, json: options.outputOptions.json)
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a pending account of your organisation (supervisors).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The pending account's name.") var name: String

        func run() throws {
            let (governance, principal) = try options.open()
            let account = try governance.approve(as: principal, account: name)
            try options.outputOptions.present(account) { "approved '\($0.name)'" }
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend an account; its tokens stop working at once.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The account's name.") var name: String
        @Option(help: "Why (kept in the audit log).") var reason: String

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.suspend(as: principal, account: name, reason: reason)
            try options.outputOptions.present(Outcome("suspended", "account \(name)"), text: "suspended '\(name)'")
        }
    }

    struct Limit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account's searches per UTC day.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The account's name.") var name: String
        @Argument(help: "Searches it may run per UTC day.") var searchesPerDay: Int

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setSearchesPerDay(as: principal, account: name, to: searchesPerDay)
            try options.outputOptions.present(
                Outcome("limited", "account \(name)", figures: ["searches_per_day": searchesPerDay]),
                text: "account '\(name)' may run \(searchesPerDay) searches per UTC day")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            struct Listed: Encodable {
                var account: Account
                var organisation: String
            }
            let (governance, principal) = try options.open()
            let accounts = try governance.accounts(as: principal)
            if options.outputOptions.json {
                return try printJSON(["accounts": accounts.map { Listed(account: $0.0, organisation: $0.1.name) }])
            }
            for (account, organisation) in accounts {
                print(
                    "\(account.name)  \(organisation.name)  \(account.roles)  \(account.status.rawValue)"
                        + (account.approvedBy.map { "  approved by \($0)" } ?? ""))
            }
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens of your own account: issue (shown once) and revoke.",
        subcommands: [Issue.self, Revoke.self])

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a new token for your account.")
        @OptionGroup var options: GovernedOptions
        @Option(help: "What the token is for.") var label = "cli"
        @Option(help: "Days it lives (1–366).") var days = Governance.defaultTokenDays

        func run() throws {
            let (governance, principal) = try options.open()
            try printToken(governance.issueToken(as: principal, label: label, days: days), json: options.outputOptions.json)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The token's id (printed when it was issued).") var id: Int64

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.revokeToken(as: principal, id: id)
            try options.outputOptions.present(Outcome("revoked", "token \(id)"))
        }
    }
}
