import Foundation
import Governance
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// A request to a page, with who is signed in and, for a POST, its form (whose
/// CSRF token has already been checked).
struct WebRequest: Sendable {
    var request: Request
    var context: LineupRequestContext
    var principal: Principal?
    var session: String?
    var form: WebForm

    /// A `{name}` of the page's path, percent-decoded (the router leaves it encoded).
    func parameter(_ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    /// The query string's fields, decoded like a submitted form (`+` is a space).
    var queryForm: WebForm { WebForm(fields: WebForm.urlEncoded(request.uri.query ?? "")) }

    func query(_ name: String) -> String? { queryForm[name] }

    /// The signed-in account (pages that are not public always have one).
    var signedIn: Principal {
        get throws {
            guard let principal else { throw APIError(.unauthorized, .unauthenticated, "sign in first") }
            return principal
        }
    }
}

/// The web interface's templates and assets, read once from the module's resources.
enum WebAssets {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Pages")

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasSuffix(".mustache") {
            do {
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch {
                preconditionFailure("the page template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    /// Files served under /static, with their content types.
    static let files: [String: (type: String, bytes: ByteBuffer)] = {
        var files: [String: (String, ByteBuffer)] = [:]
        for (name, type) in [
            ("lineup.css", "text/css; charset=utf-8"), ("lineup.js", "text/javascript; charset=utf-8"),
            ("ingest.js", "text/javascript; charset=utf-8"),
        ] {
            if let data = try? Data(contentsOf: folder.appendingPathComponent(name)) { files[name] = (type, ByteBuffer(data: data)) }
        }
        return files
    }()
}

extension LineupServer {
    /// Headers of every page: nothing cached (pages hold personal data), nothing
    /// framed, scripts and styles from this server only.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    func addWebPages(to router: Router<LineupRequestContext>) {
        addSessionPages(to: router)
        addSearchPages(to: router)
        addSourcePages(to: router)
        addSupervisionPages(to: router)
        addPrivacyPages(to: router)
        addPublicPages(to: router)
        addCasePages(to: router)
    }

    /// Registers a page of `WebPage.catalogue`: sends the unsigned to the sign-in page,
    /// refuses roles the page does not list, checks the CSRF token of every signed-in
    /// POST, and shows errors as a page.
    func page(
        _ router: Router<LineupRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (WebRequest) async throws -> Response
    ) {
        guard let page = WebPage.catalogue.first(where: { $0.method == method && $0.path == path }) else {
            preconditionFailure("\(method) \(path) is not in WebPage.catalogue")
        }
        router.on(RouterPath(path), method: method) { request, context in
            let session = WebSession.token(of: request)
            var principal: Principal?
            if let session { principal = try? await blocking(timed: false) { try governance.authenticate(token: session) } }
            var web = WebRequest(
                request: request, context: context, principal: principal, session: principal == nil ? nil : session,
                form: WebForm())
            do {
                if page.access != .public {
                    guard let principal else {
                        if method == .get {
                            return redirect(
                                to: "/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"))
                        }
                        throw APIError(.unauthorized, .unauthenticated, "your session has ended: sign in again")
                    }
                    if case .roles(let roles) = page.access, !roles.contains(where: principal.has) {
                        throw APIError(.forbidden, .forbidden, "this page is for the role " + roles.map(\.rawValue).joined(separator: " or "))
                    }
                }
                if method == .post {
                    web.form = try await WebForm.read(
                        request,
                        limit: BodyLimitMiddleware.isPublicForm(path)
                            ? configuration.maxPublicBodyBytes : configuration.maxUploadBytes)
                    if let session = web.session, !WebSession.csrfMatches(web.form[WebSession.csrfField], sessionToken: session) {
                        throw APIError(.forbidden, .forbidden, "the form is stale or came from another site: reload the page and send it again")
                    }
                }
                return try await handler(web)
            } catch {
                let apiError = APIError.from(error)
                if apiError.code == .internalError { context.logger.error("unhandled error: \(String(reflecting: error))") }
                countRefusal(error)
                return render("error", ErrorPage(apiError), for: web, status: apiError.status)
            }
        }
    }

    /// A page from its template, with the signed-in account, its CSRF token and the
    /// navigation its roles open (the chrome, when there is a session).
    func render(_ template: String, _ page: some PageModel, for web: WebRequest, status: HTTPResponse.Status = .ok) -> Response {
        var chrome: PageChrome?
        if let principal = web.principal, let session = web.session { chrome = PageChrome(principal: principal, session: session) }
        guard let html = WebAssets.library.render(PageValues(chrome: chrome, page: page), withTemplate: template) else {
            preconditionFailure("no page template named \(template)")
        }
        return Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The sign-in page with a fresh sign-in cookie and the CSRF token derived from it.
    func signInForm(_ web: WebRequest, next: String, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let (nonce, cookie) = WebSession.newSignIn(secure: configuration.secureCookies)
        var response = render("login", SignInPage(next: next, signInCSRF: WebSession.csrf(for: nonce), error: error), for: web, status: status)
        response.headers[.setCookie] = cookie
        return response
    }

    func redirect(to location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// Where each role starts.
    static func home(of principal: Principal) -> String {
        if principal.has(.investigator) { return "/search" }
        if principal.has(.privacyOfficer) { return "/privacy" }
        if principal.has(.supervisor) { return "/accounts" }
        if principal.has(.auditor) { return "/audit" }
        return "/sources"
    }

    func addSessionPages(to router: Router<LineupRequestContext>) {
        page(router, .get, "/") { web in
            if let principal = web.principal { return redirect(to: Self.home(of: principal)) }
            return render("home", HomePage(), for: web)
        }
        page(router, .get, "/login") { web in
            signInForm(web, next: WebSession.safeNext(web.query("next")) ?? "")
        }
        page(router, .post, "/login") { web in
            let next = WebSession.safeNext(web.form["next"]) ?? ""
            // The form must come from this server's own sign-in page (its cookie and
            // the token derived from it): another site cannot sign a visitor in.
            guard let nonce = WebSession.signInNonce(of: web.request),
                WebSession.csrfMatches(web.form[WebSession.csrfField], sessionToken: nonce)
            else {
                return signInForm(
                    web, next: next, error: "the sign-in form is stale or came from another site: send it again",
                    status: .forbidden)
            }
            let token = web.form["token"] ?? ""
            do {
                let (session, principal) = try await blocking { try governance.signIn(token: token) }
                var response = redirect(
                    to: next.isEmpty ? Self.home(of: principal) : next,
                    cookie: WebSession.setCookie(session.token, secure: configuration.secureCookies))
                response.headers.append(
                    HTTPField(
                        name: .setCookie,
                        value: WebSession.signInCookieName
                            + "=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"))
                return response
            } catch let error as GovernanceError {
                return signInForm(web, next: next, error: error.description, status: .unauthorized)
            }
        }
        page(router, .post, "/logout") { web in
            if let session = web.session { try await blocking { try governance.signOut(sessionToken: session) } }
            return redirect(to: "/login", cookie: WebSession.clearCookie(secure: configuration.secureCookies))
        }
        page(router, .get, "/static/{file}") { web in
            guard let file = WebAssets.files[try web.parameter("file")] else { throw APIError(.notFound, .notFound, "no such file") }
            return Response(
                status: .ok, headers: [.contentType: file.type, .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: file.bytes))
        }
    }
}
