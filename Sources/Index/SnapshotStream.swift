import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a snapshot file is written and read: as a stream of bytes in fixed-size
/// chunks, so neither saving nor loading ever holds the whole file in memory.
///
/// The index's own format (`IndexSnapshot`, `HNSWIndex.save`) is a byte stream; the
/// container around it depends on the sealing.
///
/// Unsealed, the file is the stream itself followed by the SHA-256 of the stream.
///
/// Sealed, the layout is (little-endian):
///
///     magic "LINEUPSC"                    8 bytes
///     container version                   UInt32 (1)
///     sealer header length, bytes         UInt32, then that many bytes (names the key)
///     file id                             16 random bytes
///     chunk size                          UInt32 (plaintext bytes in every chunk but the last)
///     per chunk: box length, box          UInt32, then the box the sealer made
///
/// Each chunk is sealed on its own; its associated data is the file's clear header
/// (everything before the first chunk, file id included), the chunk's position
/// (UInt64) and one byte that is 1 for the last chunk and 0 for the others. A chunk
/// therefore opens only in its own file, at its own place, and the file must end
/// right after the chunk sealed as the last: chunks cannot be reordered, dropped,
/// moved between files or cut off at a chunk boundary. The stream's own SHA-256 is
/// left out: every chunk is authenticated already.
///
/// Both forms are written to `path + ".partial"` (owner only, from the first
/// byte), flushed to disk and renamed over `path`, so a crash leaves the old file
/// or the new one, never a mix.
enum SnapshotStream {
    static let sealedMagic = Array("LINEUPSC".utf8)
    static let containerVersion: UInt32 = 1
    /// Plaintext bytes per chunk, sealed or not.
    static let defaultChunkSize = 4 << 20
    static let fileIDSize = 16
    static let digestSize = 32
    /// Bounds a damaged header cannot push a reader past.
    static let maxSealerHeader = 1024
    static let maxChunkSize = 64 << 20
    static let maxSealOverhead = 64 << 10

    /// What a chunk's box authenticates besides its content.
    static func associatedData(header: Data, index: UInt64, isLast: Bool) -> Data {
        var data = header
        withUnsafeBytes(of: index.littleEndian) { data.append(contentsOf: $0) }
        data.append(isLast ? 1 : 0)
        return data
    }
}

/// Writes a snapshot stream to `path + ".partial"` chunk by chunk; `finish()` makes
/// it the file at `path`. A writer dropped before `finish()` removes its partial file.
final class SnapshotWriter {
    private let path: String
    private let temporary: String
    private var descriptor: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    /// Unsealed: the digest of everything written so far.
    private var hasher: SHA256?
    private let sealer: (any SnapshotChunkSealer)?
    private var clearHeader = Data()
    private var chunkIndex: UInt64 = 0
    private var finished = false

    init(path: String, sealing: (any SnapshotSealing)?, chunkSize: Int = SnapshotStream.defaultChunkSize) throws {
        precondition(chunkSize > 0 && chunkSize <= SnapshotStream.maxChunkSize, "chunk size \(chunkSize)")
        self.path = path
        temporary = path + ".partial"
        let sealer = try sealing?.sealerForNewFile()
        self.sealer = sealer
        hasher = sealer == nil ? SHA256() : nil
        // Owner only, from the first byte: sealed or not, the file's size and timing
        // are the gallery's business alone. A partial file left by a crash goes first,
        // so the new one is created with these permissions.
        unlink(temporary)
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure(temporary) }
        buffer = .allocate(byteCount: chunkSize, alignment: 64)
        if let sealer {
            let header = sealer.header
            guard header.count <= SnapshotStream.maxSealerHeader else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "the sealer's header is over 1 KiB"])
            }
            var clear = Data(SnapshotStream.sealedMagic)
            Self.append(SnapshotStream.containerVersion, to: &clear)
            Self.append(UInt32(header.count), to: &clear)
            clear.append(header)
            clear.append(contentsOf: (0..<SnapshotStream.fileIDSize).map { _ in UInt8.random(in: .min ... .max) })
            Self.append(UInt32(chunkSize), to: &clear)
            clearHeader = clear
            try clear.withUnsafeBytes { try writeAll($0) }
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !finished { unlink(temporary) }
        // Plaintext templates do not linger in freed memory.
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        buffer.deallocate()
    }

    /// Appends an integer, little-endian.
    func append<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try append($0) }
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Appends a buffer's raw bytes (host byte order, which is little-endian on every
    /// platform the index runs on).
    func append<T>(_ values: UnsafeBufferPointer<T>) throws {
        try append(UnsafeRawBufferPointer(values))
    }

    func append(_ raw: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < raw.count {
            // A full chunk is written only once more bytes come: the last chunk is
            // then never empty, and is known to be the last when it is sealed.
            if filled == buffer.count { try flush(isLast: false) }
            let count = min(buffer.count - filled, raw.count - offset)
            (buffer.baseAddress! + filled).copyMemory(from: raw.baseAddress! + offset, byteCount: count)
            filled += count
            offset += count
        }
    }

    /// Writes the last chunk (and the digest when unsealed), flushes the file to disk
    /// and renames it over `path`.
    func finish() throws {
        try flush(isLast: true)
        if let hasher { try Array(hasher.finalize()).withUnsafeBytes { try writeAll($0) } }
        guard fsync(descriptor) == 0 else { throw Self.failure(temporary) }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw Self.failure(temporary) }
        guard rename(temporary, path) == 0 else { throw Self.failure(path) }
        finished = true
        // The rename itself reaches the disk with its directory.
        let folder = (path as NSString).deletingLastPathComponent
        let directory = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    private func flush(isLast: Bool) throws {
        let plaintext = UnsafeRawBufferPointer(start: buffer.baseAddress, count: filled)
        if let sealer {
            let chunk = Data(bytesNoCopy: buffer.baseAddress!, count: filled, deallocator: .none)
            let associated = SnapshotStream.associatedData(header: clearHeader, index: chunkIndex, isLast: isLast)
            let box = try sealer.seal(chunk, authenticating: associated)
            guard box.count <= filled + SnapshotStream.maxSealOverhead else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "a sealed chunk grew by over 64 KiB"])
            }
            var length = Data()
            Self.append(UInt32(box.count), to: &length)
            try (length + box).withUnsafeBytes { try writeAll($0) }
            chunkIndex += 1
        } else {
            hasher?.update(bufferPointer: plaintext)
            try writeAll(plaintext)
        }
        filled = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure(temporary)
            }
            offset += written
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func failure(_ path: String) -> Error {
        let code = POSIXErrorCode(rawValue: errno) ?? .EIO
        return CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(code)])
    }
}

/// Reads a snapshot stream chunk by chunk, with bounds checks: a truncated or
/// doctored file gives an error, never a read past its end. What it hands out of a
/// sealed file has been authenticated chunk by chunk; that the file is whole (and,
/// unsealed, that its digest matches) is known only at `finish()`, so a caller keeps
/// what it read to itself until then.
final class SnapshotReader {
    typealias LoadError = IndexSnapshot.LoadError

    private enum Source {
        case file(Int32)
        case memory(Data)
    }

    private let source: Source
    /// Bytes of the file read so far, and its size.
    private var position = 0
    private let size: Int
    private let isSealed: Bool
    private var opener: (any SnapshotChunkOpener)?
    /// Unsealed: where the stream ends (the digest follows), and its digest so far.
    private var streamEnd = 0
    private var hasher = SHA256()
    /// Whether `finish()` found the stream whole.
    private var finished = false
    private var clearHeader = Data()
    private var chunkIndex: UInt64 = 0
    private var lastChunkRead = false
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// The unread bytes of the current chunk: `buffer[start..<end]`.
    private var start = 0
    private var end = 0

    /// Opens the file at `path`. Unsealed, a file shorter than `minimumLength` bytes
    /// of stream and the digest is refused as too short, and the file is read
    /// `unsealedChunkSize` bytes at a time (sealed, the file says its chunk size).
    convenience init(
        path: String, sealing: (any SnapshotSealing)?, minimumLength: Int = 0,
        unsealedChunkSize: Int = SnapshotStream.defaultChunkSize
    ) throws(LoadError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .missing }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw .missing
        }
        try self.init(
            source: .file(descriptor), size: Int(status.st_size), sealing: sealing, minimumLength: minimumLength,
            unsealedChunkSize: unsealedChunkSize)
    }

    /// Reads a whole file already in memory (small snapshots being inspected).
    convenience init(file: Data, sealing: (any SnapshotSealing)?) throws(LoadError) {
        try self.init(
            source: .memory(file), size: file.count, sealing: sealing, minimumLength: 0,
            unsealedChunkSize: SnapshotStream.defaultChunkSize)
    }

    private init(
        source: Source, size: Int, sealing: (any SnapshotSealing)?, minimumLength: Int, unsealedChunkSize: Int
    ) throws(LoadError) {
        self.source = source
        self.size = size
        isSealed = sealing != nil
        guard let sealing else {
            guard size >= minimumLength + SnapshotStream.digestSize else { throw .corrupt("too short: \(size) bytes") }
            streamEnd = size - SnapshotStream.digestSize
            buffer = .allocate(byteCount: max(1, unsealedChunkSize), alignment: 64)
            return
        }
        streamEnd = size
        let magic = SnapshotStream.sealedMagic
        guard size >= magic.count, try Array(rawBytes(magic.count)) == magic else { throw .corrupt("not a sealed snapshot") }
        let version = try rawInteger(UInt32.self)
        guard version == SnapshotStream.containerVersion else {
            throw .mismatch("sealed container version \(version), expected \(SnapshotStream.containerVersion)")
        }
        let headerLength = Int(try rawInteger(UInt32.self))
        guard headerLength <= SnapshotStream.maxSealerHeader else { throw .corrupt("impossible sealer header length \(headerLength)") }
        let header = try rawBytes(headerLength)
        _ = try rawBytes(SnapshotStream.fileIDSize)
        let chunkSize = Int(try rawInteger(UInt32.self))
        guard chunkSize > 0, chunkSize <= SnapshotStream.maxChunkSize else { throw .corrupt("impossible chunk size \(chunkSize)") }
        clearHeader = try rawBytes(at: 0, count: position)
        do {
            opener = try sealing.opener(forHeader: header)
        } catch {
            throw .corrupt("cannot be opened with the keyring: \(error)")
        }
        buffer = .allocate(byteCount: chunkSize, alignment: 64)
    }

    deinit {
        if case .file(let descriptor) = source { close(descriptor) }
        if buffer.count > 0 {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.deallocate()
        }
    }

    /// Reads the file at `path` with `body`, then checks that it ended exactly there.
    /// Unsealed, a damaged file is refused for its digest, as it was before streaming:
    /// when `body` finds the format broken, the rest of the file is checked against
    /// the digest, and a mismatch is the reason given.
    static func reading<Result>(
        path: String, sealing: (any SnapshotSealing)?, minimumLength: Int,
        _ body: (SnapshotReader) throws(LoadError) -> Result
    ) throws(LoadError) -> Result {
        let reader = try SnapshotReader(path: path, sealing: sealing, minimumLength: minimumLength)
        do {
            let result = try body(reader)
            try reader.finish()
            return result
        } catch .corrupt(let reason) {
            if reason != "checksum mismatch", !reader.restMatchesDigest() { throw .corrupt("checksum mismatch") }
            throw .corrupt(reason)
        }
    }

    /// Unsealed, the stream's bytes not read yet; sealed, unknown until the end.
    var remainingBytes: Int? { isSealed ? nil : streamEnd - position + (end - start) }

    /// Reads an integer stored little-endian.
    func read<T: FixedWidthInteger>() throws(LoadError) -> T {
        let size = MemoryLayout<T>.size
        if end - start >= size {
            defer { start += size }
            return T(littleEndian: UnsafeRawPointer(buffer.baseAddress! + start).loadUnaligned(as: T.self))
        }
        var value: T = 0
        for index in 0..<size {
            let byte = try readByte()
            value |= T(truncatingIfNeeded: byte) << (8 * index)
        }
        return value
    }

    func bytes(_ count: Int) throws(LoadError) -> Data {
        guard count >= 0 else { throw .corrupt("truncated") }
        if let remainingBytes, count > remainingBytes { throw .corrupt("truncated") }
        var data = Data()
        while data.count < count {
            if start == end { try refill() }
            let piece = min(end - start, count - data.count)
            data.append(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: piece)
            start += piece
        }
        return data
    }

    /// Copies `count` values into `destination`, raw (host byte order).
    func copy<T>(into destination: UnsafeMutablePointer<T>, count: Int) throws(LoadError) {
        guard count >= 0 else { throw .corrupt("truncated") }
        let byteCount = count * MemoryLayout<T>.stride
        if let remainingBytes, byteCount > remainingBytes { throw .corrupt("truncated") }
        let target = UnsafeMutableRawPointer(destination)
        var done = 0
        while done < byteCount {
            if start == end {
                // Unsealed, a large copy goes from the file to its destination directly.
                if !isSealed, byteCount - done >= buffer.count {
                    let piece = min(byteCount - done, streamEnd - position)
                    guard piece > 0 else { throw .corrupt("truncated") }
                    try readRaw(into: target + done, count: piece)
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: target + done, count: piece))
                    done += piece
                    continue
                }
                try refill()
            }
            let piece = min(end - start, byteCount - done)
            (target + done).copyMemory(from: buffer.baseAddress! + start, byteCount: piece)
            start += piece
            done += piece
        }
    }

    /// A new array of `count` values read from the stream.
    /// `count` values read into a new array with room for `capacity` (at least
    /// `count`), so an array that grows after loading need not be copied at once.
    func array<T: BitwiseCopyable>(of type: T.Type, count: Int, capacity: Int = 0) throws(LoadError) -> [T] {
        guard count > 0 else { return [] }
        var failure: LoadError?
        let values = [T](unsafeUninitializedCapacity: max(count, capacity)) { buffer, initialized in
            do throws(LoadError) {
                try copy(into: buffer.baseAddress!, count: count)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Everything left in the stream.
    func rest() throws(LoadError) -> Data {
        var data = Data()
        while !atEnd {
            if start == end {
                try refill()
                continue
            }
            data.append(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: end - start)
            start = end
        }
        return data
    }

    /// Checks that the stream ends exactly here: nothing unread, the last chunk read
    /// and nothing after it, or (unsealed) the digest right after and matching.
    func finish() throws(LoadError) {
        guard !finished else { return }
        guard atEnd else { throw .corrupt("sizes do not add up") }
        if !isSealed {
            let expected = Array(hasher.finalize())
            guard try Array(rawBytes(SnapshotStream.digestSize)) == expected else { throw .corrupt("checksum mismatch") }
        }
        finished = true
    }

    /// Unsealed, after the format was refused as damaged: whether the rest of the file
    /// still matches the digest. When it does not, the damage, not the format, is the reason.
    func restMatchesDigest() -> Bool {
        guard !isSealed, !finished, position <= streamEnd else { return true }
        do {
            while position < streamEnd {
                start = end
                try refill()
            }
            start = end
            try finish()
            return true
        } catch {
            return error != .corrupt("checksum mismatch")
        }
    }

    private var atEnd: Bool {
        start == end && (isSealed ? lastChunkRead && position == size : position == streamEnd)
    }

    private func readByte() throws(LoadError) -> UInt8 {
        if start == end { try refill() }
        defer { start += 1 }
        return buffer[start]
    }

    /// The next chunk into `buffer`.
    private func refill() throws(LoadError) {
        guard isSealed, let opener else {
            let count = min(buffer.count, streamEnd - position)
            guard count > 0 else { throw .corrupt("truncated") }
            try readRaw(into: buffer.baseAddress!, count: count)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
            (start, end) = (0, count)
            return
        }
        guard !lastChunkRead, size - position >= 4 else { throw .corrupt("truncated") }
        let length = Int(try rawInteger(UInt32.self))
        guard length <= buffer.count + SnapshotStream.maxSealOverhead else {
            throw .corrupt("chunk \(chunkIndex) has an impossible length \(length)")
        }
        guard size - position >= length else { throw .corrupt("truncated") }
        let box = try rawBytes(length)
        let isLast = position == size
        var plaintext: Data
        do {
            plaintext = try opener.open(
                box, authenticating: SnapshotStream.associatedData(header: clearHeader, index: chunkIndex, isLast: isLast))
        } catch {
            // The file ends after a chunk that was not sealed as the last: cut short.
            let associated = SnapshotStream.associatedData(header: clearHeader, index: chunkIndex, isLast: false)
            if isLast, (try? opener.open(box, authenticating: associated)) != nil { throw .corrupt("truncated") }
            throw .corrupt("cannot be opened with the keyring: chunk \(chunkIndex): \(error)")
        }
        guard plaintext.count <= buffer.count else { throw .corrupt("chunk \(chunkIndex) is over the chunk size") }
        if !plaintext.isEmpty {
            plaintext.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            plaintext.resetBytes(in: 0..<plaintext.count)
        }
        (start, end) = (0, plaintext.count)
        chunkIndex += 1
        lastChunkRead = isLast
    }

    private func rawInteger<T: FixedWidthInteger>(_ type: T.Type) throws(LoadError) -> T {
        let bytes = try rawBytes(MemoryLayout<T>.size)
        return T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) })
    }

    /// `count` bytes of the file from the current position, which moves past them.
    private func rawBytes(_ count: Int) throws(LoadError) -> Data {
        let data = try rawBytes(at: position, count: count)
        position += count
        return data
    }

    private func rawBytes(at offset: Int, count: Int) throws(LoadError) -> Data {
        guard count >= 0, offset + count <= size else { throw .corrupt("truncated") }
        switch source {
        case .memory(let file):
            return file.subdata(in: (file.startIndex + offset)..<(file.startIndex + offset + count))
        case .file(let descriptor):
            var data = Data(count: count)
            var failure: LoadError?
            data.withUnsafeMutableBytes { raw in
                do throws(LoadError) {
                    try readRaw(descriptor, at: offset, into: raw.baseAddress, count: count)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            return data
        }
    }

    /// Reads `count` bytes of the file at the current position into `destination`.
    private func readRaw(into destination: UnsafeMutableRawPointer, count: Int) throws(LoadError) {
        guard count > 0 else { return }
        guard position + count <= size else { throw .corrupt("truncated") }
        switch source {
        case .memory(let file):
            file.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + position, byteCount: count) }
        case .file(let descriptor):
            try readRaw(descriptor, at: position, into: destination, count: count)
        }
        position += count
    }

    private func readRaw(_ descriptor: Int32, at offset: Int, into destination: UnsafeMutableRawPointer?, count: Int) throws(LoadError) {
        var done = 0
        while done < count {
            let got = pread(descriptor, destination! + done, count - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw .corrupt("unreadable: \(String(cString: strerror(errno)))")
            }
            guard got > 0 else { throw .corrupt("truncated") }
            done += got
        }
    }
}
