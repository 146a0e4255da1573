import Hummingbird

/// Answers 405 Method Not Allowed, with an `Allow` header listing the methods the
/// path serves, to a request for a path of `Endpoint.catalogue` with a method the
/// catalogue does not list for it (TRACE, PATCH, OPTIONS, HEAD, …). Every other
/// request goes on to the router, which answers 404 for a path it does not serve.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Route {
        /// The path's segments; nil for a `{capture}`, which matches any one segment.
        var segments: [Substring?]
        var methods: [HTTPRequest.Method]
    }

    private let routes: [Route]

    init(_ endpoints: [Endpoint] = Endpoint.catalogue) {
        var methods: [String: [HTTPRequest.Method]] = [:]
        var paths: [String] = []
        for endpoint in endpoints {
            if methods[endpoint.path] == nil { paths.append(endpoint.path) }
            methods[endpoint.path, default: []].append(endpoint.method)
        }
        routes = paths.map { path in
            Route(segments: path.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 }, methods: methods[path] ?? [])
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let allowed = allowedMethods(request.uri.path), !allowed.contains(request.method) else {
            return try await next(request, context)
        }
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        var response = try APIError(.methodNotAllowed, .invalid, "this path does not take \(request.method.rawValue); it takes \(allow)")
            .response(from: request, context: context)
        response.headers[.allow] = allow
        return response
    }

    /// The methods of the catalogued path that `path` names, preferring literal
    /// segments over captures as the router does; nil when no catalogued path matches.
    func allowedMethods(_ path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/")
        var best: (literals: Int, methods: [HTTPRequest.Method])?
        for route in routes where route.segments.count == parts.count {
            var literals = 0
            var matches = true
            for (segment, part) in zip(route.segments, parts) {
                guard let segment else { continue }
                guard segment == part else {
                    matches = false
                    break
                }
                literals += 1
            }
            if matches, literals > (best?.literals ?? -1) { best = (literals, route.methods) }
        }
        return best?.methods
    }
}
