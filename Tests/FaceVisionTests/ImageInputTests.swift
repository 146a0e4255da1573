import Foundation
import Testing

@testable import FaceVision

/// Bad input gets a specific error and nothing else; good input in every accepted format decodes.
@Suite struct ImageInputTests {
    @Test func emptyFileIsRefused() throws {
        let path = try Fixtures.temporaryFile("empty.jpg", [])
        #expect(throws: ImageError.empty) { try Image(contentsOf: path) }
    }

    @Test func textRenamedAsJPEGIsRefused() throws {
        let path = try Fixtures.temporaryFile("notes.jpg", Array("these are not pixels\n".utf8))
        #expect(throws: ImageError.unrecognisedFormat(leadingBytes: Array("these ar".utf8))) { try Image(contentsOf: path) }
    }

    @Test func truncatedJPEGIsRefused() throws {
        let whole = try Fixtures.bytes(Fixtures.sample("obama.jpg"))
        let path = try Fixtures.temporaryFile("cut.jpg", Array(whole.prefix(whole.count / 2)))
        #expect(throws: ImageError.truncated(format: .jpeg)) { try Image(contentsOf: path) }
    }

    @Test func truncatedPNGIsRefused() throws {
        let png = try Image(contentsOf: Fixtures.sample("obama.jpg")).encoded(as: .png)
        #expect(throws: ImageError.truncated(format: .png)) { try Image(data: Array(png.prefix(png.count - 200))) }
    }

    /// A PNG header claiming 100000×100000 pixels: refused before any pixel is allocated.
    @Test func decompressionBombIsRefused() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        png += Array("IHDR".utf8) + bigEndian(100_000) + bigEndian(100_000) + [8, 2, 0, 0, 0] + [0, 0, 0, 0]
        png += [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
        let path = try Fixtures.temporaryFile("bomb.png", png)
        #expect(throws: ImageError.tooManyPixels(width: 100_000, height: 100_000, limit: ImageLimits.default.maxPixels)) {
            try Image(contentsOf: path)
        }
    }

    @Test func pixelLimitIsConfigurable() throws {
        let limits = ImageLimits(maxPixels: 500_000)
        #expect(throws: ImageError.tooManyPixels(width: 910, height: 1137, limit: 500_000)) {
            try Image(contentsOf: Fixtures.sample("obama.jpg"), limits: limits)
        }
        #expect(throws: ImageError.tooManyBytes(bytes: 279_922, limit: 1000)) {
            try Image(contentsOf: Fixtures.sample("obama.jpg"), limits: ImageLimits(maxBytes: 1000))
        }
    }

    @Test func directoryIsRefused() {
        #expect(throws: ImageError.isDirectory(path: Fixtures.samples)) { try Image(contentsOf: Fixtures.samples) }
    }

    @Test func missingFileIsRefused() {
        let path = Fixtures.samples + "/no-such-photo.jpg"
        #expect(throws: ImageError.fileNotFound(path: path)) { try Image(contentsOf: path) }
    }

    @Test func errorsExplainThemselves() {
        #expect(ImageError.truncated(format: .jpeg).description == "the JPEG data is truncated")
        #expect(ImageError.tooManyPixels(width: 9, height: 9, limit: 10).description.contains("--max-pixels"))
    }

    @Test(arguments: ImageHeader.Format.allCases)
    func everyAcceptedFormatDecodes(format: ImageHeader.Format) throws {
        let photo = try Image(contentsOf: Fixtures.sample("obama.jpg"))
        let encoded = try photo.encoded(as: format)
        let header = try ImageHeader(bytes: encoded)
        #expect(header == ImageHeader(format: format, width: 910, height: 1137))
        let decoded = try Image(data: encoded)
        #expect(decoded.width == 910 && decoded.height == 1137)
    }

    /// The same photo with its EXIF orientation tag set to 6 ("rotate 90° clockwise to
    /// display") decodes rotated: every pixel lands where a clockwise quarter turn puts it.
    @Test func exifOrientationIsApplied() throws {
        var bytes = try Fixtures.bytes(Fixtures.sample("obama.jpg"))
        let stored = try Image(data: bytes)
        try setEXIFOrientation(&bytes, to: 6)
        let shown = try Image(data: bytes)
        #expect(shown.width == stored.height && shown.height == stored.width)
        let before = stored.bgrPixels, after = shown.bgrPixels
        var mismatches = 0
        for (x, y) in [(0, 0), (100, 200), (500, 700), (909, 1136), (455, 300)] {
            // A clockwise turn moves stored (x, y) to shown (height − 1 − y, x).
            let from = 3 * (y * stored.width + x), to = 3 * (x * shown.width + (stored.height - 1 - y))
            if before[from..<from + 3] != after[to..<to + 3] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}

struct MissingOrientationTag: Error {}

/// Rewrites the orientation entry (tag 0x0112) of the first EXIF image directory.
func setEXIFOrientation(_ jpeg: inout [UInt8], to value: UInt16) throws {
    guard
        let app1 = (0..<(jpeg.count - 10)).first(where: {
            jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xE1 && Array(jpeg[($0 + 4)..<($0 + 10)]) == Array("Exif\0\0".utf8)
        })
    else { throw MissingOrientationTag() }
    let tiff = app1 + 10
    let little = jpeg[tiff] == 0x49
    func u16(_ at: Int) -> Int { little ? Int(jpeg[at]) | Int(jpeg[at + 1]) << 8 : Int(jpeg[at]) << 8 | Int(jpeg[at + 1]) }
    func u32(_ at: Int) -> Int { little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2) }
    let directory = tiff + u32(tiff + 4)
    for entry in 0..<u16(directory) {
        let at = directory + 2 + entry * 12
        if u16(at) == 0x0112 {
            let bytes = little ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
            jpeg[at + 8] = bytes[0]
            jpeg[at + 9] = bytes[1]
            return
        }
    }
    throw MissingOrientationTag()
}
