import Foundation
import Synchronization

/// Writes one JSON document to standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes one JSON object on one line, for results a script reads row by row.
func printJSONLine<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

/// A one-line progress bar on standard error, shown only when it is a terminal.
final class ProgressBar: Sendable {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private let lastDraw = Mutex<Date>(.distantPast)

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = isatty(STDERR_FILENO) == 1 && total > 0
    }

    /// Progress of an ingest: files, faces, faces per second and time left.
    func show(done: Int, total: Int, faces: Int, detail: String) {
        guard isatty(STDERR_FILENO) == 1, total > 0, let (elapsed, eta) = due(done: done, total: total) else { return }
        let faceRate = elapsed > 0 ? Double(faces) / elapsed : 0
        draw("\(label) \(done)/\(total) files, \(faces) faces, \(format(faceRate, 1)) faces/s, \(detail), ETA \(eta) ", last: done == total)
    }

    func update(_ done: Int) {
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
