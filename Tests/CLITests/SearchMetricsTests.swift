import Foundation
import Testing

/// `lineup_searches_total` is read from the audit log, so a search counts the same
/// whether it came through the web pages, the API or the command line (another
/// process on the same store).
@Suite struct SearchMetricsTests {
    @Test func searchesTotalCountsWebAPIAndCommandLineSearchesAlike() async throws {
        let served = try ServedGallery()
        let tokens = served.tokens
        let probe = try Data(contentsOf: URL(fileURLWithPath: CLITests.samples + "/obama2.jpg"))
        let justification = ["case_number": "2026/0415", "purpose": "identify a suspect", "legal_basis": "PACE 1984 s.64A"]
        let scrape: @Sendable (PlainHTTP) throws -> String = { client in
            try client.request("GET", "/metrics", token: tokens.auditor).body
        }
        let before = try await served.onThread { client in
            let metrics = try scrape(client)
            // The API: one search.
            let (type, body) = PlainHTTP.multipart(justification, files: [("photo", "probe.jpg", probe)])
            #expect(try client.request("POST", "/api/v1/search", token: tokens.investigator, contentType: type, body: body).status == 200)
            // The web pages: sign in with the token, then the search form, as a browser does.
            let login = try client.request("GET", "/login")
            let signIn = try #require(login.body.firstMatch(of: /name="csrf" value="([^"]+)"/)).1
            let form = "token=\(tokens.investigator.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&csrf=\(signIn)"
            let session = try client.request(
                "POST", "/login", cookie: login.cookie, contentType: "application/x-www-form-urlencoded", body: Data(form.utf8))
            #expect(session.status == 303, "\(session.head)")
            let page = try client.request("GET", "/search", cookie: session.cookie)
            let csrf = String(try #require(page.body.firstMatch(of: /name="csrf" value="([^"]+)"/)).1)
            let (webType, webBody) = PlainHTTP.multipart(
                justification.merging(["csrf": csrf]) { $1 }, files: [("photo", "probe.jpg", probe)])
            let results = try client.request("POST", "/search", cookie: session.cookie, contentType: webType, body: webBody)
            #expect(results.status == 200 && results.body.contains("Candidates for human review"), "\(results.status)")
            return metrics
        }
        #expect(before.contains("lineup_searches_total 0\n"), "\(before)")
        #expect(before.contains("# HELP lineup_searches_total "))
        // The command line, in a process of its own, on the server's store.
        let cli = try CLITests.lineup(
            ["search", "--json", "--store", served.store, "--token", tokens.investigator, CLITests.samples + "/obama2.jpg"]
                + CLITests.justification)
        #expect(cli.status == 0, "\(cli.stderr)")
        let after = try await served.onThread { client in try scrape(client) }
        #expect(after.contains("lineup_searches_total 3\n"), "web, API and command line: \(after)")
        for line in after.split(separator: "\n") where line.hasPrefix("lineup_") {
            let name = line.split(separator: " ")[0].split(separator: "{")[0]
            #expect(after.contains("# HELP \(name) ") || after.contains("# HELP \(name.replacing(/_(bucket|sum|count)$/, with: "")) "), "\(name)")
        }
    }
}
