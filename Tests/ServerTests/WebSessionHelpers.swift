import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Server

/// A browser's session in tests: the cookie the server set at sign-in and the CSRF
/// token its pages carry.
struct BrowserSession {
    var cookie: String
    var csrf: String

    /// Signs in through the login form with the role's API token.
    static func signIn(_ client: some TestClientProtocol, token: String) async throws -> BrowserSession {
        let response = try await postSignIn(client, token: token)
        #expect(response.status == .seeOther)
        let setCookie = response.headers[.setCookie] ?? ""
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
        let cookie = String(setCookie.split(separator: ";")[0])
        let value = String(cookie.split(separator: "=", maxSplits: 1)[1])
        return BrowserSession(cookie: cookie, csrf: WebSession.csrf(for: value))
    }

    /// Opens the sign-in page, as a browser does, and sends its form with `token` and
    /// the page's cookie and CSRF token; `next` is the form's hidden field.
    static func postSignIn(_ client: some TestClientProtocol, token: String, next: String? = nil) async throws -> TestResponse {
        let form = try await client.execute(uri: "/login", method: .get)
        let setCookie = form.headers[.setCookie] ?? ""
        #expect(setCookie.hasPrefix(WebSession.signInCookieName + "=") && setCookie.contains("SameSite=Strict"))
        let cookie = String(setCookie.split(separator: ";")[0])
        let nonce = String(cookie.split(separator: "=", maxSplits: 1)[1])
        let csrf = WebSession.csrf(for: nonce)
        #expect(String(buffer: form.body).contains(csrf), "the sign-in form carries its CSRF token")
        var body = "token=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token) + "&csrf=" + csrf
        if let next { body += "&next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next) }
        return try await client.execute(
            uri: "/login", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookie],
            body: ByteBuffer(string: body))
    }

    var headers: HTTPFields { [.cookie: cookie] }

    /// A URL-encoded form POST with the CSRF token added.
    func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [String: String] = [:]) async throws -> TestResponse {
        var all = fields
        all["csrf"] = csrf
        let body = all.sorted { $0.key < $1.key }.map { key, value in
            key + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)
        }.joined(separator: "&")
        var headers = self.headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// A multipart form POST (text fields and files) with the CSRF token added.
    func postMultipart(
        _ client: some TestClientProtocol, _ uri: String, _ fields: [String: String],
        files: [(String, String, [UInt8])]
    ) async throws -> TestResponse {
        var all = fields
        all["csrf"] = csrf
        var (headers, body) = ServerWorld.form(all, files: files)
        headers[.cookie] = cookie
        return try await client.execute(uri: uri, method: .post, headers: headers, body: body)
    }

    func get(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: headers)
    }
}
