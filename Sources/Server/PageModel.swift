import Governance
import Mustache

/// What a page's template is given: a struct whose stored properties are the names
/// its template uses, so the code that fills a page cannot misspell a name or give a
/// value of the wrong kind (a template's names must still match the properties: one
/// that matches none shows nothing).
///
/// swift-mustache reads a value that is not a dictionary through `Mirror`, by stored
/// property name (computed properties are invisible to it), and these rules of its
/// reading are what the models rely on:
/// - an optional that is nil counts as absent: `{{#name}}` shows nothing, `{{^name}}`
///   shows its placeholder, and the name is looked up again in the enclosing values,
///   as it is for a property a row does not have;
/// - a `Bool` opens its section when true, without changing what names mean inside it;
/// - an array opens its section once per element, and `{{^name}}` only when it is empty;
/// - a struct or a string opens its section once, as the values inside it;
/// - a number or a string is written with `String(describing:)`, HTML-escaped.
///
/// A row therefore holds only what the row itself says, and leaves the rest (the CSRF
/// token, a page-wide flag) to the page around it.
protocol PageModel {}

/// What every signed-in page shows around its own content (`layout.mustache`): who is
/// signed in, the CSRF token its forms carry, and the sections the account's roles
/// open. A page seen without a session has none.
struct PageChrome {
    /// The account, as the top bar names it.
    struct SignedIn {
        var name: String
        var organisation: String
        var roles: String
    }

    /// Which links of the top bar the account's roles open.
    struct Navigation {
        var search: Bool
        var sources: Bool
        var accounts: Bool
        var audit: Bool
        var policy: Bool
        var privacy: Bool
        var verify: Bool
    }

    var user: SignedIn
    var csrf: String
    var nav: Navigation

    init(principal: Principal, session: String) {
        user = SignedIn(name: principal.name, organisation: principal.organisation.name, roles: principal.account.roles.listed)
        csrf = WebSession.csrf(for: session)
        nav = Navigation(
            search: principal.has(.investigator),
            sources: true,
            accounts: principal.has(.admin) || principal.has(.supervisor),
            audit: principal.has(.auditor) || principal.has(.admin),
            policy: principal.has(.admin) || principal.has(.supervisor) || principal.has(.auditor),
            privacy: principal.has(.privacyOfficer), verify: principal.has(.verifier))
    }
}

/// The values a template is rendered with: the chrome's names (`user`, `csrf`, `nav`)
/// and then the page's own. swift-mustache asks a `MustacheParent` for each name at the
/// top instead of reading it by `Mirror`; this one answers from the chrome first, then
/// from the page, reading both the way swift-mustache reads any struct.
struct PageValues<Page: PageModel>: MustacheParent {
    var chrome: PageChrome?
    var page: Page

    func child(named name: String) -> Any? {
        chrome.flatMap { Self.property(name, of: $0) } ?? Self.property(name, of: page)
    }

    /// The stored property `name` of `model`, its value unwrapped if it is optional;
    /// nil when there is no such property or it is nil, so the name counts as absent.
    private static func property(_ name: String, of model: Any) -> Any? {
        guard let value = Mirror(reflecting: model).children.first(where: { $0.label == name })?.value else { return nil }
        let wrapper = Mirror(reflecting: value)
        guard wrapper.displayStyle == .optional else { return value }
        return wrapper.children.first?.value
    }
}
