import Foundation
import Governance
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@testable import Server

/// The web interface: sessions, the role × page matrix, the investigator's search
/// and review, and the public forms, through real requests on real photos.
@Suite struct WebTests {
    /// Every page × every role, and no session: a page that needs an account sends the
    /// unsigned to /login (GET) or refuses them (POST); a role the page does not list
    /// gets 403; a role it lists never does.
    @Test func everyPageRefusesAndAllowsTheRolesItDeclares() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            var sessions: [Role: BrowserSession] = [:]
            for role in Role.allCases { sessions[role] = try await BrowserSession.signIn(client, token: world.tokens[role]!) }
            for page in WebPage.catalogue where page.path != "/logout" {
                let uri = page.path.replacingOccurrences(of: "{name}", with: "nobody").replacingOccurrences(of: "{reference}", with: "none")
                    .replacingOccurrences(of: "{entry}", with: "1").replacingOccurrences(of: "{face}", with: "1")
                    .replacingOccurrences(of: "{job}", with: "none").replacingOccurrences(of: "{decision}", with: "confirm")
                    .replacingOccurrences(of: "{file}", with: "lineup.css")
                for role in [nil] + Role.allCases {
                    let response: TestResponse
                    if let role, let session = sessions[role] {
                        response = page.method == .get ? try await session.get(client, uri) : try await session.post(client, uri)
                    } else {
                        response = try await client.execute(
                            uri: uri, method: page.method, headers: [.contentType: "application/x-www-form-urlencoded"])
                    }
                    let status = response.status.code
                    let who = role?.rawValue ?? "no session"
                    switch page.access {
                    case .public where page.path == "/login" && page.method == .post:
                        #expect(status == 403, "signing in without the sign-in form's cookie and CSRF token: \(status)")
                    case .public:
                        #expect(status != 401 && status != 403, "\(page.method) \(page.path) as \(who): \(status)")
                    case .anyAccount, .roles:
                        let allowed: Bool
                        if case .roles(let roles) = page.access { allowed = role.map(roles.contains) ?? false } else { allowed = role != nil }
                        if role == nil {
                            let expected: UInt = page.method == .get ? 303 : 401
                            #expect(status == expected, "\(page.method) \(page.path) without a session: \(status)")
                            if page.method == .get { #expect(response.headers[.location]?.hasPrefix("/login?next=") == true) }
                        } else if allowed {
                            #expect(status != 401 && status != 403, "\(page.method) \(page.path) as \(who): \(status)")
                        } else {
                            #expect(status == 403, "\(page.method) \(page.path) as \(who): \(status)")
                        }
                    }
                    if status < 300 || status >= 400, response.headers[.contentType]?.hasPrefix("text/html") == true {
                        #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                    }
                }
            }
        }
    }

    @Test func sessionsAreCookiesWithCSRFAndEndAtSignOut() async throws {
        let world = try ServerWorld()
        try await world.test { client in
            let wrong = try await BrowserSession.postSignIn(client, token: "lnt_nothing")
            #expect(wrong.status == .unauthorized)
            #expect(String(buffer: wrong.body).contains("unknown token"))
            #expect(!(wrong.headers[.setCookie] ?? "").hasPrefix(WebSession.cookieName + "="), "no session for a wrong token")

            let session = try await BrowserSession.signIn(client, token: world.tokens[.investigator]!)
            #expect(!session.cookie.contains(world.tokens[.investigator]!), "the cookie holds a session token, not the API token")
            let search = try await session.get(client, "/search")
            #expect(search.status == .ok)
            #expect(String(buffer: search.body).contains(session.csrf))

            // The session works on the API too, but anything that changes state needs the CSRF header.
            let listed = try await client.execute(uri: "/api/v1/sources", method: .get, headers: session.headers)
            #expect(listed.status == .ok)
            var headers = session.headers
            headers[.contentType] = "application/json"
            let forged = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            #expect(forged.status == .forbidden && String(buffer: forged.body).contains("CSRF"))
            headers[WebSession.csrfHeader] = session.csrf
            // With the CSRF token the call gets through to Governance, which refuses a
            // session a token that would outlive it.
            let issued = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            #expect(issued.status == .forbidden && String(buffer: issued.body).contains("outlives it"))

            // A form without the CSRF token is refused and signs nobody out.
            var form = session.headers
            form[.contentType] = "application/x-www-form-urlencoded"
            let stale = try await client.execute(uri: "/logout", method: .post, headers: form, body: ByteBuffer(string: ""))
            #expect(stale.status == .forbidden)
            #expect(try await session.get(client, "/search").status == .ok)

            let out = try await session.post(client, "/logout")
            #expect(out.status == .seeOther && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await session.get(client, "/search")
            #expect(after.status == .seeOther, "the session token was revoked")
        }
        let actions = try world.governance.exportAudit(as: world.governance.authenticate(token: world.tokens[.auditor]!)).map(\.action)
        #expect(actions.contains("session.start") && actions.contains("session.end"))
    }

    @Test func anInvestigatorSearchesReviewsCandidatesAndOpensOne() async throws {
        let world = try ServerWorld(ingest: true)
        try await world.test { client in
            let session = try await BrowserSession.signIn(client, token: world.tokens[.investigator]!)
            let photo = try ServerWorld.photo("obama2.jpg")

            var (headers, body) = ServerWorld.form(["photo_name": "x"], files: [("photo", "obama2.jpg", photo)])
            headers[.cookie] = session.cookie
            headers[WebSession.csrfHeader] = session.csrf
            let detected = try await client.execute(uri: "/api/v1/detect", method: .post, headers: headers, body: body)
            #expect(detected.status == .ok)
            let faces = ServerWorld.json(detected)["faces"] as? [[String: Any]] ?? []
            #expect(faces.count == 1)
            #expect(ServerWorld.json(detected)["most_prominent"] as? Int == 1, "faces are numbered from 1, as on the page")

            let unjustified = try await session.postMultipart(
                client, "/search", ["case_number": "2026/0415", "purpose": "identify"],
                files: [("photo", "obama2.jpg", photo)])
            #expect(unjustified.status == .badRequest)
            #expect(String(buffer: unjustified.body).contains("fill in the legal basis"))
            #expect(String(buffer: unjustified.body).contains("value=\"2026/0415\""), "the form keeps what was typed")

            let found = try await session.postMultipart(
                client, "/search",
                [
                    "case_number": "2026/0415", "purpose": "identify a suspect",
                    "legal_basis": "PACE 1984 s.64A", "face": "1",
                ],
                files: [("photo", "obama2.jpg", photo)])
            #expect(found.status == .ok)
            let html = String(buffer: found.body)
            #expect(html.contains("Candidates for human review"))
            #expect(!html.lowercased().contains("match found"))
            #expect(html.contains("id=\"candidate-1\"") && html.contains("obama2.jpg"))
            #expect(html.components(separatedBy: "data:image/jpeg;base64,").count - 1 == 4, "the probe and the three credible crops")
            #expect(html.contains("id=\"below-threshold-count\">1 lower-scoring"), "the stranger is counted, not shown")
            #expect(html.contains("id=\"shown-rule\">") && html.contains("id=\"legend-below-threshold\""), "the rule and every band")
            guard let link = html.firstMatch(of: /href="(\/searches\/(\d+)\/candidates\/(\d+))" id="open-1"/) else {
                Issue.record("no link to open the first candidate")
                return
            }
            let opened = try await session.get(client, String(link.1))
            #expect(opened.status == .ok)
            let page = String(buffer: opened.body)
            #expect(page.contains("id=\"candidate-picture\"") && page.contains("obama2.jpg") && page.contains("public-task"))
            #expect(html.contains("Official portrait"), "the results say where the picture was published")
            #expect(page.contains("<a href=\"https://news.example/2009/portrait.html\"") && page.contains("Official portrait"))
            #expect(page.contains("White House"), "the credit")
            #expect(page.contains("id=\"probe-face\"") && page.contains("id=\"candidate-face\""), "the probe beside the candidate")
            #expect(page.contains("id=\"next-candidate\"") && !page.contains("id=\"previous-candidate\""), "the first of three")
            #expect(page.contains("href=\"/searches/\(link.2)\" id=\"back-to-results\""))

            let past = try await session.get(client, "/searches")
            #expect(String(buffer: past.body).contains("href=\"/searches/\(link.2)\" id=\"search-\(link.2)\""))
            let again = try await session.get(client, "/searches/\(link.2)")
            #expect(again.status == .ok && String(buffer: again.body).contains("id=\"candidate-3\""), "the results again")
            #expect(!String(buffer: again.body).contains("id=\"candidate-4\""))

            // Another investigator cannot open it, nor a face the search did not return.
            let other = try await session.get(client, "/searches/\(link.2)/candidates/999999")
            #expect(other.status == .notFound)
        }
        let audit = try world.governance.exportAudit(as: world.governance.authenticate(token: world.tokens[.auditor]!))
        #expect(audit.filter { $0.action == "search" }.count == 1, "the unjustified form never reached the engine")
        #expect(audit.contains { $0.action == "view.crops" } && audit.contains { $0.action == "view.candidate" })
    }

    @Test func thePublicOptOutPageTakesOnePhotoAndAContact() async throws {
        let world = try ServerWorld(ingest: true)
        try await world.test { client in
            let form = try await client.execute(uri: "/opt-out", method: .get)
            #expect(form.status == .ok && String(buffer: form.body).contains("name=\"contact\""))
            let (headers, body) = ServerWorld.form(
                ["contact": "b.obama@example.org"], files: [("photo", "me.jpg", try ServerWorld.photo("obama3.jpg"))])
            let sent = try await client.execute(uri: "/opt-out", method: .post, headers: headers, body: body)
            #expect(sent.status == .created)
            guard let reference = String(buffer: sent.body).firstMatch(of: /id="reference">(OO-[0-9a-f]+)</)?.1 else {
                Issue.record("no reference on the page")
                return
            }
            let status = try await client.execute(uri: "/requests?reference=" + reference, method: .get)
            #expect(String(buffer: status.body).contains("id=\"request-status\">pending<"))
            let unknown = try await client.execute(uri: "/requests?reference=OO-0000", method: .get)
            #expect(unknown.status == .notFound)

            let (h2, b2) = ServerWorld.form(
                ["contact": "someone@example.org"], files: [("photo", "broken.jpg", Array(try ServerWorld.photo("biden.jpg").prefix(1500)))])
            let broken = try await client.execute(uri: "/opt-out", method: .post, headers: h2, body: b2)
            #expect(broken.status == .unprocessableContent)
            #expect(String(buffer: broken.body).contains("id=\"error-message\""))
        }
        let officer = try world.governance.authenticate(token: world.tokens[.privacyOfficer]!)
        #expect(try world.governance.optOuts(as: officer).count == 1, "the broken photo recorded nothing")
    }
}
