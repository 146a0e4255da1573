import ArgumentParser
import Console
import Foundation
import Governance
import Store

struct SourceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "source",
        abstract: "Register and list the lawful sources faces are taken from.",
        subcommands: [SourceAddCommand.self, SourceListCommand.self, SourceCollectionCommand.self]
    )
}

extension Source.Kind: ExpressibleByArgument {}
extension Source.LegalBasis: ExpressibleByArgument {}
extension Source.SpecialCategoryCondition: ExpressibleByArgument {}

struct SourceAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a source: where its files are and the legal facts that cover them.",
        discussion: """
            Every face Lineup holds belongs to a source that names its lawful basis (GDPR Art. 6), \
            the Art. 9(2) condition for biometric data, the jurisdiction it was collected in and \
            how long it may be kept. Ingest refuses files of unregistered sources. Admins register \
            sources for their organisation, which answers for them.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Argument(help: "A unique name for the source.")
    var name: String

    @Option(help: "\(Source.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (web-archive: the WARC files under the root).")
    var kind: Source.Kind = .folder

    @Option(help: "The folder the source's files are under.")
    var root: String

    @Option(help: "GDPR Art. 6 basis: \(Source.LegalBasis.allCases.map(\.rawValue).joined(separator: ", ")).")
    var basis: Source.LegalBasis

    @Option(help: "GDPR Art. 9(2) condition: \(Source.SpecialCategoryCondition.allCases.map(\.rawValue).joined(separator: ", ")).")
    var condition: Source.SpecialCategoryCondition

    @Option(help: "ISO 3166 code of where the material was collected, e.g. FR or US-IL.")
    var jurisdiction: String

    @Option(help: "Days faces from this source may be kept.")
    var retentionDays: Int

    @Option(help: "Licence, contract or consent record covering the material.")
    var licence: String?

    @Option(
        help: ArgumentHelp(
            "How the photos were collected: \(Source.CollectionMethod.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion: "Untargeted scraping of faces from the internet or CCTV is prohibited (EU AI Act Art. 5(1)(e)) and is not a choice."))
    var collected: String

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--root \(root) is not a folder")
        }
        let absoluteRoot = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let (governance, principal) = try options.open()
        let source = try governance.registerSource(
            as: principal,
            Source(
                name: name, kind: kind, root: absoluteRoot, legalBasis: basis, specialCategoryCondition: condition,
                jurisdiction: jurisdiction, retentionDays: retentionDays, licenceReference: licence, createdBy: principal.name,
                collectionMethod: try governance.collectionMethod(collected)))
        if options.outputOptions.json {
            try printJSON(source)
        } else {
            print("registered source '\(source.name)' (\(source.jurisdiction), \(source.legalBasis.rawValue))")
        }
    }
}

struct SourceListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered sources.")

    @OptionGroup var options: GovernedOptions

    func run() throws {
        let (governance, principal) = try options.open()
        let sources = try governance.sources(as: principal)
        if options.outputOptions.json {
            try printJSON(["sources": sources])
            return
        }
        if sources.isEmpty { print("no sources yet: register one with 'lineup source add'") }
        for s in sources {
            print(
                "\(s.name)  \(s.kind.rawValue)  \(s.jurisdiction)  \(s.legalBasis.rawValue) + \(s.specialCategoryCondition.rawValue)"
                    + "  keep \(s.retentionDays) days  collected: \(s.collectionMethod?.rawValue ?? "not stated")  root \(s.root ?? "-")")
        }
    }
}

struct SourceCollectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collection",
        abstract: "State how a source registered before sources stated it collected its photos (its admins); it takes no photos until then.")

    @OptionGroup var options: GovernedOptions

    @Argument(help: "The source's name.")
    var name: String

    @Option(help: "How the photos were collected: \(Source.CollectionMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var collected: String

    func run() throws {
        let (governance, principal) = try options.open()
        let source = try governance.stateCollection(as: principal, source: name, method: collected)
        try options.outputOptions.present(source) { "source '\($0.name)' collected: \($0.collectionMethod?.rawValue ?? "-")" }
    }
}
