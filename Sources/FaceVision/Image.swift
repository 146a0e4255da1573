import CVision
import Foundation

/// A decoded 8-bit BGR image held by OpenCV.
///
/// Immutable once made: every operation returns a new image, so one image can be
/// read from several threads at once.
public final class Image: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        lcv_image_free(handle)
    }

    public var width: Int { Int(lcv_image_width(handle)) }
    public var height: Int { Int(lcv_image_height(handle)) }

    /// Reads and decodes an image file, refusing it before decoding if it breaks `limits`.
    public convenience init(contentsOf path: String, limits: ImageLimits = .default) throws(ImageError) {
        try self.init(data: try Self.readFile(path, limits: limits), limits: limits)
    }

    /// Decodes encoded image bytes (JPEG, PNG, WebP, BMP, TIFF), applying EXIF orientation.
    public convenience init(data bytes: [UInt8], limits: ImageLimits = .default) throws(ImageError) {
        guard bytes.count <= limits.maxBytes else { throw .tooManyBytes(bytes: bytes.count, limit: limits.maxBytes) }
        let header = try ImageHeader(bytes: bytes)
        guard header.pixelCount <= limits.maxPixels else {
            throw .tooManyPixels(width: header.width, height: header.height, limit: limits.maxPixels)
        }
        var error = lcv_error()
        let decoded = bytes.withUnsafeBufferPointer { lcv_image_decode($0.baseAddress, $0.count, &error) }
        guard let decoded else { throw .decodingFailed(format: header.format, reason: error.text) }
        self.init(handle: decoded)
    }

    /// Makes an image from tightly or loosely packed BGR rows.
    public convenience init(bgr pixels: [UInt8], width: Int, height: Int) throws(VisionError) {
        precondition(pixels.count >= width * height * 3, "not enough pixels")
        var error = lcv_error()
        let handle = pixels.withUnsafeBufferPointer {
            lcv_image_from_bgr($0.baseAddress, Int32(width), Int32(height), width * 3, &error)
        }
        guard let handle else { throw .opencv(error.text) }
        self.init(handle: handle)
    }

    /// The BGR pixels, row after row, without padding.
    public var bgrPixels: [UInt8] {
        var stride = 0
        let base = lcv_image_pixels(handle, &stride)!
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        out.withUnsafeMutableBytes { dst in
            for row in 0..<height {
                (dst.baseAddress! + row * rowBytes).copyMemory(from: base + row * stride, byteCount: rowBytes)
            }
        }
        return out
    }

    public func resized(width: Int, height: Int) throws(VisionError) -> Image {
        try make { lcv_image_resize(handle, Int32(width), Int32(height), &$0) }
    }

    /// The region `box` (clipped to the image).
    public func cropped(to box: Box) throws(VisionError) -> Image {
        try make {
            lcv_image_crop(
                handle, Int32(box.x.rounded(.down)), Int32(box.y.rounded(.down)),
                Int32(box.width.rounded(.up)), Int32(box.height.rounded(.up)), &$0)
        }
    }

    /// Warps with a similarity or affine transform mapping this image onto a `width`×`height` canvas.
    public func warped(by transform: AffineTransform, width: Int, height: Int) throws(VisionError) -> Image {
        let m = transform.matrix
        return try make { error in
            m.withUnsafeBufferPointer { lcv_image_warp_affine(handle, $0.baseAddress, Int32(width), Int32(height), &error) }
        }
    }

    /// JPEG bytes, for thumbnails and review crops.
    public func jpegData(quality: Int = 90) throws(VisionError) -> [UInt8] {
        try encoded(format: "jpg", quality: quality)
    }

    /// The image encoded in `format` (JPEG at quality 95).
    public func encoded(as format: ImageHeader.Format) throws(VisionError) -> [UInt8] {
        let extensions: [ImageHeader.Format: String] = [.jpeg: "jpg", .png: "png", .webp: "webp", .bmp: "bmp", .tiff: "tiff"]
        return try encoded(format: extensions[format]!, quality: 95)
    }

    /// Packs the image as planar floats (3 × `height` × `width`): resized to `scaledSize`,
    /// at the top-left corner with zero padding; RGB order when `rgb`, mirrored when `mirrored`.
    func writePlanar(
        into out: UnsafeMutablePointer<Float>, scaledSize: (width: Int, height: Int),
        width: Int, height: Int, rgb: Bool, mirrored: Bool = false
    ) throws(VisionError) {
        var error = lcv_error()
        let status = lcv_image_to_planar(
            handle, Int32(scaledSize.width), Int32(scaledSize.height),
            Int32(width), Int32(height), rgb ? 1 : 0, mirrored ? 1 : 0, out, &error)
        guard status == 0 else { throw .opencv(error.text) }
    }

    private func encoded(format: String, quality: Int) throws(VisionError) -> [UInt8] {
        var error = lcv_error()
        var bytes: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard lcv_image_encode(handle, format, Int32(quality), &bytes, &length, &error) == 0, let bytes else {
            throw .opencv(error.text)
        }
        defer { lcv_buffer_free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }

    private func make(_ body: (inout lcv_error) -> OpaquePointer?) throws(VisionError) -> Image {
        var error = lcv_error()
        guard let handle = body(&error) else { throw .opencv(error.text) }
        return Image(handle: handle)
    }

    /// Reads a file's bytes, refusing missing files, folders and files over the byte limit.
    /// One open, one stat and one read: this runs for every photo of an ingest.
    public static func readFile(_ path: String, limits: ImageLimits) throws(ImageError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR: throw .fileNotFound(path: path)
            case EISDIR: throw .isDirectory(path: path)
            default: throw .unreadable(path: path, reason: String(cString: strerror(code)))
            }
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR { throw .isDirectory(path: path) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= limits.maxBytes else { throw .tooManyBytes(bytes: size, limit: limits.maxBytes) }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let got = read(descriptor, buffer.baseAddress! + count, size - count)
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else {
                    failure = got < 0 ? errno : 0
                    break
                }
                count += got
            }
        }
        if failure != 0 { throw .unreadable(path: path, reason: String(cString: strerror(failure))) }
        // A file that shrank while being read is as good as truncated; the header check says so.
        return bytes
    }
}

extension lcv_error {
    var text: String { cMessageText(message) }
}

/// The text of a C shim's fixed-size, NUL-terminated message buffer (`lcv_error`,
/// `lov_error`), which Swift imports as a tuple of characters.
func cMessageText<Buffer>(_ message: Buffer) -> String {
    withUnsafeBytes(of: message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}
