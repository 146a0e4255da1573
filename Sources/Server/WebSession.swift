import Crypto
import Foundation
import Governance
import HTTPTypes
import Hummingbird

/// The browser's sign-in: a session token (an API token of the account that lives
/// `Governance.sessionLifetime`) in an HttpOnly, SameSite=Strict cookie, and a CSRF
/// token derived from it that every form and script must send back. A page of
/// another site can neither read the cookie nor compute the CSRF token, and no
/// state is kept in the server process, so any instance can serve any request.
enum WebSession {
    static let cookieName = "lineup_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let csrfField = "csrf"

    /// The cookie of the sign-in form: a random value whose CSRF token the form
    /// carries, so another site cannot sign a visitor in as someone else (login CSRF).
    static let signInCookieName = "lineup_signin"

    /// The session token of the request's cookie, if any.
    static func token(of request: Request) -> String? { cookie(cookieName, of: request) }

    /// The sign-in form's nonce from its cookie, if any.
    static func signInNonce(of request: Request) -> String? { cookie(signInCookieName, of: request) }

    static func cookie(_ name: String, of request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name, !parts[1].isEmpty { return String(parts[1]) }
        }
        return nil
    }

    /// A new sign-in nonce (128 random bits) and its cookie, valid for an hour on /login.
    static func newSignIn(secure: Bool) -> (nonce: String, cookie: String) {
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        return (nonce, "\(signInCookieName)=\(nonce); Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600" + (secure ? "; Secure" : ""))
    }

    /// Where to go after signing in: a path of this server, or nil. Parsed, not
    /// pattern-matched: no scheme or host, one leading slash, and nothing a browser
    /// strips or bends (tabs, line breaks, spaces, backslashes), so `/%09/host`
    /// (a tab the browser drops, leaving `//host`) is refused.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 2000,
            !next.unicodeScalars.contains(where: {
                CharacterSet.whitespacesAndNewlines.contains($0)
                    || CharacterSet.controlCharacters.contains($0) || $0 == "\\"
            }),
            let parsed = URLComponents(string: next), parsed.scheme == nil, parsed.host == nil,
            parsed.percentEncodedPath.hasPrefix("/"), !parsed.percentEncodedPath.hasPrefix("//")
        else { return nil }
        // What the path says once decoded must not turn into another origin either.
        let decoded = parsed.path
        guard !decoded.hasPrefix("//"), !decoded.contains("\\"),
            !decoded.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) })
        else { return nil }
        return next
    }

    /// The CSRF token that goes with a session token.
    static func csrf(for sessionToken: String) -> String {
        SHA256.hash(data: Data(("lineup-csrf:" + sessionToken).utf8)).prefix(20).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares in constant time.
    static func csrfMatches(_ sent: String?, sessionToken: String) -> Bool {
        guard let sent else { return false }
        let expected = Array(csrf(for: sessionToken).utf8), given = Array(sent.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func setCookie(_ token: String, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(Governance.sessionLifetime))"
            + (secure ? "; Secure" : "")
    }

    static func clearCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }
}
