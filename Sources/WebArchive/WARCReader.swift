import Foundation

/// Reads the records of a WARC file (`.warc`, or `.warc.gz` with a gzip member per
/// record) one at a time, streaming: memory holds one record, never the file.
///
/// Each record comes back whole and checked, or as a `WARCProblem` with its offset:
/// a record cut off by the end of the file, a damaged gzip member, a record its writer
/// marked truncated (`WARC-Truncated`), a block or payload whose digest does not
/// match, a record larger than `maxRecordBytes`, or bytes that are not a WARC record
/// (the reader then looks for the next one). After a problem it goes on.
public final class WARCReader: Sequence, IteratorProtocol {
    public let path: String
    public let maxRecordBytes: Int
    private let stream: ArchiveStream
    private var finished = false
    /// A problem met while looking for the next record, reported before it.
    private var deferred: WARCProblem?
    private static let maxHeaderBytes = 1 << 16

    /// Reads from the start, or from `offset`: where a record starts (its gzip member's
    /// offset in a `.warc.gz`), as `WARCRecord.offset` gave it, to read that record again.
    public init(path: String, offset: Int = 0, maxRecordBytes: Int = 256 << 20) throws(WebArchiveError) {
        self.path = path
        self.maxRecordBytes = maxRecordBytes
        stream = try ArchiveStream(path: path, offset: offset)
    }

    /// The record at `offset`, read again (a picture found in the archive before).
    public static func record(at offset: Int, in path: String, maxRecordBytes: Int = 256 << 20) throws(WebArchiveError) -> Result<
        WARCRecord, WARCProblem
    > {
        try WARCReader(path: path, offset: offset, maxRecordBytes: maxRecordBytes).next()
            ?? .failure(WARCProblem(offset: offset, reason: "no record starts there: the file ends"))
    }

    public func next() -> Result<WARCRecord, WARCProblem>? {
        if let deferred {
            self.deferred = nil
            return .failure(deferred)
        }
        guard !finished else { return nil }
        do {
            return try readRecord()
        } catch {
            finished = true
            return .failure(WARCProblem(offset: stream.fileOffset(at: stream.position), reason: error.description))
        }
    }

    private func readRecord() throws(WebArchiveError) -> Result<WARCRecord, WARCProblem>? {
        // Records are separated by two CRLFs; tolerate any run of line ends.
        while true {
            while let first = stream.pending.first, first == 13 || first == 10 { stream.consume(1) }
            if !stream.pending.isEmpty { break }
            switch try stream.fill() {
            case .bytes: continue
            case .damaged(let offset, let reason): return .failure(WARCProblem(offset: offset, reason: reason))
            case .end:
                finished = true
                return nil
            }
        }
        let offset = stream.fileOffset(at: stream.position)
        // The named fields, up to the blank line.
        var headerEnd: Int?
        while true {
            headerEnd = MessageHeaders.find(MessageHeaders.end, in: stream.pending, limit: Self.maxHeaderBytes)
            if headerEnd != nil || stream.pending.count >= Self.maxHeaderBytes { break }
            if let problem = try more(offset, cutOff: { "the record is cut off in its header (\($0) bytes before the end of the file)" }) {
                return .failure(problem)
            }
        }
        guard let headerEnd, stream.pending.starts(with: Array("WARC/".utf8)) else {
            resync()
            return .failure(WARCProblem(offset: offset, reason: "not a WARC record (no WARC/1.x line); skipped to the next record"))
        }
        let lines = String(decoding: stream.pending.prefix(headerEnd), as: UTF8.self).components(separatedBy: "\r\n")
        let version = lines[0].trimmingCharacters(in: .whitespaces)
        let fields = MessageHeaders.fields(lines.dropFirst())
        guard let lengthText = fields.first(where: { $0.name.lowercased() == "content-length" })?.value, let length = Int(lengthText), length >= 0
        else {
            stream.consume(headerEnd + 4)
            resync()
            return .failure(WARCProblem(offset: offset, reason: "the record has no valid Content-Length; skipped to the next record"))
        }
        stream.consume(headerEnd + 4)
        if length > maxRecordBytes {
            return try skip(length, offset: offset, reason: "the record's block of \(length) bytes is larger than the \(maxRecordBytes) read")
        }
        while stream.pending.count < length {
            if let problem = try more(offset, cutOff: { "the record is cut off: Content-Length \(length), but the file ends after \($0) bytes" }) {
                return .failure(problem)
            }
        }
        let record = WARCRecord(offset: offset, version: version, fields: fields, block: Array(stream.pending.prefix(length)))
        stream.consume(length)
        if let problem = Self.check(record) { return .failure(problem) }
        return .success(record)
    }

    /// Reads more: nil when bytes came, otherwise what ends the record at `offset`: a
    /// damaged gzip member (the bytes read of the record dropped), or the end of the
    /// file (`cutOff` says so, given the bytes that were left).
    private func more(_ offset: Int, cutOff: (Int) -> String) throws(WebArchiveError) -> WARCProblem? {
        switch try stream.fill() {
        case .bytes:
            return nil
        case .damaged(let at, let reason):
            stream.consume(stream.pending.count)
            return WARCProblem(offset: at, reason: reason)
        case .end:
            let left = stream.pending.count
            stream.consume(left)
            finished = true
            return WARCProblem(offset: offset, reason: cutOff(left))
        }
    }

    /// What makes a whole record unusable: its writer's truncation mark, or a digest
    /// that does not match.
    static func check(_ record: WARCRecord) -> WARCProblem? {
        if let truncated = record.field("WARC-Truncated") {
            return WARCProblem(offset: record.offset, reason: "the writer truncated the record (WARC-Truncated: \(truncated))")
        }
        if let digest = record.field("WARC-Block-Digest"), WARCRecord.digest(digest, matches: record.block) == false {
            return WARCProblem(offset: record.offset, reason: "the block does not match its WARC-Block-Digest \(digest)")
        }
        // A payload digest is written over the body as stored or as decoded; either will do.
        if record.type == "response" || record.type == "resource", let digest = record.payloadDigest {
            let payloads = record.http.map { [$0.storedBody, $0.body] } ?? [record.block]
            let verdicts = payloads.map { WARCRecord.digest(digest, matches: $0) }
            if verdicts.allSatisfy({ $0 == false }) {
                return WARCProblem(offset: record.offset, reason: "the payload does not match its WARC-Payload-Digest \(digest)")
            }
        }
        return nil
    }

    /// Consumes `count` bytes as they arrive, then reports `reason`.
    private func skip(_ count: Int, offset: Int, reason: String) throws(WebArchiveError) -> Result<WARCRecord, WARCProblem> {
        var left = count
        while left > 0 {
            if stream.pending.isEmpty {
                switch try stream.fill() {
                case .bytes: break
                case .damaged(let at, let damage): return .failure(WARCProblem(offset: at, reason: damage))
                case .end:
                    finished = true
                    return .failure(WARCProblem(offset: offset, reason: reason + "; and it is cut off by the end of the file"))
                }
            }
            let step = Swift.min(left, stream.pending.count)
            stream.consume(step)
            left -= step
        }
        return .failure(WARCProblem(offset: offset, reason: reason))
    }

    /// Drops bytes up to the next line starting "WARC/1.", the likely next record.
    private func resync() {
        let marker = Array("\nWARC/1.".utf8)
        while true {
            if let found = MessageHeaders.find(marker, in: stream.pending) {
                stream.consume(found + 1)
                return
            }
            let keep = Swift.min(marker.count, stream.pending.count)
            stream.consume(stream.pending.count - keep)
            guard (try? stream.fill()).map({ if case .end = $0 { return false } else { return true } }) ?? false else {
                stream.consume(stream.pending.count)
                return
            }
        }
    }
}
