import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Schemathesis (installed by scripts/test.sh) against a real `lineup serve`, with
/// every one of its checks, from the OpenAPI document the server serves: what the
/// server accepts, refuses and answers must be what the document says, and a method
/// a path does not serve is a 405 with `Allow`. Run once as an investigator and once
/// as an admin, on a throw-away gallery of real faces; any finding fails the test
/// with schemathesis's report.
final class SchemathesisTests: XCTestCase {
    static let root = CLITests.root
    static let schemathesis = root.appendingPathComponent(".lineup/venv-test/bin/st").path
    static let binary = root.appendingPathComponent(".build/debug/lineup").path
    static let photos = ["obama.jpg", "biden.jpg", "obama3.jpg"]
    /// What a generated photo field is replaced with: a face the gallery also holds.
    static let probe = "obama2.jpg"
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Operations no run calls, because a call could lock the run out of the API:
    /// - `deleteTokensId`: token ids are small integers, so generated ids hit the very
    ///   token the run authenticates with (the admin's bootstrap token is id 1).
    /// - `postAccountsNameSuspend`: generated names, and names linked from other
    ///   answers, reach the run's own account (root, inv); suspended, it gets 401.
    /// Everything else may run, destructive or not (erasures, retention, key
    /// rotation, policy rules): the gallery is made for this test and thrown away.
    static let excluded = ["deleteTokensId", "postAccountsNameSuspend"]

    /// How many cases schemathesis generates per operation and phase: the two runs
    /// take well under a minute each on two cores.
    static let maxExamples = 25

    func testTheServerKeepsToItsOpenAPIDocument() async throws {
        guard
            try available(
                FileManager.default.isExecutableFile(atPath: Self.schemathesis),
                "schemathesis is not installed at \(Self.schemathesis): run scripts/test.sh"),
            try available(FileManager.default.isExecutableFile(atPath: Self.binary), "lineup is not built at \(Self.binary)"),
            try available(
                (Self.photos + [Self.probe]).allSatisfy { FileManager.default.fileExists(atPath: CLITests.samples + "/" + $0) },
                "the sample photos are missing in \(CLITests.samples): run scripts/setup.sh")
        else { return }

        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tokens = try makeGallery(in: folder)
        let port = try Self.freePort()
        let base = "http://127.0.0.1:\(port)"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Self.binary)
        // The public forms' per-address limit is raised so their cases are answered, not only refused with 429.
        server.arguments = [
            "serve", "--store", folder + "/store", "--host", "127.0.0.1", "--port", String(port), "--workers", "1",
            "--public-requests-per-address", "100000",
        ]
        server.currentDirectoryURL = Self.root
        let serverLog = folder + "/serve.log"
        _ = FileManager.default.createFile(atPath: serverLog, contents: nil)
        server.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: serverLog))
        server.standardError = server.standardOutput
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var document: [String: Any]?
        for _ in 0..<120 where document == nil {
            if let (data, response) = try? await URLSession.shared.data(from: URL(string: base + "/api/v1/openapi.json")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                document = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            } else {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        guard let document else {
            return XCTFail("lineup serve did not answer on \(base):\n" + ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""))
        }
        try writeSupportFiles(in: folder)

        // The investigator first: the admin's run adds policy rules and erases faces.
        for (role, token) in [("investigator", tokens.investigator), ("admin", tokens.admin)] {
            let operations = Self.operations(in: document, for: role)
            XCTAssertFalse(operations.isEmpty, "the document lists no operation for \(role)")
            let run = try await runSchemathesis(base: base, token: token, operations: operations, report: role, folder: folder)
            XCTAssertEqual(run.status, 0, "schemathesis as \(role) found what the server and its document disagree on:\n\n\(run.report)")
            XCTAssertTrue(
                run.report.contains("Tested: \(operations.count)"),
                "schemathesis as \(role) did not test all "
                    + "\(operations.count) operations:\n\n\(run.report)")
        }
    }

    // MARK: - The gallery

    struct Tokens {
        var admin: String
        var investigator: String
    }

    /// A gallery of the sample photos' faces, an admin and an approved investigator,
    /// made with the command line as a user would.
    func makeGallery(in folder: String) throws -> Tokens {
        let store = folder + "/store", photos = folder + "/photos"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for name in Self.photos {
            try FileManager.default.copyItem(atPath: CLITests.samples + "/" + name, toPath: photos + "/" + name)
        }
        func lineup(_ arguments: String...) throws -> CLITests.Run {
            let run = try CLITests.lineup(arguments)
            XCTAssertEqual(run.status, 0, "lineup \(arguments.prefix(2).joined(separator: " ")): \(run.stderr)")
            return run
        }
        let accounts = try CLITests.accounts(store)
        let (admin, investigator) = (accounts.admin, accounts.investigator)
        _ = try lineup(
            "source", "add", "portraits", "--store", store, "--root", photos, "--basis", "public-task",
            "--condition", "substantial-public-interest", "--jurisdiction", "GB", "--retention-days", "30", "--collected", "own-records",
            "--token", admin)
        let ingested = try lineup("ingest", "portraits", "--store", store, "--token", admin, "--json")
        XCTAssertGreaterThan(ingested.json["faces"] as? Int ?? 0, 0, "the gallery holds no face: \(ingested.stdout)")
        XCTAssertFalse(admin.isEmpty || investigator.isEmpty, "no tokens")
        return Tokens(admin: admin, investigator: investigator)
    }

    // MARK: - Schemathesis

    /// The operations a role may call: public ones, any account's, and its role's.
    static func operations(in document: [String: Any], for role: String) -> [String] {
        let paths = document["paths"] as? [String: [String: [String: Any]]] ?? [:]
        return paths.values.flatMap(\.values).compactMap { operation -> String? in
            guard let id = operation["operationId"] as? String, !excluded.contains(id) else { return nil }
            let roles = operation["x-roles"] as? [String] ?? []
            let isPublic = (operation["security"] as? [Any])?.isEmpty ?? false
            return isPublic || roles.contains("any") || roles.contains(role) ? id : nil
        }.sorted()
    }

    /// The configuration and hooks schemathesis runs with, written beside the gallery.
    func writeSupportFiles(in folder: String) throws {
        // 422 is the API's answer to a request that is well formed but that the
        // server's state or a file's content refuses: no face in the photo, no such
        // folder on the server, a name already taken, a step out of turn. No schema can
        // say those, so a schema-valid request may get it. A 400 (the refusals the
        // document does describe: types, lengths, characters) still fails the check.
        try """
        [checks.positive_data_acceptance]
        expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

        """.write(toFile: folder + "/schemathesis.toml", atomically: true, encoding: .utf8)
        try """
        import os

        import schemathesis
        from schemathesis.core.failures import AcceptedNegativeData
        from schemathesis.core.mutations import OperatorKind
        from schemathesis.transport.serialization import Binary

        PHOTO = open(os.environ["LINEUP_TEST_PHOTO"], "rb").read()
        FOLDER = os.environ["LINEUP_TEST_FOLDER"]


        @schemathesis.hook
        def map_body(context, body):
            if not isinstance(body, dict):
                return body
            # No schema can say "a photo with a face in it": where a photo is generated,
            # send a real one, so searches, detections and requests reach the face pipeline.
            if isinstance(body.get("photo"), (bytes, Binary)):
                return {**body, "photo": Binary(PHOTO)}
            # Nor "a folder on the server": a new source gets the gallery's photo folder,
            # so it registers and the stateful phase can ingest and upload into it.
            if "special_category_condition" in body and isinstance(body.get("root"), str):
                return {**body, "root": FOLDER}
            return body


        @schemathesis.hook
        def filter_failure(context, failure, case, response):
            # Every value of a multipart form travels as text: a text field given true, 12
            # or null holds the text "true", "12" or "null", which is valid. Schemathesis
            # counts that as a type violation the server should refuse; drop exactly that finding.
            if not isinstance(failure, AcceptedNegativeData) or case.media_type != "multipart/form-data":
                return True
            data = getattr(getattr(case.meta, "phase", None), "data", None)
            mutations = getattr(data, "mutations", None) or []
            if not mutations or not isinstance(case.body, dict):
                return True
            for mutation in mutations:
                field = mutation.path[0] if mutation.path else mutation.parameter
                if mutation.operator != OperatorKind.CHANGE_TYPE or field == "photo":
                    return True
                if field not in case.body or not isinstance(case.body.get(field), (bool, int, float, type(None))):
                    return True
            return False

        """.write(toFile: folder + "/lineup_hooks.py", atomically: true, encoding: .utf8)
    }

    struct Run {
        var status: Int32
        var report: String
    }

    /// One schemathesis run with every check, bounded in time, against 127.0.0.1 only.
    func runSchemathesis(base: String, token: String, operations: [String], report: String, folder: String) async throws -> Run {
        let reports = Self.root.appendingPathComponent(".lineup/schemathesis").path
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        var arguments = [
            "--config-file", folder + "/schemathesis.toml", "run", base + "/api/v1/openapi.json", "--url", base,
            "--checks", "all", "--header", "Authorization: Bearer " + token,
            "--max-examples", String(Self.maxExamples), "--workers", "1",
            // Same cases on every run; strings in ASCII, where the document's
            // text patterns state the server's rules exactly (the finer Unicode
            // rules for names are words in the document and unit-tested).
            "--generation-deterministic", "--generation-codec", "ascii",
            "--request-timeout", "60", "--no-color",
            "--report", "junit", "--report-dir", folder + "/reports", "--report-junit-path", reports + "/\(report).xml",
        ]
        for id in Self.excluded { arguments += ["--exclude-operation-id", id] }
        for id in operations { arguments += ["--include-operation-id", id] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.schemathesis)
        process.arguments = arguments
        // Its working folder is the scratch folder: nothing it writes lands in the checkout.
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SCHEMATHESIS_HOOKS"] = folder + "/lineup_hooks.py"
        environment["LINEUP_TEST_PHOTO"] = CLITests.samples + "/" + Self.probe
        environment["LINEUP_TEST_FOLDER"] = folder + "/photos"
        environment["NO_PROXY"] = "127.0.0.1,localhost"
        for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] { environment[proxy] = nil }
        process.environment = environment
        let output = folder + "/schemathesis-\(report).txt"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // A run takes well under a minute; one that hangs is stopped.
        let deadline = ContinuousClock.now + .seconds(240)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        let stopped = process.isRunning
        if stopped { process.terminate() }
        process.waitUntilExit()
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // Reproductions quote whole photos: keep each line short.
        let report = printed.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.count > 300 ? String($0.prefix(300)) + " …" : String($0) }.joined(separator: "\n")
        return Run(status: stopped ? -1 : process.terminationStatus, report: (stopped ? "stopped after 240 s\n" : "") + report)
    }

    // MARK: - Helpers

    /// True when `condition` holds. Otherwise, in CI (CI=true) the test fails, saying
    /// why, and elsewhere it is skipped, saying why.
    func available(_ condition: Bool, _ why: String) throws -> Bool {
        if condition { return true }
        if Self.inCI {
            XCTFail(why + " (CI must run this test)")
            return false
        }
        throw XCTSkip(why)
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
