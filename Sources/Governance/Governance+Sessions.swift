import Crypto
import Foundation
import Store

extension Governance {
    /// How long a browser session lasts before its holder signs in again.
    public static let sessionLifetime: TimeInterval = 12 * 3600

    /// Signs a person in to the web interface with one of their API tokens, and
    /// answers with a short-lived session token of the same account: the long-lived
    /// token never sits in a browser cookie, and signing out revokes the session alone.
    public func signIn(token: String) throws -> (session: IssuedToken, principal: Principal) {
        let principal = try authenticate(token: token)
        if principal.credential?.isSession == true {
            throw GovernanceError.forbidden("a session's token cannot start another session: sign in with your API token")
        }
        let session = try database.write { db in
            let session = try issueToken(
                for: principal.account, label: "web session", lifetime: Self.sessionLifetime,
                isSession: true, in: db)
            try audit(principal, action: .sessionStart, target: principal.name, details: Self.json(["token": session.id]), in: db)
            return session
        }
        return (session, principal)
    }

    /// Ends a web session: its token is revoked at once.
    public func signOut(sessionToken: String) throws {
        let principal = try authenticate(token: sessionToken)
        let digest = Data(SHA256.hash(data: Data(sessionToken.utf8)))
        try database.write { db in
            try AccessToken.revoke(sha256: digest, at: now(), in: db)
            try audit(principal, action: .sessionEnd, target: principal.name, in: db)
        }
    }
}
