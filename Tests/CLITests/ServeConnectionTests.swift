import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real `lineup serve`, and clients as slow and rude as an attacker: headers that
/// never end, an idle keep-alive connection, a body that never ends, and bodies
/// declared larger than the server takes. Each is timed from a thread of its own.
@Suite struct ServeConnectionTests {
    @Test func slowAndIdleConnectionsAreClosedAndOversizedBodiesRefusedUpFront() async throws {
        let served = try ServedGallery(
            portraits: false,
            serveArguments: [
                "--head-timeout", "1", "--body-timeout", "2",
                "--max-upload-mib", "20",
            ])
        let port = served.port
        try await served.onThread { _ throws in
            // Slow headers: the head is never finished.
            let slow = try RawConnection(port: port)
            try slow.send("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
            let start = Date()
            #expect(slow.waitForClose(within: 10), "a head that never ends is cut off")
            #expect(Date().timeIntervalSince(start) < 5)
            // Idle keep-alive: one answer, then silence.
            let idle = try RawConnection(port: port)
            try idle.send("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(idle.waitForClose(within: 10), "an idle connection is closed")
            #expect(idle.received.hasPrefix("HTTP/1.1 200"))
            // A slow body: the head is sent, the body never finished.
            let body = try RawConnection(port: port)
            try body.send(
                "POST /api/v1/opt-outs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                    + "Content-Length: 1000\r\n\r\n--x\r\n")
            let bodyStart = Date()
            #expect(body.waitForClose(within: 15), "a body that never ends is cut off")
            #expect(Date().timeIntervalSince(bodyStart) < 10)
            // A public form declaring more than a public form takes (but less than an
            // upload may be), and a declared 1 GiB body: refused before they are sent.
            for (path, length) in [("/api/v1/opt-outs", 15 << 20), ("/api/v1/search", 1 << 30)] {
                let oversized = try RawConnection(port: port)
                try oversized.send(
                    "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                        + "Content-Length: \(length)\r\n\r\n")
                _ = oversized.waitForClose(within: 15)
                #expect(oversized.received.hasPrefix("HTTP/1.1 413"), "\(path): \(oversized.received.prefix(40))")
            }
        }
    }
}

/// A TCP connection to the server on loopback, written to and read from by hand.
final class RawConnection {
    let socket: Int32
    private(set) var received = ""

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            sent += count
        }
    }

    /// Reads until the server closes the connection or `seconds` pass; whether it closed.
    func waitForClose(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { return true }
            received += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return false
    }

    deinit { close(socket) }
}
