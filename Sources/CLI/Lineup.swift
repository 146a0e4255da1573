import ArgumentParser

@main
struct Lineup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineup",
        abstract: "Accountable face search: detect, template and compare faces in photos you lawfully hold.",
        subcommands: [
            SourceCommand.self, IngestCommand.self, SearchCommand.self, StatusCommand.self,
            DetectCommand.self, EmbedCommand.self, CompareCommand.self,
            EvalCommand.self, CalibrateCommand.self, BenchCommand.self,
        ]
    )
}
