import Foundation

/// Web addresses as keys: a page's `<img src>` resolved against its URL and the
/// `WARC-Target-URI` of the image's own record name the same resource in different
/// spellings (`HTTP://Site.example:80/a.jpg#top` and `http://site.example/a.jpg`).
public enum WebAddress {
    /// The address with its scheme and host in lower case, a default port and the
    /// fragment dropped, and an empty path written `/`; unparseable text as it is.
    public static func key(_ address: String) -> String {
        guard var parts = URLComponents(string: address.trimmingCharacters(in: .whitespaces)), let scheme = parts.scheme?.lowercased()
        else { return address }
        parts.scheme = scheme
        parts.host = parts.host?.lowercased()
        if (scheme == "http" && parts.port == 80) || (scheme == "https" && parts.port == 443) { parts.port = nil }
        parts.fragment = nil
        if parts.percentEncodedPath.isEmpty, parts.host != nil { parts.percentEncodedPath = "/" }
        return parts.string ?? address
    }
}
