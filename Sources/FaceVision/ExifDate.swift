import Foundation

/// When a JPEG photo was taken, from its EXIF block: DateTimeOriginal (tag 0x9003
/// in the Exif directory), else DateTime (0x0132 in the first directory).
///
/// EXIF stores wall-clock time without a zone; Lineup records it as if it were
/// UTC and says so wherever it shows it. Anything malformed gives nil: a missing
/// date is normal, a broken one is not worth refusing the photo for.
public enum ExifDate {
    public static func captureDate(in bytes: [UInt8]) -> Date? {
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var offset = 2
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xDA || length < 2 { return nil }
            if marker == 0xE1, offset + 10 <= bytes.count, Array(bytes[(offset + 4)..<(offset + 10)]) == Array("Exif\0\0".utf8) {
                let end = min(bytes.count, offset + 2 + length)
                return parseTIFF(Array(bytes[(offset + 10)..<end]))
            }
            offset += 2 + length
        }
        return nil
    }

    private static func parseTIFF(_ t: [UInt8]) -> Date? {
        guard t.count >= 8 else { return nil }
        let little = t[0] == 0x49
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= t.count else { return nil }
            return little ? Int(t[at]) | Int(t[at + 1]) << 8 : Int(t[at]) << 8 | Int(t[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        /// The value of `tag` in the directory at `directory`: (type, count, value or offset).
        func entry(_ tag: Int, in directory: Int) -> (type: Int, count: Int, value: Int)? {
            guard let entries = u16(directory), entries < 1000 else { return nil }
            for index in 0..<entries {
                let at = directory + 2 + index * 12
                guard let found = u16(at), let type = u16(at + 2), let count = u32(at + 4), let value = u32(at + 8) else { return nil }
                if found == tag { return (type, count, value) }
            }
            return nil
        }
        func text(_ e: (type: Int, count: Int, value: Int)) -> String? {
            guard e.type == 2, e.count >= 19, e.value + 19 <= t.count else { return nil }
            return String(decoding: t[e.value..<(e.value + 19)], as: UTF8.self)
        }
        guard let first = u32(4) else { return nil }
        var stamp: String?
        if let exif = entry(0x8769, in: first), let original = entry(0x9003, in: exif.value) { stamp = text(original) }
        if stamp == nil, let plain = entry(0x0132, in: first) { stamp = text(plain) }
        guard let stamp else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy:MM:dd HH:mm:ss"
        return formatter.date(from: stamp)
    }
}
