/// The format and pixel size of an encoded image, read from its first bytes.
///
/// Lineup reads the header itself, before any decoder sees the data, so that a
/// file that is not an image, a format it does not accept, a truncated file or a
/// decompression bomb (a small file that claims an enormous pixel size) is refused
/// with a specific error and without allocating the pixels.
public struct ImageHeader: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case jpeg, png, webp, bmp, tiff
    }

    public var format: Format
    public var width: Int
    public var height: Int

    public var pixelCount: Int { width * height }

    /// Reads the header; throws `ImageError` when the bytes are not a supported image.
    public init(bytes: [UInt8]) throws(ImageError) {
        guard !bytes.isEmpty else { throw .empty }
        let reader = ByteReader(bytes)
        if reader.matches([0xFF, 0xD8, 0xFF], at: 0) {
            self = try Self.jpeg(reader)
        } else if reader.matches([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], at: 0) {
            self = try Self.png(reader)
        } else if reader.matches(Array("RIFF".utf8), at: 0), reader.matches(Array("WEBP".utf8), at: 8) {
            self = try Self.webp(reader)
        } else if reader.matches(Array("BM".utf8), at: 0) {
            self = try Self.bmp(reader)
        } else if reader.matches([0x49, 0x49, 0x2A, 0x00], at: 0) || reader.matches([0x4D, 0x4D, 0x00, 0x2A], at: 0) {
            self = try Self.tiff(reader)
        } else {
            throw .unrecognisedFormat(leadingBytes: Array(bytes.prefix(8)))
        }
        guard width > 0, height > 0 else { throw .malformed(format: format, reason: "zero width or height") }
    }

    init(format: Format, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}

// MARK: - Formats

extension ImageHeader {
    /// Walks the marker segments to the first start-of-frame for the size, and
    /// requires an end-of-image marker after the scan so a cut-off file is caught
    /// (decoders otherwise fill the missing rows with grey and carry on).
    private static func jpeg(_ r: ByteReader) throws(ImageError) -> ImageHeader {
        var offset = 2
        var size: (Int, Int)?
        while offset + 4 <= r.count {
            guard r[offset] == 0xFF else { throw .malformed(format: .jpeg, reason: "bad marker at byte \(offset)") }
            let marker = r[offset + 1]
            if marker == 0xFF {
                offset += 1
                continue
            }
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 {
                offset += 2
                continue
            }
            let length = r.uint16BE(at: offset + 2)
            guard length >= 2 else { throw .malformed(format: .jpeg, reason: "bad segment length") }
            let isFrame = (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker)
            if isFrame {
                guard offset + 9 <= r.count else { throw .truncated(format: .jpeg) }
                size = (r.uint16BE(at: offset + 7), r.uint16BE(at: offset + 5))
            }
            if marker == 0xDA {
                guard let (width, height) = size else {
                    throw .malformed(format: .jpeg, reason: "scan before frame header")
                }
                guard r.lastIndex(of: [0xFF, 0xD9], after: offset + 2 + length) != nil else {
                    throw .truncated(format: .jpeg)
                }
                return ImageHeader(format: .jpeg, width: width, height: height)
            }
            offset += 2 + length
        }
        throw .truncated(format: .jpeg)
    }

    private static func png(_ r: ByteReader) throws(ImageError) -> ImageHeader {
        guard r.count >= 24, r.matches(Array("IHDR".utf8), at: 12) else { throw .truncated(format: .png) }
        guard r.lastIndex(of: Array("IEND".utf8), after: 24) != nil else { throw .truncated(format: .png) }
        return ImageHeader(format: .png, width: r.uint32BE(at: 16), height: r.uint32BE(at: 20))
    }

    private static func webp(_ r: ByteReader) throws(ImageError) -> ImageHeader {
        guard r.count >= 30 else { throw .truncated(format: .webp) }
        let declared = r.uint32LE(at: 4) + 8
        guard r.count >= declared else { throw .truncated(format: .webp) }
        if r.matches(Array("VP8 ".utf8), at: 12) {
            return ImageHeader(format: .webp, width: r.uint16LE(at: 26) & 0x3FFF, height: r.uint16LE(at: 28) & 0x3FFF)
        } else if r.matches(Array("VP8L".utf8), at: 12) {
            let bits = r.uint32LE(at: 21)
            return ImageHeader(format: .webp, width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
        } else if r.matches(Array("VP8X".utf8), at: 12) {
            return ImageHeader(format: .webp, width: r.uint24LE(at: 24) + 1, height: r.uint24LE(at: 27) + 1)
        }
        throw .malformed(format: .webp, reason: "unknown chunk")
    }

    private static func bmp(_ r: ByteReader) throws(ImageError) -> ImageHeader {
        guard r.count >= 26 else { throw .truncated(format: .bmp) }
        let width = Int(Int32(bitPattern: UInt32(r.uint32LE(at: 18))))
        let height = Int(Int32(bitPattern: UInt32(r.uint32LE(at: 22))))
        return ImageHeader(format: .bmp, width: abs(width), height: abs(height))
    }

    /// Reads width (tag 256) and height (tag 257) from the first image directory.
    private static func tiff(_ r: ByteReader) throws(ImageError) -> ImageHeader {
        let little = r[0] == 0x49
        func u16(_ at: Int) -> Int { little ? r.uint16LE(at: at) : r.uint16BE(at: at) }
        func u32(_ at: Int) -> Int { little ? r.uint32LE(at: at) : r.uint32BE(at: at) }
        guard r.count >= 8 else { throw .truncated(format: .tiff) }
        let directory = u32(4)
        guard directory + 2 <= r.count else { throw .truncated(format: .tiff) }
        let entries = u16(directory)
        guard directory + 2 + entries * 12 <= r.count else { throw .truncated(format: .tiff) }
        var width = 0, height = 0
        for index in 0..<entries {
            let entry = directory + 2 + index * 12
            let value = u16(entry + 2) == 3 ? u16(entry + 8) : u32(entry + 8)
            switch u16(entry) {
            case 256: width = value
            case 257: height = value
            default: break
            }
        }
        return ImageHeader(format: .tiff, width: width, height: height)
    }
}

/// Bounds-checked reads over the encoded bytes; out-of-range reads give zero.
private struct ByteReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }
    subscript(_ index: Int) -> UInt8 { index >= 0 && index < bytes.count ? bytes[index] : 0 }

    func matches(_ pattern: [UInt8], at offset: Int) -> Bool {
        offset + pattern.count <= bytes.count && bytes[offset..<offset + pattern.count].elementsEqual(pattern)
    }

    func lastIndex(of pattern: [UInt8], after start: Int) -> Int? {
        var index = bytes.count - pattern.count
        while index >= start {
            if matches(pattern, at: index) { return index }
            index -= 1
        }
        return nil
    }

    func uint16BE(at i: Int) -> Int { Int(self[i]) << 8 | Int(self[i + 1]) }
    func uint16LE(at i: Int) -> Int { Int(self[i + 1]) << 8 | Int(self[i]) }
    func uint24LE(at i: Int) -> Int { Int(self[i + 2]) << 16 | uint16LE(at: i) }
    func uint32BE(at i: Int) -> Int { uint16BE(at: i) << 16 | uint16BE(at: i + 2) }
    func uint32LE(at i: Int) -> Int { uint16LE(at: i + 2) << 16 | uint16LE(at: i) }
}
