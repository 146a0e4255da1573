/// Why an image was refused. Every case names what is wrong in words a user can act on.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case unreadable(path: String, reason: String)
    case empty
    case tooManyBytes(bytes: Int, limit: Int)
    case unrecognisedFormat(leadingBytes: [UInt8])
    case truncated(format: ImageHeader.Format)
    case malformed(format: ImageHeader.Format, reason: String)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case decodingFailed(format: ImageHeader.Format, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "no such file: \(path)"
        case .isDirectory(let path): "\(path) is a directory, not an image file"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .empty: "the image file is empty"
        case .tooManyBytes(let bytes, let limit): "the image file has \(bytes) bytes, more than the limit of \(limit)"
        case .unrecognisedFormat(let lead):
            "not a supported image (JPEG, PNG, WebP, BMP or TIFF); it starts with bytes "
                + lead.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        case .truncated(let format): "the \(format.rawValue.uppercased()) data is truncated"
        case .malformed(let format, let reason): "malformed \(format.rawValue.uppercased()) data: \(reason)"
        case .tooManyPixels(let width, let height, let limit):
            "the image claims \(width)×\(height) pixels, more than the limit of \(limit) pixels (raise it with --max-pixels if the image is genuine)"
        case .decodingFailed(let format, let reason): "could not decode the \(format.rawValue.uppercased()) data: \(reason)"
        }
    }
}

/// What Lineup will agree to decode. The pixel limit is the defence against
/// decompression bombs; the byte limit against reading a huge file into memory.
public struct ImageLimits: Sendable, Equatable {
    public var maxPixels: Int
    public var maxBytes: Int

    public init(maxPixels: Int = 100_000_000, maxBytes: Int = 256 << 20) {
        self.maxPixels = maxPixels
        self.maxBytes = maxBytes
    }

    public static let `default` = ImageLimits()
}
