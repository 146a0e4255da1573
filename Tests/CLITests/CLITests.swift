import Foundation
import TestSupport
import Testing

/// Runs the built `lineup` executable as a user would and checks what it prints.
@Suite(.serialized) struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent(".lineup/samples").path
    static let shared =
        ProcessInfo.processInfo.environment["LINEUP_SHARED_FACES"]
        ?? root.deletingLastPathComponent().appendingPathComponent("shared/faces").path
    static let hasLFW = FileManager.default.fileExists(atPath: shared + "/lfw-dev/protocols/pairsDevTest.txt")

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:] }
    }

    static func lineup(_ arguments: String...) throws -> Run { try lineup(arguments) }

    /// Runs `lineup-bench` (evaluation, calibration, benchmarks) with `arguments`.
    static func lineupBench(_ arguments: String...) throws -> Run { try lineup(arguments, program: "lineup-bench") }

    /// Runs `lineup` (or `program`) with `arguments`, and `environment` added to this process's.
    static func lineup(_ arguments: [String], environment: [String: String] = [:], program: String = "lineup") throws -> Run {
        let binary = root.appendingPathComponent(".build/debug/" + program).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    struct SetUpFailed: Error, CustomStringConvertible {
        var command: String
        var stderr: String
        var description: String { "lineup \(command) failed during set-up: \(stderr)" }
    }

    struct Tokens {
        var admin: String
        var investigator: String
        var officer: String
        var auditor: String
    }

    /// Accounts in a fresh store, made as a user would: a bootstrapped admin, an
    /// investigator a supervisor approved, a privacy officer and an auditor.
    /// A command that fails stops the set-up with its error (for Swift Testing and XCTest alike).
    static func accounts(_ store: String, environment: [String: String] = [:]) throws -> Tokens {
        func lineup(_ arguments: String...) throws -> Run {
            let run = try CLITests.lineup(arguments, environment: environment)
            guard run.status == 0 else { throw SetUpFailed(command: arguments.prefix(2).joined(separator: " "), stderr: run.stderr) }
            return run
        }
        func token(_ run: Run) -> String { run.json["token"] as? String ?? "" }
        let admin = token(
            try lineup(
                "bootstrap", "--store", store, "--organisation", "Operations", "--type", "government",
                "--jurisdiction", "GB", "--admin", "root", "--json"))
        _ = try lineup(
            "org", "add", "Met", "--store", store, "--type", "law-enforcement", "--jurisdiction", "GB", "--token", admin)
        let supervisor = token(
            try lineup(
                "account", "add", "sup", "--store", store, "--org", "Met", "--role", "supervisor",
                "--token", admin, "--json"))
        let investigator = token(
            try lineup(
                "account", "add", "inv", "--store", store, "--org", "Met", "--role", "investigator",
                "--token", supervisor, "--json"))
        _ = try lineup("account", "approve", "inv", "--store", store, "--token", supervisor)
        let officer = token(
            try lineup(
                "account", "add", "dpo", "--store", store, "--org", "Operations", "--role", "privacy-officer",
                "--token", admin, "--json"))
        let auditor = token(
            try lineup(
                "account", "add", "aud", "--store", store, "--org", "Operations", "--role", "auditor",
                "--token", admin, "--json"))
        return Tokens(admin: admin, investigator: investigator, officer: officer, auditor: auditor)
    }

    static let justification = ["--case", "2026/0415", "--purpose", "identify a suspect", "--basis", "PACE 1984 s.64A"]

    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `bench index` reads templates from .npy and .fvecs files, and refuses other files clearly.
    @Test func benchIndexReadsTemplateFiles() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var state: UInt64 = 7
        let rows = 300, dimension = 32
        let values: [Float] = (0..<rows * dimension).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(state >> 33) - (1 << 30)) / Float(1 << 30)
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(dimension)), }"
        header += String(repeating: " ", count: 63 - (10 + header.count) % 64) + "\n"
        var npy = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count % 256), UInt8(header.count / 256)])
        npy.append(Data(header.utf8))
        values.withUnsafeBytes { npy.append(contentsOf: $0) }
        try npy.write(to: URL(fileURLWithPath: folder + "/templates.npy"))
        var fvecs = Data()
        for row in 0..<rows {
            withUnsafeBytes(of: Int32(dimension).littleEndian) { fvecs.append(contentsOf: $0) }
            values[row * dimension..<(row + 1) * dimension].withUnsafeBytes { fvecs.append(contentsOf: $0) }
        }
        try fvecs.write(to: URL(fileURLWithPath: folder + "/templates.fvecs"))

        for file in ["templates.npy", "templates.fvecs"] {
            let run = try Self.lineupBench(
                "index", "--templates", folder + "/" + file, "--queries", "20",
                "--m", "8", "--ef", "32", "128", "--json")
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
            #expect(lines.allSatisfy { $0["n"] as? Int == 280 && $0["dim"] as? Int == 32 })
            #expect(lines.first?["engine"] as? String == "exact")
            // The sweep runs in order and stops early only once recall reaches 0.995.
            let graph = lines.filter { $0["engine"] as? String == "lineup" }
            let efs = graph.compactMap { $0["ef"] as? Int }
            #expect(efs == [32] || efs == [32, 128])
            #expect(efs.count == 2 || (graph.first?["recall"] as? Double ?? 0) >= 0.995)
            #expect(graph.allSatisfy { ($0["recall"] as? Double ?? -1) > 0.5 && $0["M"] as? Int == 8 })
        }
        try Data("not templates".utf8).write(to: URL(fileURLWithPath: folder + "/bad.npy"))
        let bad = try Self.lineupBench("index", "--templates", folder + "/bad.npy")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("is not a .npy file"))
        try fvecs.prefix(1000).write(to: URL(fileURLWithPath: folder + "/short.fvecs"))
        let short = try Self.lineupBench("index", "--templates", folder + "/short.fvecs", "--queries", "5")
        #expect(short.status != 0)
        #expect(short.stderr.contains("is not an .fvecs file"))
    }

    /// `serve` refuses a config file it cannot use, naming the key, before opening anything.
    @Test func serveRefusesABadConfigFile() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (text, message) in [
            ("{\"port\": 8080, \"colour\": \"blue\"}", "unknown key 'colour'"),
            ("{\"port\": \"eighty\"}", "has the wrong type"),
            ("[1, 2]", "is not a JSON object"),
            ("{\"port\": 70000}", "port 70000 is not 1 to 65535"),
        ] {
            try text.write(toFile: folder + "/serve.json", atomically: true, encoding: .utf8)
            let run = try Self.lineup("serve", "--store", folder + "/store", "--config", folder + "/serve.json")
            #expect(run.status != 0)
            #expect(run.stderr.contains(message), "\(text): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/store/gallery.sqlite"), "nothing was opened")
    }

    /// The flags the README documents are the flags `serve` takes.
    @Test func serveTakesTheDocumentedFlags() throws {
        let help = try Self.lineup("serve", "--help")
        for flag in ["--max-upload-mib", "--ingest-workers", "--request-timeout", "--workers", "--secure-cookies"] {
            #expect(help.stdout.contains(flag), "\(flag)")
        }
        #expect(!help.stdout.contains("--max-upload-mi-b"))
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for flag in ["--max-upload-mib", "--ingest-workers"] { #expect(readme.contains(flag), "README: \(flag)") }
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = try Self.lineup("serve", "--store", folder + "/store", "--max-upload-mib", "0")
        #expect(run.status != 0 && run.stderr.contains("max upload must be 1 to 1024 MiB"), "\(run.stderr)")
    }

    @Test func compareGivesScoreBandAndVerdict() throws {
        let same = try Self.lineup("compare", "--json", Self.samples + "/obama.jpg", Self.samples + "/obama2.jpg")
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.json["same_person"] as? Bool == true)
        #expect(same.json["band"] as? String == "strong")
        let different = try Self.lineup("compare", "--json", Self.samples + "/obama.jpg", Self.samples + "/biden.jpg")
        #expect(different.json["same_person"] as? Bool == false)
        #expect(different.json["band"] as? String == "below-threshold")
    }

    @Test func embedPrintsATemplate() throws {
        let run = try Self.lineup("embed", "--json", Self.samples + "/biden.jpg")
        #expect(run.status == 0)
        #expect((run.json["template"] as? [Double])?.count == 128)
        #expect(run.json["model"] as? String == "sface-2021dec+flip")
        let wrongFace = try Self.lineup("embed", "--face", "2", Self.samples + "/biden.jpg")
        #expect(wrongFace.status != 0)
        #expect(wrongFace.stderr.contains("face 2 requested, but the image has 1 face"))
    }

    @Test func badInputIsReportedPerPhotoAndFailsTheRun() throws {
        let run = try Self.lineup("detect", "--json", Self.samples + "/obama.jpg", Self.samples + "/missing.jpg")
        #expect(run.status == 1)
        let images = run.json["images"] as? [[String: Any]] ?? []
        #expect(images.count == 2)
        #expect((images[0]["faces"] as? [Any])?.count == 1)
        #expect((images[1]["error"] as? String)?.hasPrefix("no such file") == true)
        let flags = try Self.lineup("detect", "--detector-threshold", "2", Self.samples + "/obama.jpg")
        #expect(flags.status == 64)
        #expect(flags.stderr.contains("--detector-threshold must be between 0 and 1"))
    }

    @Test func calibrateCountsEveryPair() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (person, photos) in [("obama", ["obama.jpg", "obama2.jpg", "obama3.jpg"]), ("biden", ["biden.jpg"])] {
            try FileManager.default.createDirectory(atPath: folder + "/photos/" + person, withIntermediateDirectories: true)
            for photo in photos {
                try FileManager.default.copyItem(atPath: Self.samples + "/" + photo, toPath: folder + "/photos/\(person)/" + photo)
            }
        }
        let output = folder + "/calibration.json"
        let run = try Self.lineupBench("calibrate", "--json", "--no-cache", "--images", folder + "/photos", "--output", output)
        #expect(run.status == 0, "\(run.stderr)")
        #expect((run.json["genuine"] as? [String: Any])?["count"] as? Int == 3)
        #expect((run.json["impostor"] as? [String: Any])?["count"] as? Int == 3)
        #expect(FileManager.default.fileExists(atPath: output))
    }

    @Test func galleryCommandsRefuseBadInputSpecifically() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        let anonymous = try Self.lineup("source", "list", "--store", store)
        #expect(anonymous.status == 64 && anonymous.stderr.contains("give --token or set LINEUP_TOKEN"))
        let tokens = try Self.accounts(store)
        let admin = ["--store", store, "--token", tokens.admin]
        let forged = try Self.lineup("source", "list", "--store", store, "--token", tokens.admin + "x")
        #expect(forged.status != 0 && forged.stderr.contains("unknown token"))
        let unknown = try Self.lineup(["ingest", "nowhere"] + admin)
        #expect(unknown.status != 0 && unknown.stderr.contains("no source named 'nowhere'"))
        let badBasis = try Self.lineup(
            [
                "source", "add", "s", "--root", Self.samples, "--basis", "because",
                "--condition", "made-public", "--jurisdiction", "FR", "--retention-days", "9", "--collected", "consent",
            ] + admin)
        #expect(badBasis.status == 64 && badBasis.stderr.contains("public-task"))
        let badPlace = try Self.lineup(
            [
                "source", "add", "s", "--root", Self.samples, "--basis", "consent",
                "--condition", "explicit-consent", "--jurisdiction", "France", "--retention-days", "9", "--collected", "consent",
            ] + admin)
        #expect(badPlace.status != 0 && badPlace.stderr.contains("not an ISO 3166"))
        let noRoot = try Self.lineup(
            [
                "source", "add", "s", "--root", folder + "/missing", "--basis", "consent",
                "--condition", "explicit-consent", "--jurisdiction", "FR", "--retention-days", "9", "--collected", "consent",
            ] + admin)
        #expect(noRoot.status == 64 && noRoot.stderr.contains("is not a folder"))
        let notAdmin = try Self.lineup(
            "source", "add", "s", "--store", store, "--token", tokens.investigator, "--root", Self.samples,
            "--basis", "consent", "--condition", "explicit-consent", "--jurisdiction", "FR", "--retention-days", "9", "--collected", "consent")
        #expect(notAdmin.status != 0 && notAdmin.stderr.contains("needs the role admin"))
        let added = try Self.lineup(
            [
                "source", "add", "s", "--root", Self.samples, "--basis", "consent",
                "--condition", "explicit-consent", "--jurisdiction", "FR", "--retention-days", "9", "--collected", "consent",
            ] + admin)
        #expect(added.status == 0, "\(added.stderr)")
        let interval = try Self.lineup(["ingest", "--video-interval", "0", "s"] + admin)
        #expect(interval.status == 64 && interval.stderr.contains("--video-interval must be positive"))
        let top = try Self.lineup(
            ["search", "--store", store, "--token", tokens.investigator, "--top", "0", Self.samples + "/obama.jpg"]
                + Self.justification)
        #expect(top.status == 64)
        let unjustified = try Self.lineup("search", "--store", store, "--token", tokens.investigator, Self.samples + "/obama.jpg")
        #expect(unjustified.status == 64 && unjustified.stderr.contains("--case"))
        let listed = try Self.lineup(["source", "list", "--json"] + admin)
        #expect((listed.json["sources"] as? [[String: Any]])?.first?["jurisdiction"] as? String == "FR")
        let status = try Self.lineup(["status", "--json", "--check"] + admin)
        #expect(status.json["faces"] as? Int == 0 && status.json["integrity"] as? String == "ok")
        let badRule = folder + "/rule.json"
        try Data(#"{"name": "r", "effect": "sometimes", "actions": ["search"]}"#.utf8).write(to: URL(fileURLWithPath: badRule))
        let rule = try Self.lineup(["policy", "add", badRule] + admin)
        #expect(rule.status != 0 && rule.stderr.contains("policy rule"))
    }

    @Test func ingestAndSearchFromTheCommandLine() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        let tokens = try Self.accounts(store)
        #expect(
            try Self.lineup(
                "source", "add", "samples", "--store", store, "--token", tokens.admin, "--root", Self.samples,
                "--basis", "public-task", "--condition", "substantial-public-interest", "--jurisdiction", "US-IL",
                "--retention-days", "30", "--collected", "own-records"
            ).status == 0)
        let ingest = try Self.lineup("ingest", "--json", "--store", store, "--token", tokens.admin, "samples")
        #expect(ingest.json["faces"] as? Int == 4, "\(ingest.stderr)")
        let search = try Self.lineup(
            [
                "search", "--json", "--store", store, "--token", tokens.investigator, "--crops", folder + "/crops",
                Self.samples + "/obama2.jpg",
            ] + Self.justification)
        let candidates = (search.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.count == 3, "only the credible candidates: \(search.stderr)")
        #expect(search.json["below_threshold_not_shown"] as? Int == 1, "the stranger is counted, not shown")
        #expect(candidates.first?["origin_uri"] as? String == "obama2.jpg")
        #expect((candidates[1]["origin_uri"] as? String)?.hasPrefix("obama") == true)
        #expect(candidates[1]["band"] as? String == "strong")
        #expect(candidates.first?["jurisdiction"] as? String == "US-IL")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/crops").count == 3)
        let everyone = try Self.lineup(
            ["search", "--json", "--below-threshold", "--store", store, "--token", tokens.investigator, Self.samples + "/obama2.jpg"]
                + Self.justification)
        let all = (everyone.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        #expect(
            all.count == 4 && !["strong", "possible"].contains(all.last?["band"] as? String ?? "strong"),
            "asked for, the lower ones are shown: \(all.last ?? [:])")
        #expect(everyone.json["below_threshold_shown"] as? Bool == true)
        let views = try Self.lineup("audit", "export", "--store", store, "--token", tokens.admin)
        #expect(views.stdout.contains(#""action":"view.crops""#), "writing crops is a view of results, and logged")
        let text = try Self.lineup(
            ["search", "--store", store, "--token", tokens.investigator, Self.samples + "/biden.jpg"]
                + Self.justification)
        #expect(text.stdout.contains("candidates for human review"))
        #expect(!text.stdout.lowercased().contains("match found"))
    }

    /// Only what searches reads the index: with its snapshot damaged, commands that do
    /// not search leave the file as it is (they never loaded it), and the first that
    /// needs the index finds the damage and rebuilds it.
    @Test func commandsThatDoNotSearchDoNotLoadTheIndex() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        let tokens = try Self.accounts(store)
        _ = try Self.lineup(
            "source", "add", "samples", "--store", store, "--token", tokens.admin, "--root", Self.samples,
            "--basis", "public-task", "--condition", "substantial-public-interest", "--jurisdiction", "GB",
            "--retention-days", "30", "--collected", "own-records")
        #expect(try Self.lineup("ingest", "--store", store, "--token", tokens.admin, "samples").status == 0)
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasPrefix("index-") })
        let damaged = Data(repeating: 0x5A, count: 64)
        try damaged.write(to: URL(fileURLWithPath: store + "/" + name))
        for command in [
            ["account", "list"], ["source", "list"], ["audit", "verify"], ["audit", "export"], ["optout", "list"],
        ] {
            let run = try Self.lineup(command + ["--store", store, "--token", command[0] == "optout" ? tokens.officer : tokens.admin])
            #expect(run.status == 0, "\(command): \(run.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: store + "/" + name)) == damaged, "\(command) loaded the index")
        }
        let status = try Self.lineup("status", "--json", "--store", store, "--token", tokens.admin)
        #expect((status.json["index_origin"] as? String)?.contains("damaged") == true, "\(status.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store + "/" + name)) != damaged, "status rebuilt the snapshot")
    }

    /// Opt-out, access request, erasure and the audit log as the README shows them.
    /// A store in `folder` with the accounts and the sample photos ingested as one source.
    struct SampleStore {
        let store: String
        let tokens: Tokens

        init(in folder: String) throws {
            store = folder + "/store"
            tokens = try CLITests.accounts(store)
            _ = try run(
                [
                    "source", "add", "samples", "--root", CLITests.samples, "--basis", "public-task", "--condition",
                    "substantial-public-interest", "--jurisdiction", "GB", "--retention-days", "30", "--collected", "own-records",
                ], as: tokens.admin)
            _ = try run(["ingest", "samples"], as: tokens.admin)
        }

        /// Runs a command on the store as `token` (none: without one), expecting it to succeed.
        @discardableResult
        func run(_ arguments: [String], as token: String?) throws -> Run {
            let result = try CLITests.lineup(arguments + ["--store", store] + (token.map { ["--token", $0] } ?? []))
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
    }

    @Test func backupAndRestoreFromTheCommandLine() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let samples = try SampleStore(in: folder)
        let (store, tokens) = (samples.store, samples.tokens)
        @discardableResult func run(_ arguments: [String], as token: String?) throws -> Run { try samples.run(arguments, as: token) }
        let backup = try run(["backup", "--to", folder + "/gallery.lineup-backup"], as: tokens.admin)
        #expect(backup.stdout.contains("4 faces"), "\(backup.stdout)")
        let refused = try Self.lineup("backup", "--to", folder + "/gallery.lineup-backup", "--store", store, "--token", tokens.admin)
        #expect(refused.status != 0 && refused.stderr.contains("exists"), "\(refused.stderr)")

        let status = try run(["status", "--json"], as: tokens.admin)
        let faces = try run(["search", "--json", Self.samples + "/biden.jpg"] + Self.justification, as: tokens.investigator)
        let biden = ((faces.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]])?.first?["face_id"] as? Int ?? 0
        let receipt = try run(["erase", "--face", String(biden), "--reason", "data subject's request"], as: tokens.officer)
        let reference = receipt.json["reference"] as? String ?? "?"

        let restored = try run(["restore", "--from", folder + "/gallery.lineup-backup"], as: tokens.admin)
        #expect(restored.stdout.contains("replayed erasure \(reference)") && restored.stdout.contains("removed 1 faces"), "\(restored.stdout)")
        #expect(try run(["status", "--json"], as: tokens.admin).json["faces"] as? Int == (status.json["faces"] as? Int ?? 0) - 1)

        // The database is lost: a new one is restored without a token, against the vault.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + "/gallery.sqlite" + suffix) }
        let refusedOpen = try Self.lineup("status", "--store", store, "--token", tokens.admin)
        #expect(refusedOpen.status != 0 && refusedOpen.stderr.contains("lineup restore"), "\(refusedOpen.stderr)")
        let again = try run(["restore", "--from", folder + "/gallery.lineup-backup"], as: nil)
        #expect(again.stdout.contains("replayed erasure \(reference)"), "\(again.stdout)")
        let after = try run(["search", "--json", Self.samples + "/biden.jpg"] + Self.justification, as: tokens.investigator)
        let candidates = (after.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        #expect(!candidates.contains { $0["origin_uri"] as? String == "biden.jpg" })
        #expect(try run(["audit", "verify"], as: tokens.auditor).stdout.contains("audit log intact"))
        let log = try run(["audit", "export"], as: tokens.auditor).stdout
        for action in ["\"bootstrap\"", "\"ingest\"", "\"erase.replay\"", "\"backup.restore\""] {
            #expect(log.contains(action), "the restored log holds the backup's entries, then the replay and the restore: \(action)")
        }
    }

    @Test func peoplesRightsAndTheAuditLogFromTheCommandLine() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let samples = try SampleStore(in: folder)
        let (store, tokens) = (samples.store, samples.tokens)
        @discardableResult func run(_ arguments: [String], as token: String?) throws -> Run { try samples.run(arguments, as: token) }

        let optOut = try Self.lineup(
            "optout", "request", Self.samples + "/obama3.jpg", "--contact", "b.obama@example.org",
            "--store", store, "--json")
        #expect(
            optOut.json["reference"] is String && optOut.json["matching_faces"] == nil,
            "the public answer does not say whether Lineup holds the person: \(optOut.stdout) \(optOut.stderr)")
        let optOuts = try run(["optout", "list"], as: tokens.officer)
        #expect(optOuts.stdout.contains("\(optOut.json["reference"] as? String ?? "?")  pending"), "\(optOuts.stdout)")
        #expect(optOuts.stdout.split(separator: " ").last?.split(separator: ",").count == 3, "three stored faces withheld: \(optOuts.stdout)")
        let search = try run(
            ["search", "--json", "--below-threshold", Self.samples + "/obama.jpg"] + Self.justification, as: tokens.investigator)
        let candidates = (search.json["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.map { $0["origin_uri"] as? String } == ["biden.jpg"])
        #expect(search.json["opted_out_faces_withheld"] as? Int == 3, "the withheld faces are counted: \(search.stdout)")

        let access = try Self.lineup(
            "access", "request", Self.samples + "/biden.jpg", "--contact", "j.biden@example.org",
            "--store", store, "--json")
        let reference = access.json["reference"] as? String ?? ""
        let status = try Self.lineup("optout", "status", reference, "--store", store)
        #expect(status.stdout == "pending\n")
        let review = try run(["access", "review", reference, "--json"], as: tokens.officer)
        let faces = (try JSONSerialization.jsonObject(with: Data(review.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(!faces.isEmpty)
        for face in faces {
            let isBiden = (face["provenance"] as? [String: Any])?["origin_uri"] as? String == "biden.jpg"
            _ = try run(
                ["access", "decide", reference, "--face", "\(face["face_id"] as? Int ?? 0)", isBiden ? "--confirm" : "--reject"],
                as: tokens.officer)
        }
        let report = try run(["access", "report", reference], as: tokens.officer)
        #expect((report.json["faces"] as? [[String: Any]])?.count == 1)
        let receipt = try run(["access", "erase", reference], as: tokens.officer)
        #expect(receipt.json["faces"] as? Int == 1 && (receipt.json["sha256"] as? String)?.count == 64)

        let verified = try run(["audit", "verify"], as: tokens.auditor)
        #expect(verified.stdout.contains("audit log intact"))
        let export = try run(["audit", "export"], as: tokens.auditor)
        #expect(export.stdout.split(separator: "\n").count > 15)
        // Someone edits the database file behind Lineup's back: verify names the entry.
        let tamper = Process()
        tamper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tamper.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DROP TRIGGER auditEntryNoUpdate")
            db.execute("UPDATE auditEntry SET caseNumber = 'none' WHERE action = 'search'")
            db.commit()
            """, store + "/gallery.sqlite",
        ]
        try tamper.run()
        tamper.waitUntilExit()
        let searchEntry =
            export.stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }.first { $0["action"] as? String == "search" }?["id"] as? Int
        let broken = try Self.lineup("audit", "verify", "--store", store, "--token", tokens.auditor)
        #expect(
            broken.status == 1 && broken.stdout.contains("BROKEN")
                && broken.stdout.contains("entry \(searchEntry ?? -1): its content does not match"), "\(broken.stdout)")
    }

    /// The LFW protocol end to end on a slice of the development pairs, with the
    /// threshold from a slice of the training pairs.
    @Test(.enabled(if: TestEnvironment.runs(whenAvailable: hasLFW), "shared LFW photos not found beside the checkout"))
    func evalLFWReportsTheProtocolFigures() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func slice(_ name: String, _ count: Int) throws -> String {
            let lines = try String(contentsOfFile: Self.shared + "/lfw-dev/protocols/" + name, encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let half = Int(lines[0])!
            let path = folder + "/" + name
            try (["\(count)"] + lines[1...count] + lines[(half + 1)...(half + count)]).joined(separator: "\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let run = try Self.lineupBench(
            "eval", "lfw", "--json", "--cache", folder + "/cache",
            "--train", try slice("pairsDevTrain.txt", 15), "--pairs", try slice("pairsDevTest.txt", 10),
            "--images", Self.shared + "/lfw-dev/images")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json["pairs"] as? Int == 20)
        #expect((run.json["accuracy"] as? Double ?? 0) >= 0.9)
        #expect(run.json["threshold"] as? Double != nil)
        #expect((run.json["no_face"] as? [Any])?.isEmpty == true)
        #expect(run.json["tar_at_far1e3"] != nil)
        let noFolds = try Self.lineupBench("eval", "lfw", "--pairs", try slice("pairsDevTest.txt", 5), "--images", Self.shared + "/lfw-dev/images")
        #expect(noFolds.status != 0)
        #expect(noFolds.stderr.contains("has no folds"))
    }
}

/// A real `kill -9` of an ingest, then a re-run: the gallery ends exactly as a clean
/// run leaves it, and the database is sound.
@Suite(.serialized, .enabled(if: TestEnvironment.runs(whenAvailable: CLITests.hasLFW), "shared LFW photos not found beside the checkout"))
struct CrashRecoveryTests {
    @Test func killedIngestResumesToTheCountsOfACleanRun() throws {
        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = CLITests.shared + "/lfw-dev/images"
        let subset = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("A") }.sorted().map { root + "/" + $0 }
        var tokens: [String: String] = [:]
        func register(_ store: String) throws {
            tokens[store] = try CLITests.accounts(store).admin
            let run = try CLITests.lineup(
                "source", "add", "lfw", "--store", store, "--token", tokens[store]!, "--root", root,
                "--basis", "public-task", "--condition", "substantial-public-interest", "--jurisdiction", "US",
                "--retention-days", "30", "--collected", "own-records")
            #expect(run.status == 0, "\(run.stderr)")
        }
        func status(_ store: String) throws -> [String: Any] {
            try CLITests.lineup("status", "--json", "--check", "--store", store, "--token", tokens[store]!).json
        }

        let crashed = folder + "/crashed", clean = folder + "/clean"
        try register(crashed)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CLITests.root.appendingPathComponent(".build/debug/lineup").path)
        child.arguments = ["ingest", "--store", crashed, "--token", tokens[crashed]!, "lfw"] + subset
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        // Kill it once some files are committed, well before it can finish.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try status(crashed)["files"] as? Int ?? 0) < 20 { Thread.sleep(forTimeInterval: 0.2) }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let interrupted = try status(crashed)
        let committed = interrupted["files"] as? Int ?? 0
        #expect(committed >= 20 && committed < 406, "killed after \(committed) of 406 files")
        #expect(interrupted["integrity"] as? String == "ok")
        #expect(interrupted["indexed_faces"] as? Int == interrupted["faces"] as? Int, "no orphan index entries, no lost faces")

        let resumed = try CLITests.lineup(["ingest", "--json", "--store", crashed, "--token", tokens[crashed]!, "lfw"] + subset)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.json["files_skipped"] as? Int == committed)

        try register(clean)
        #expect(try CLITests.lineup(["ingest", "--store", clean, "--token", tokens[clean]!, "lfw"] + subset).status == 0)
        let after = try status(crashed), reference = try status(clean)
        for key in ["files", "images", "faces", "indexed_faces"] {
            #expect(after[key] as? Int == reference[key] as? Int, "\(key)")
        }
        #expect(reference["files"] as? Int == 406)
        #expect(after["integrity"] as? String == "ok")
    }
}
