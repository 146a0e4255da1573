import ArgumentParser
import Console

@main
struct Lineup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineup",
        abstract: "Accountable face search: detect, template and compare faces in photos you lawfully hold.",
        subcommands: [
            BootstrapCommand.self, OrganisationCommand.self, AccountCommand.self, TokenCommand.self,
            SourceCommand.self, IngestCommand.self, SearchCommand.self, CaseCommand.self, ReportCommand.self, StatusCommand.self,
            PolicyCommand.self, OptOutCommand.self, AccessCommand.self, EraseCommand.self, PurgeCommand.self,
            RetentionCommand.self, AuditCommand.self, KeysCommand.self, SettingsCommand.self, ServeCommand.self, MigrateCommand.self,
            ReconcileCommand.self, RetemplateCommand.self, BackupCommand.self, RestoreCommand.self,
            DetectCommand.self, EmbedCommand.self, CompareCommand.self,
        ]
    )
}
