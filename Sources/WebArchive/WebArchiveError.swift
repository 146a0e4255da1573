/// Why a web archive cannot be read at all (problems with single records are
/// `WARCProblem`s, and reading goes on).
public enum WebArchiveError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot open the web archive \(path)"
        }
    }
}

/// Something wrong with one record: what and where, so the operator can look at it
/// with any WARC tool. The reader goes on with the next record.
public struct WARCProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The offset in the file of the record (of its gzip member, in a .warc.gz).
    public var offset: Int
    public var reason: String

    public var description: String { "record at offset \(offset): \(reason)" }
}
