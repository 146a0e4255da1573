import ArgumentParser
import Console
import FaceVision
import Foundation
import Governance
import Store

struct EraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase faces, a picture or a source, and print the receipt (privacy officers, admins).",
        discussion: """
            Removes the rows, overwrites the freed database pages, takes the faces out of the index and \
            rewrites its snapshot, and checkpoints the database, so no file Lineup owns keeps the \
            templates. Originals stay where the source keeps them: Lineup holds references, not copies. \
            A person is erased with 'lineup access erase' or 'lineup optout erase'.
            """
    )

    @OptionGroup var options: GovernedOptions

    @Option(parsing: .upToNextOption, help: "Face ids.") var face: [Int64] = []
    @Option(help: "A picture's id.") var image: Int64?
    @Option(help: "A source's name.") var source: String?
    @Option(help: "Why (recorded in the receipt and the audit log).") var reason: String

    func validate() throws {
        guard [!face.isEmpty, image != nil, source != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("name exactly one of --face, --image or --source")
        }
    }

    func run() throws {
        let (governance, principal) = try options.open()
        let target: Governance.ErasureTarget =
            if let image { .image(image) } else if let source { .source(source) } else {
                .faces(face, scope: "face", label: face.map(String.init).joined(separator: ","))
            }
        try printJSON(governance.erase(as: principal, target, reason: reason))
    }
}

struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Erase every source collected in a jurisdiction (GB, or US for every US state), with a receipt.")

    @OptionGroup var options: GovernedOptions
    @Option(help: "ISO 3166 code.") var jurisdiction: String
    @Option(help: "Why.") var reason: String

    func run() throws {
        let (governance, principal) = try options.open()
        try printJSON(governance.erase(as: principal, .jurisdiction(jurisdiction), reason: reason))
    }
}

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Retention: erase what its source's period no longer covers.",
        subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase faces past their source's retention period (from ingest) and expired search photos; prints the receipts.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(["receipts": governance.runRetention(as: principal)])
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The hash-chained audit log: verify it, export it (auditors, admins).",
        subcommands: [Verify.self, Export.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and chain; names the first entry edited, removed or moved. Exits 1 when broken.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let (governance, principal) = try options.open()
            let result = try governance.verifyAudit(as: principal)
            if options.outputOptions.json {
                try printJSON(result)
            } else if !result.isIntact {
                print("audit log BROKEN: \(result.badEntryCount) of \(result.entries) entries do not fit the chain")
                for bad in result.badEntries { print("  entry \(bad.id): \(bad.problem)") }
                if result.badEntryCount > result.badEntries.count {
                    print("  … and \(result.badEntryCount - result.badEntries.count) more")
                }
            } else {
                print("audit log intact: \(result.entries) entries; head hash \(result.headHash) (keep it to detect entries removed from the end)")
            }
            if !result.isIntact { throw ExitCode(1) }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the entries as JSON lines, oldest first.")
        @OptionGroup var options: GovernedOptions
        @Option(help: "Only entries from this day on, YYYY-MM-DD (UTC).") var since: String?

        func run() throws {
            let day = try since.map { try parseDay($0, option: "--since") }
            let (governance, principal) = try options.open()
            for entry in try governance.exportAudit(as: principal, since: day) { try printJSONLine(entry) }
        }
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The keyring templates are sealed with.", subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new key current, re-seal every template and snapshot with it, and retire the old keys (admins).")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let (governance, principal) = try options.open()
            let result = try governance.rotateKeys(as: principal)
            try options.outputOptions.present(
                Outcome("rotated", "key \(result.keyID)", figures: ["resealed": result.resealed]),
                text: "key \(result.keyID) is current; \(result.resealed) sealed records re-sealed; old keys retired")
        }
    }
}

extension ConfidenceBand: ExpressibleByArgument {}

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings", abstract: "Store-wide settings (admins).", subcommands: [KeepSearchPhotos.self, CredibleBand.self])

    struct KeepSearchPhotos: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keep-search-photos",
            abstract: "Hours a search's photo is kept, sealed (default 0: not kept; the template and the photo's hash always are).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "Hours, 0 to 720.") var hours: Int

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setProbeKeepHours(as: principal, hours)
            try options.outputOptions.present(
                Outcome("set", "keep-search-photos", figures: ["hours": hours]),
                text: hours == 0 ? "search photos are not kept" : "search photos are kept \(hours) hours, sealed")
        }
    }

    struct CredibleBand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credible-band",
            abstract: "The least band a search shows unless --below-threshold is asked for (default possible).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "strong, possible or weak.") var band: ConfidenceBand

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setCredibleBand(as: principal, band)
            try options.outputOptions.present(
                Outcome("set", "credible-band \(band.rawValue)"),
                text: "searches show candidates \(band.rawValue) or stronger unless lower ones are asked for")
        }
    }
}
