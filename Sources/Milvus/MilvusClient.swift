import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A client of Milvus's RESTful API v1 (`/v1/vector/…`). Milvus 2.3 serves it on its
/// proxy port (19530), and later 2.x releases keep it beside the newer v2 API, so one
/// client reaches the 2.3.5 standalone server started here and current clusters.
/// Requests and answers are JSON; every answer carries a `code` (200 for success)
/// and, on failure, a `message`, which `MilvusError` keeps.
public struct MilvusClient: Sendable {
    public let baseURL: URL
    /// `user:password`, or an API key, sent as a bearer token when authentication is on.
    public let token: String?
    public let timeout: TimeInterval

    public init(baseURL: URL, token: String? = nil, timeout: TimeInterval = 60) {
        self.baseURL = baseURL
        self.token = token
        self.timeout = timeout
    }

    /// Names of the collections of the default database.
    public func collections() throws -> [String] {
        try call("GET", "/v1/vector/collections") as? [String] ?? []
    }

    /// Creates a collection of `dimension`-value vectors compared by inner product.
    /// Milvus makes its `id` primary key itself (v1 has auto ids only), builds its
    /// recommended index (AUTOINDEX) and loads the collection; rows may carry other
    /// fields (the collection has dynamic fields), which filters can name.
    public func createCollection(_ name: String, dimension: Int, description: String = "") throws {
        _ = try call(
            "POST", "/v1/vector/collections/create",
            [
                "collectionName": name, "dimension": dimension, "metricType": "IP", "primaryField": "id",
                "vectorField": "vector", "description": description,
            ])
    }

    /// The collection's fields, index and load state, as Milvus describes them.
    public func describeCollection(_ name: String) throws -> [String: Any] {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        return try call("GET", "/v1/vector/collections/describe?collectionName=" + encoded) as? [String: Any] ?? [:]
    }

    public func dropCollection(_ name: String) throws {
        _ = try call("POST", "/v1/vector/collections/drop", ["collectionName": name])
    }

    /// Inserts rows (each with `vector` and any other fields); answers with how many.
    public func insert(_ collection: String, rows: [[String: Any]]) throws -> Int {
        let answer = try call("POST", "/v1/vector/insert", ["collectionName": collection, "data": rows]) as? [String: Any]
        return (answer?["insertCount"] as? Int) ?? 0
    }

    /// The `limit` rows nearest `vector` that pass `filter` (a Milvus boolean
    /// expression), best first, each with `distance` (the inner product) and `fields`.
    public func search(
        _ collection: String, vector: [Float], limit: Int, filter: String? = nil,
        fields: [String]
    ) throws -> [[String: Any]] {
        var body: [String: Any] = [
            "collectionName": collection, "vector": vector.map(Double.init), "limit": limit,
            "outputFields": fields,
        ]
        if let filter, !filter.isEmpty { body["filter"] = filter }
        return try call("POST", "/v1/vector/search", body) as? [[String: Any]] ?? []
    }

    /// The rows that pass `filter`, with `fields` (at most `limit`).
    public func query(_ collection: String, filter: String, fields: [String], limit: Int? = 16_384) throws -> [[String: Any]] {
        var body: [String: Any] = ["collectionName": collection, "filter": filter, "outputFields": fields]
        if let limit { body["limit"] = limit }
        return try call("POST", "/v1/vector/query", body) as? [[String: Any]] ?? []
    }

    /// Deletes rows by primary key.
    public func delete(_ collection: String, ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        _ = try call("POST", "/v1/vector/delete", ["collectionName": collection, "id": ids])
    }

    /// One request; answers with the `data` of a successful answer.
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any? {
        guard let url = URL(string: path, relativeTo: baseURL) else { throw MilvusError.malformed("bad path \(path)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        // No "Expect: 100-continue" round trip before each body (libcurl adds it to larger POSTs).
        request.setValue("", forHTTPHeaderField: "Expect")
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, response) = try send(request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw MilvusError.http(status: status, body: String(decoding: data.prefix(500), as: UTF8.self))
        }
        guard let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw MilvusError.malformed("the answer to \(path) is not a JSON object")
        }
        let code = answer["code"] as? Int ?? 0
        guard code == 200 else { throw MilvusError.api(code: code, message: answer["message"] as? String ?? "no message") }
        return answer["data"]
    }
}

extension MilvusClient {
    /// Sends a request and waits for the answer. The answer arrives on URLSession's own
    /// queue, so waiting never holds a thread the answer needs (any caller may block:
    /// request handlers on the server's thread pool, the command line, tests).
    func send(_ request: URLRequest) throws -> (Data, URLResponse) {
        let answer = Mutex<Result<(Data, URLResponse), MilvusError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let base = baseURL.absoluteString
        URLSession.shared.dataTask(with: request) { data, response, error in
            answer.withLock {
                if let data, let response {
                    $0 = .success((data, response))
                } else {
                    $0 = .failure(.unreachable("\(base): \(error?.localizedDescription ?? "no answer")"))
                }
            }
            done.signal()
        }.resume()
        done.wait()
        return try answer.withLock { $0! }.get()
    }
}

public enum MilvusError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreachable(String)
    case http(status: Int, body: String)
    case api(code: Int, message: String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreachable(let detail): "Milvus cannot be reached at \(detail)"
        case .http(let status, let body): "Milvus answered HTTP \(status): \(body)"
        case .api(let code, let message): "Milvus refused (code \(code)): \(message)"
        case .malformed(let detail): "Milvus's answer was not understood: \(detail)"
        }
    }
}
