import CGzip
import Foundation

/// A web archive file as one stream of bytes, inflated member by member when it is
/// gzip'd, that knows where in the file each byte came from: a record's offset is that
/// of the gzip member it starts in (or its own first byte in a plain file), which is
/// what other archive tools print and seek to.
///
/// The file is read in chunks, never whole. A damaged or cut-off member is reported
/// with its offset, and reading goes on at the next member.
final class ArchiveStream {
    /// What a read gave.
    enum Event {
        /// Bytes were added to `pending`.
        case bytes
        /// The member at `offset` is damaged (`reason`); its bytes were dropped from
        /// `pending`, and reading goes on after it.
        case damaged(offset: Int, reason: String)
        case end
    }

    /// Decompressed bytes not yet consumed (a view: indices start at its `startIndex`).
    var pending: ArraySlice<UInt8> { buffer[head...] }
    /// The stream position of `pending`'s first byte.
    private(set) var position = 0
    /// Bytes read, of which the first `head` are consumed: consuming moves `head`, and
    /// the buffer is compacted only when most of it is consumed, so a record costs what
    /// its bytes do, not the size of the buffer.
    private var buffer: [UInt8] = []
    private var head = 0

    private let file: FileHandle
    private let gzip: Bool
    private let inflater: OpaquePointer?
    private static let chunk = 1 << 20

    /// Compressed bytes read but not yet inflated, and their offset in the file.
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var fileAtEnd = false
    /// Where the member being inflated started in the file, and where in the stream.
    private var memberOffset = 0
    private var memberStart = 0
    private var inMember = false
    /// (stream position, file offset) of every member start not yet consumed past.
    private var members: [(start: Int, offset: Int)] = []

    /// The file offset of stream position 0: where reading started.
    private let startOffset: Int

    /// Reads from `offset`, which must be where a record (its gzip member) starts.
    init(path: String, offset: Int = 0) throws(WebArchiveError) {
        guard let file = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path) }
        self.file = file
        let magic = (try? file.read(upToCount: 2)).map { [UInt8]($0) } ?? []
        gzip = magic == [0x1f, 0x8b]
        guard (try? file.seek(toOffset: UInt64(max(0, offset)))) != nil else { throw .unreadable(path: path) }
        startOffset = max(0, offset)
        inputOffset = startOffset
        memberOffset = startOffset
        if gzip {
            guard let inflater = lgz_new() else { throw .unreadable(path: path) }
            self.inflater = inflater
        } else {
            inflater = nil
        }
    }

    deinit {
        if let inflater { lgz_free(inflater) }
        try? file.close()
    }

    /// The offset in the file of the byte at stream position `at`.
    func fileOffset(at streamPosition: Int) -> Int {
        guard gzip else { return startOffset + streamPosition }
        return members.last { $0.start <= streamPosition }?.offset ?? memberOffset
    }

    /// Drops `count` bytes from the front of `pending`.
    func consume(_ count: Int) {
        head += count
        position += count
        if head >= Self.chunk, head * 2 >= buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
        // Marks before the last one at or before the new position are no longer needed.
        if let keep = members.lastIndex(where: { $0.start <= position }), keep > 0 { members.removeFirst(keep) }
    }

    /// Reads more: at least one byte, a damaged member, or the end.
    func fill() throws(WebArchiveError) -> Event {
        if !gzip {
            let data = readFile()
            if data.isEmpty { return .end }
            buffer += data
            return .bytes
        }
        while true {
            if input.isEmpty {
                if fileAtEnd {
                    guard inMember else { return .end }
                    inMember = false
                    return dropMember(reason: "the gzip member is cut off at the end of the file")
                }
                let data = readFile()
                if data.isEmpty {
                    fileAtEnd = true
                    continue
                }
                input = data
            }
            if !inMember {
                memberOffset = inputOffset
                memberStart = position + pending.count
                members.append((memberStart, memberOffset))
                inMember = true
                lgz_reset(inflater)
            }
            var output = [UInt8](repeating: 0, count: Self.chunk)
            var consumed = 0, produced = 0
            var message = [CChar](repeating: 0, count: 256)
            let status = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    lgz_inflate(inflater, source.baseAddress, source.count, &consumed, target.baseAddress, target.count, &produced, &message, 256)
                }
            }
            input.removeFirst(consumed)
            inputOffset += consumed
            if status == LGZ_DAMAGED {
                inMember = false
                let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                skipToNextMember()
                return dropMember(reason: "damaged gzip member (\(reason))")
            }
            if status == LGZ_MEMBER_END { inMember = false }
            if produced > 0 {
                buffer += output[0..<produced]
                return .bytes
            }
            if status == LGZ_CONTINUE && consumed == 0 {
                // No progress: zlib wants more input than is left. At the end of the
                // file, the member is cut off.
                let more = readFile()
                if more.isEmpty {
                    fileAtEnd = true
                    inputOffset += input.count
                    input = []
                    inMember = false
                    return dropMember(reason: "the gzip member is cut off at the end of the file")
                }
                input += more
            }
        }
    }

    /// Removes the damaged member's bytes from `pending` and reports it.
    private func dropMember(reason: String) -> Event {
        let keep = max(0, memberStart - position)
        if keep < pending.count { buffer.removeLast(pending.count - keep) }
        members.removeAll { $0.start >= memberStart && $0.offset == memberOffset }
        return .damaged(offset: memberOffset, reason: reason)
    }

    /// Moves the input to the next gzip header after the current member's start.
    private func skipToNextMember() {
        while true {
            if let found = Self.gzipHeader(in: input, from: inputOffset == memberOffset ? 1 : 0) {
                input.removeFirst(found)
                inputOffset += found
                return
            }
            // Keep the last two bytes: a header may straddle two reads.
            let keep = min(2, input.count)
            inputOffset += input.count - keep
            input = Array(input.suffix(keep))
            let more = readFile()
            if more.isEmpty {
                fileAtEnd = true
                inputOffset += input.count
                input = []
                return
            }
            input += more
        }
    }

    private static func gzipHeader(in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 2 < bytes.count {
            if bytes[index] == 0x1f, bytes[index + 1] == 0x8b, bytes[index + 2] == 0x08 { return index }
            index += 1
        }
        return nil
    }

    private func readFile() -> [UInt8] {
        guard let data = try? file.read(upToCount: Self.chunk), !data.isEmpty else { return [] }
        return [UInt8](data)
    }
}
