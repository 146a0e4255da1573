import Foundation

/// Where the tests run. Outside CI a suite whose server, data or browser is missing
/// may skip, saying why; in CI (`CI=true`) it runs anyway and fails on what is
/// missing, since CI's job is to run every suite.
public enum TestEnvironment {
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Whether a test that needs something `available` runs: always in CI.
    public static func runs(whenAvailable available: Bool) -> Bool { available || isCI }
}
