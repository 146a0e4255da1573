import ArgumentParser
import FaceVision
import Foundation
import Synchronization

/// How every Lineup command prints its result: text for people, or with `--json`
/// one JSON document for scripts. A command whose result is a record to keep (a
/// receipt, a report, an export) prints JSON either way.
public struct OutputOptions: ParsableArguments, Sendable {
    public init() {}

    @Flag(help: "Print the result as JSON (snake_case keys, ISO 8601 dates) instead of text.")
    public var json = false

    /// Prints `value` as JSON with `--json`, else the text `describe` makes of it.
    public func present<T: Encodable>(_ value: T, text describe: (T) -> String) throws {
        if json { try printJSON(value) } else { print(describe(value)) }
    }
}

/// What a command that changes one thing reports: the act, what it acted on, and
/// the figures that go with it (`{"done": "approved", "subject": "account alice"}`).
public struct Outcome: Encodable {
    public var done: String
    public var subject: String
    public var figures: [String: Int]?

    public init(_ done: String, _ subject: String, figures: [String: Int]? = nil) {
        (self.done, self.subject, self.figures) = (done, subject, figures)
    }
}

extension OutputOptions {
    /// Prints an act's outcome: JSON with `--json`, else `text` (default: "done subject").
    public func present(_ outcome: Outcome, text: String? = nil) throws {
        try present(outcome) { text ?? "\($0.done) \($0.subject)" }
    }
}

/// The JSON Lineup's commands print: snake_case keys, ISO 8601 dates (as the HTTP API
/// writes them), sorted keys, and infinities as strings.
func jsonEncoder(pretty: Bool) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
}

/// Writes one JSON document to standard output.
public func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try jsonEncoder(pretty: true).encode(value) + Data("\n".utf8))
}

/// Writes one JSON object on one line, for results a script reads row by row.
public func printJSONLine<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try jsonEncoder(pretty: false).encode(value) + Data("\n".utf8))
}

public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

public func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

/// A one-line progress bar on standard error, shown only when it is a terminal.
public final class ProgressBar: Sendable {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private let lastDraw = Mutex<Date>(.distantPast)

    public init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = isatty(STDERR_FILENO) == 1 && total > 0
    }

    /// Progress of an ingest: files, faces, faces per second and time left.
    public func show(done: Int, total: Int, faces: Int, detail: String) {
        guard isatty(STDERR_FILENO) == 1, total > 0, let (elapsed, eta) = due(done: done, total: total) else { return }
        let faceRate = elapsed > 0 ? Double(faces) / elapsed : 0
        draw("\(label) \(done)/\(total) files, \(faces) faces, \(format(faceRate, 1)) faces/s, \(detail), ETA \(eta) ", last: done == total)
    }

    /// Progress of the first pass over web archives: MiB read of the archives' total.
    public func showReading(bytes done: Int64, of total: Int64) {
        let (doneKiB, totalKiB) = (Int(done >> 10), Int(total >> 10))
        guard isatty(STDERR_FILENO) == 1, totalKiB > 0, let (_, eta) = due(done: doneKiB, total: totalKiB) else { return }
        draw(
            "\(label) reading the archives: \(format(Double(done) / 1_048_576, 1)) of \(format(Double(total) / 1_048_576, 1)) MiB, ETA \(eta) ",
            last: false)
    }

    public func update(_ done: Int) {
        guard enabled, let (elapsed, eta) = due(done: done, total: total) else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        draw("\(label) [\(bar)] \(done)/\(total) \(format(rate, 1))/s ETA \(eta) ", last: done == total)
    }

    /// Whether to redraw now (at most ten times a second, and always at the end), with
    /// the seconds elapsed and the time left as m:ss.
    private func due(done: Int, total: Int) -> (elapsed: Double, eta: String)? {
        let now = Date()
        let draw = lastDraw.withLock { last -> Bool in
            guard done == total || now.timeIntervalSince(last) > 0.1 else { return false }
            last = now
            return true
        }
        guard draw else { return nil }
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Int(Double(total - done) / rate) : 0
        return (elapsed, "\(remaining / 60):\(String(format: "%02d", remaining % 60))")
    }

    private func draw(_ line: String, last: Bool) {
        FileHandle.standardError.write(Data(("\r" + line + (last ? "\n" : "")).utf8))
    }
}

extension String {
    public func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// One band of a legend for a terminal: `possible   0.5210–0.6012  at most 1 in 100 that …`.
public func bandLegendLine(_ rule: BandRule) -> String {
    let scores =
        switch (rule.leastScore, rule.belowScore) {
        case (let least?, let below?): "\(format(Double(least), 4))–\(format(Double(below), 4))"
        case (let least?, nil): "≥ \(format(Double(least), 4))"
        case (nil, let below?): "< \(format(Double(below), 4))"
        case (nil, nil): "any"
        }
    return rule.band.words.padding(toLength: 16, withPad: " ", startingAt: 0)
        + scores.padding(toLength: 15, withPad: " ", startingAt: 0) + rule.meaning
}
