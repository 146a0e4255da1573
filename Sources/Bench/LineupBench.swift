import ArgumentParser
import Console

/// The developer's program beside the operator's `lineup`: evaluation on the pair
/// and identification protocols, score calibration, and benchmarks that print their
/// figures side by side with the named peer in one run.
@main
struct LineupBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineup-bench",
        abstract: "Evaluate, calibrate and benchmark Lineup against reference engines.",
        subcommands: [
            EvalCommand.self, CalibrateCommand.self,
            BenchVisionCommand.self, BenchIngestCommand.self, BenchSnapshotCommand.self, BenchIndexCommand.self,
            BenchApiCommand.self, BenchClusterCommand.self, BenchGalleryCommand.self,
        ]
    )
}
