/// The home page: the same for everyone, so it has nothing of its own to show.
struct HomePage: PageModel {}

/// The sign-in form; `signInCSRF` is derived from the sign-in cookie set with it, and
/// `error` is why the last attempt failed.
struct SignInPage: PageModel {
    var next: String
    var signInCSRF: String
    var error: String?
}

/// Any refusal or failure, shown as a page with its status.
struct ErrorPage: PageModel {
    var status: Int
    var reason: String
    var message: String

    init(_ error: APIError) {
        status = Int(error.status.code)
        reason = error.status.reasonPhrase
        message = error.message
    }
}
