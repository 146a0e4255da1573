import ArgumentParser
import Console
import Foundation
import Governance

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write the gallery's records to one file, to restore with lineup restore (admins).",
        discussion: """
            An embedded gallery is copied by SQLite's online backup, a cluster's PostgreSQL records in one \
            consistent read; Milvus is rebuilt from them on restore. The file holds every template sealed with \
            its face's own key and no key: the keys stay in the key vault, so a face erased after the backup \
            cannot be opened from it, and a restore takes it out again. Keep the keyring and the key vault; \
            never restore the vault from a copy (see README, Backups and erasure). Logged.
            """)

    @OptionGroup var options: GovernedOptions
    @Option(help: "The backup file to write (a new file; its folder must exist).") var to: String

    func run() throws {
        let (governance, principal) = try options.open()
        let report = try governance.backup(as: principal, to: to)
        try options.outputOptions.present(report) {
            "backup \($0.path): gallery \($0.gallery), \($0.faces) faces, \($0.receipts) erasure receipts, \($0.bytes) bytes, sha256 \($0.sha256)"
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the gallery's records with a backup's, replaying every erasure issued since (admins).",
        discussion: """
            The backup is checked whole before anything changes: it must be of this gallery (its key vault's), \
            in a layout and schema this version reads, complete and matching its checksum. Every erasure the \
            key vault's journal holds and the backup does not is replayed on the backup's records before they \
            replace the gallery's, and the restore lists them. The audit log is kept and the restore logged. \
            The index is rebuilt (in cluster mode, Milvus is refilled from PostgreSQL). Stop lineup serve first. \
            A database lost and made again (no accounts) is restored without a token.
            """)

    @OptionGroup var options: GovernedOptions
    @Option(help: "The backup file to read.") var from: String

    func run() throws {
        let governance = try options.galleryOptions.governance(options.pipelineOptions, restoring: true)
        let principal = try governance.hasAccounts() ? try options.accountOptions.principal(governance) : nil
        let report = try governance.restore(as: principal, from: from) { written in
            printError("lineup: \(written) faces written to the index")
        }
        try options.outputOptions.present(report) { report in
            var lines = [
                "restored \(report.backup.path) (made \(report.backup.createdAt.formatted(.iso8601))): "
                    + "\(report.faces) faces, \(report.images) pictures, \(report.files) files; \(report.indexed) faces indexed"
            ]
            lines += report.replayed.map {
                "replayed erasure \($0.receipt) (\($0.scope) \($0.target), \($0.erasedAt.formatted(.iso8601))): "
                    + "removed \($0.faces) faces, \($0.images) pictures, \($0.files) files, \($0.sources) sources"
            }
            if report.replayed.isEmpty { lines.append("no erasure was issued after the backup was made") }
            return lines.joined(separator: "\n")
        }
    }
}
