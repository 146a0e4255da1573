import CGzip

/// One gzip member of bytes: what a `.warc.gz` holds per record.
public enum GzipMember {
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: lgz_member_bound(bytes.count))
        let size = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { lgz_deflate_member(input.baseAddress, input.count, $0.baseAddress, $0.count) }
        }
        precondition(size > 0, "zlib could not compress \(bytes.count) bytes into their bound")
        return Array(output.prefix(size))
    }
}
