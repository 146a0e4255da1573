import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures side by side with a reference.",
        subcommands: [BenchVisionCommand.self, BenchIngestCommand.self, BenchSnapshotCommand.self, BenchIndexCommand.self, BenchApiCommand.self, BenchClusterCommand.self]
    )
}
