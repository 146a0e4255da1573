import Foundation

/// How pages write dates and put names into links, the same on every page.
enum PageText {
    /// `2026-11-30 20:47:03 UTC`: the audit log and every record keep UTC.
    /// The address, if it may be a link: absolute http or https.
    static func webLink(_ address: String) -> String? {
        guard let url = URL(string: address), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { return nil }
        return address
    }

    static func time(_ date: Date) -> String {
        date.formatted(
            Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeZone: TimeZone(identifier: "UTC")!)
                .year().month().day().time(includingFractionalSeconds: false)) + " UTC"
    }

    /// `2026-11-30`, the UTC day.
    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).year().month().day())
    }

    /// A name or reference as one path segment or query value of a link.
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? text
    }
}
