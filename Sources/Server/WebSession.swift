import Crypto
import Foundation
import Governance
import Hummingbird
import HTTPTypes

/// The browser's sign-in: a session token (an API token of the account that lives
/// `Governance.sessionLifetime`) in an HttpOnly, SameSite=Strict cookie, and a CSRF
/// token derived from it that every form and script must send back. A page of
/// another site can neither read the cookie nor compute the CSRF token, and no
/// state is kept in the server process, so any instance can serve any request.
enum WebSession {
    static let cookieName = "lineup_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let csrfField = "csrf"

    /// The session token of the request's cookie, if any.
    static func token(of request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty { return String(parts[1]) }
        }
        return nil
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
