import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

/// A real `lineup serve` while two large uploads are ingested and searches run:
/// health and a signed-in read must still answer at once. The server is its own
/// process and the requests are timed from threads of their own, so what is
/// measured is the server, not this test process's other work.
@Suite struct ServeUnderLoadTests {
    static let lfw = CLITests.shared + "/lfw-dev/images"

    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: CLITests.hasLFW), "the shared LFW photos are missing: set LINEUP_SHARED_FACES"))
    func healthAndSignedInReadsAnswerWhileTwoUploadsIngestAndSearchesRun() async throws {
        try #require(FileManager.default.fileExists(atPath: Self.lfw), "the shared LFW photos are missing at \(Self.lfw)")
        let served = try ServedGallery(sources: ["uploaded"], serveArguments: ["--ingest-workers", "1"])
        let tokens = served.tokens
        let all = (FileManager.default.subpaths(atPath: Self.lfw) ?? []).filter { $0.hasSuffix(".jpg") }.sorted()
        let batches = [Array(all.prefix(150)), Array(all.dropFirst(150).prefix(150))].map { $0.map { Self.lfw + "/" + $0 } }
        let probe = try Data(contentsOf: URL(fileURLWithPath: CLITests.samples + "/obama2.jpg"))

        let result = try await served.onThread { client throws -> (slowest: Double, states: [String], searches: [Int], ended: [String]) in
            var jobs: [String] = []
            for batch in batches {
                let files = try batch.map { ("files", ($0 as NSString).lastPathComponent, try Data(contentsOf: URL(fileURLWithPath: $0))) }
                let (type, body) = PlainHTTP.multipart([:], files: files)
                let answer = try client.request("POST", "/api/v1/sources/uploaded/uploads", token: tokens.admin, contentType: type, body: body)
                #expect(answer.status == 202, "\(answer.body)")
                jobs.append(answer.json["id"] as? String ?? "")
            }
            // Searches keep the search pipeline busy meanwhile.
            let statuses = Mutex<[Int]>([]), stop = Mutex(false)
            let group = DispatchGroup()
            for _ in 0..<3 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    let (type, body) = PlainHTTP.multipart(
                        ["case_number": "2026/1", "purpose": "load test", "legal_basis": "test"],
                        files: [("photo", "probe.jpg", probe)])
                    while !stop.withLock({ $0 }) {
                        let status =
                            (try? client.request(
                                "POST", "/api/v1/search", token: tokens.investigator, contentType: type,
                                body: body
                            ).status) ?? -1
                        statuses.withLock { $0.append(status) }
                    }
                }
            }
            var slowest = 0.0
            for _ in 0..<20 {
                let start = Date()
                #expect(try client.request("GET", "/api/v1/health").status == 200)
                #expect(try client.request("GET", "/api/v1/sources", token: tokens.auditor).status == 200)
                slowest = max(slowest, Date().timeIntervalSince(start))
                Thread.sleep(forTimeInterval: 0.05)
            }
            let states = try jobs.map { try client.request("GET", "/api/v1/ingest-jobs/\($0)", token: tokens.admin).json["state"] as? String ?? "" }
            stop.withLock { $0 = true }
            group.wait()
            // The jobs run to their end.
            var ended: [String] = []
            for job in jobs {
                var state = "running"
                for _ in 0..<1200 where state == "running" || state == "queued" {
                    state = try client.request("GET", "/api/v1/ingest-jobs/\(job)", token: tokens.admin).json["state"] as? String ?? ""
                    Thread.sleep(forTimeInterval: 0.25)
                }
                ended.append(state)
            }
            return (slowest, states, statuses.withLock { $0 }, ended)
        }
        #expect(result.states.contains { $0 == "running" || $0 == "queued" }, "measured while the uploads were ingested: \(result.states)")
        // Before, two 120-photo uploads made health take 35.6 s.
        #expect(result.slowest < 2, "slowest health and signed-in read: \(result.slowest) s")
        #expect(!result.searches.isEmpty && result.searches.allSatisfy { $0 == 200 }, "\(result.searches)")
        #expect(result.ended == ["finished", "finished"])
    }

    /// Anonymous clients flooding the public forms (photos that declare 9500×9500
    /// pixels, and real ones) neither slow health nor take the search pipeline: the
    /// per-address limit turns most away before their body is read, and the rest
    /// have a pipeline and a thread of their own, with limits that refuse the bombs
    /// from their headers.
    @Test func healthAndSearchesHoldWhileThePublicFormsAreFlooded() async throws {
        let served = try ServedGallery()
        let tokens = served.tokens
        let probe = try Data(contentsOf: URL(fileURLWithPath: CLITests.samples + "/obama2.jpg"))
        let face = try Data(contentsOf: URL(fileURLWithPath: CLITests.samples + "/biden.jpg"))
        let bomb = Self.pngDeclaring(width: 9500, height: 9500)

        let result = try await served.onThread { client throws -> (slowestHealth: Double, slowestSearch: Double, public: [Int]) in
            // One photo declaring 9500×9500 pixels is refused from its header by the public
            // limits, before any decoding (a search's limits would decode it), and at once.
            let (bombType, bombBody) = PlainHTTP.multipart(["contact": "someone@example.org"], files: [("photo", "big.png", bomb)])
            let bombStart = Date()
            let refused = try client.request("POST", "/api/v1/opt-outs", contentType: bombType, body: bombBody)
            #expect(refused.status == 422 && refused.body.contains("16000000"), "\(refused.body)")
            #expect(Date().timeIntervalSince(bombStart) < 2)
            let statuses = Mutex<[Int]>([])
            let group = DispatchGroup()
            for index in 0..<24 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    let (type, body) = PlainHTTP.multipart(
                        ["contact": "someone@example.org"],
                        files: [
                            (
                                "photo", index % 2 == 0 ? "big.png" : "me.jpg",
                                index % 2 == 0 ? bomb : face
                            )
                        ])
                    let status = (try? client.request("POST", "/api/v1/access-requests", contentType: type, body: body).status) ?? -1
                    statuses.withLock { $0.append(status) }
                }
            }
            var slowestHealth = 0.0, slowestSearch = 0.0
            let (type, body) = PlainHTTP.multipart(
                ["case_number": "2026/1", "purpose": "load test", "legal_basis": "test"],
                files: [("photo", "probe.jpg", probe)])
            for _ in 0..<5 {
                var start = Date()
                #expect(try client.request("GET", "/api/v1/health").status == 200)
                slowestHealth = max(slowestHealth, Date().timeIntervalSince(start))
                start = Date()
                #expect(try client.request("POST", "/api/v1/search", token: tokens.investigator, contentType: type, body: body).status == 200)
                slowestSearch = max(slowestSearch, Date().timeIntervalSince(start))
            }
            group.wait()
            return (slowestHealth, slowestSearch, statuses.withLock { $0 })
        }
        #expect(result.public.count == 24 && result.public.allSatisfy { [201, 422, 429, 503].contains($0) }, "\(result.public)")
        // One address has 5 requests per window, and at most 4 wait at once: the rest are
        // turned away (429, or 503 busy) before their bodies are read.
        #expect(result.public.filter { $0 == 201 || $0 == 422 }.count <= 4, "\(result.public)")
        #expect(result.public.filter { $0 == 429 || $0 == 503 }.count >= 20, "\(result.public)")
        #expect(result.slowestHealth < 2, "slowest health: \(result.slowestHealth) s")
        // Before, 25 such requests in 30 s made searches 57 times slower.
        #expect(result.slowestSearch < 10, "slowest search: \(result.slowestSearch) s")
    }

    /// The signature, IHDR and IEND chunks of a PNG of `width` × `height`, and no pixels.
    static func pngDeclaring(width: UInt32, height: UInt32) -> Data {
        func be(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        let ihdr: [UInt8] = Array("IHDR".utf8) + be(width) + be(height) + [8, 2, 0, 0, 0]
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in ihdr {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return Data(
            [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be(13) + ihdr + be(~crc)
                + be(0) + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
    }
}

/// HTTP/1.1 over a plain socket, one connection a request, blocking: a client whose
/// timing depends on nothing but the server and the kernel.
struct PlainHTTP: Sendable {
    let port: Int

    struct Answer {
        var status: Int
        var body: String
        /// The status line and header fields, as received.
        var head: String = ""
        /// The `name=value` part of the answer's Set-Cookie field, if any.
        var cookie: String? {
            head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }
                .map { String($0.dropFirst("set-cookie:".count).split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) }
        }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    func waitForHealth() throws {
        for _ in 0..<240 {
            if (try? request("GET", "/api/v1/health").status) == 200 { return }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    func request(
        _ method: String, _ path: String, token: String? = nil, cookie: String? = nil, contentType: String? = nil, body: Data = Data()
    ) throws -> Answer {
        let connection = try RawConnection(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let cookie { head += "Cookie: \(cookie)\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        try connection.send(bytes: Array((head + "\r\n").utf8) + Array(body))
        guard connection.waitForClose(within: 300) else { throw POSIXError(.ETIMEDOUT) }
        let text = connection.received
        let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? -1
        let answerBody = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return Answer(status: status, body: answerBody, head: text.components(separatedBy: "\r\n\r\n").first ?? "")
    }

    static func multipart(_ fields: [String: String], files: [(String, String, Data)]) -> (String, Data) {
        let boundary = "lineup-load-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        for (name, file, bytes) in files {
            body.append(
                Data(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(file)\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8
                ))
            body.append(bytes)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return ("multipart/form-data; boundary=\(boundary)", body)
    }
}
