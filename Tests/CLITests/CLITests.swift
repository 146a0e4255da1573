import Foundation
import Testing

/// Runs the built `lineup` executable as a user would and checks what it prints.
@Suite(.serialized) struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent(".lineup/samples").path
    static let shared = ProcessInfo.processInfo.environment["LINEUP_SHARED_FACES"]
        ?? root.deletingLastPathComponent().appendingPathComponent("shared/faces").path
    static let hasLFW = FileManager.default.fileExists(atPath: shared + "/lfw-dev/protocols/pairsDevTest.txt")

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:] }
    }

    static func lineup(_ arguments: String...) throws -> Run { try lineup(arguments) }

    static func lineup(_ arguments: [String]) throws -> Run {
        let binary = root.appendingPathComponent(".build/debug/lineup").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

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
            state = state &* 6364136223846793005 &+ 1442695040888963407
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
            let run = try Self.lineup("bench", "index", "--templates", folder + "/" + file, "--queries", "20",
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
        let bad = try Self.lineup("bench", "index", "--templates", folder + "/bad.npy")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("is not a .npy file"))
        try fvecs.prefix(1000).write(to: URL(fileURLWithPath: folder + "/short.fvecs"))
        let short = try Self.lineup("bench", "index", "--templates", folder + "/short.fvecs", "--queries", "5")
        #expect(short.status != 0)
        #expect(short.stderr.contains("is not an .fvecs file"))
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
        let run = try Self.lineup("calibrate", "--json", "--no-cache", "--images", folder + "/photos", "--output", output)
        #expect(run.status == 0, "\(run.stderr)")
        #expect((run.json["genuine"] as? [String: Any])?["count"] as? Int == 3)
        #expect((run.json["impostor"] as? [String: Any])?["count"] as? Int == 3)
        #expect(FileManager.default.fileExists(atPath: output))
    }

    @Test func galleryCommandsRefuseBadInputSpecifically() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        let unknown = try Self.lineup("ingest", "--store", store, "nowhere")
        #expect(unknown.status != 0 && unknown.stderr.contains("no source named 'nowhere'"))
        let badBasis = try Self.lineup("source", "add", "s", "--store", store, "--root", Self.samples, "--basis", "because",
                                       "--condition", "made-public", "--jurisdiction", "FR", "--retention-days", "9")
        #expect(badBasis.status == 64 && badBasis.stderr.contains("public-task"))
        let badPlace = try Self.lineup("source", "add", "s", "--store", store, "--root", Self.samples, "--basis", "consent",
                                       "--condition", "explicit-consent", "--jurisdiction", "France", "--retention-days", "9")
        #expect(badPlace.status != 0 && badPlace.stderr.contains("not an ISO 3166"))
        let noRoot = try Self.lineup("source", "add", "s", "--store", store, "--root", folder + "/missing", "--basis", "consent",
                                     "--condition", "explicit-consent", "--jurisdiction", "FR", "--retention-days", "9")
        #expect(noRoot.status == 64 && noRoot.stderr.contains("is not a folder"))
        let added = try Self.lineup("source", "add", "s", "--store", store, "--root", Self.samples, "--basis", "consent",
                                    "--condition", "explicit-consent", "--jurisdiction", "FR", "--retention-days", "9")
        #expect(added.status == 0, "\(added.stderr)")
        let interval = try Self.lineup("ingest", "--store", store, "--video-interval", "0", "s")
        #expect(interval.status == 64 && interval.stderr.contains("--video-interval must be positive"))
        let top = try Self.lineup("search", "--store", store, "--top", "0", Self.samples + "/obama.jpg")
        #expect(top.status == 64)
        let listed = try Self.lineup("source", "list", "--json", "--store", store)
        #expect((listed.json["sources"] as? [[String: Any]])?.first?["jurisdiction"] as? String == "FR")
        let status = try Self.lineup("status", "--json", "--store", store)
        #expect(status.json["faces"] as? Int == 0 && status.json["integrity"] as? String == "ok")
    }

    @Test func ingestAndSearchFromTheCommandLine() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        #expect(try Self.lineup("source", "add", "samples", "--store", store, "--root", Self.samples, "--basis", "public-task",
                                "--condition", "substantial-public-interest", "--jurisdiction", "US-IL", "--retention-days", "30").status == 0)
        let ingest = try Self.lineup("ingest", "--json", "--store", store, "samples")
        #expect(ingest.json["faces"] as? Int == 4, "\(ingest.stderr)")
        let search = try Self.lineup("search", "--json", "--store", store, "--crops", folder + "/crops", Self.samples + "/obama2.jpg")
        let candidates = search.json["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.count == 4)
        #expect(candidates.first?["origin_uri"] as? String == "obama2.jpg")
        #expect((candidates[1]["origin_uri"] as? String)?.hasPrefix("obama") == true)
        #expect(candidates[1]["band"] as? String == "strong")
        #expect(candidates.first?["jurisdiction"] as? String == "US-IL")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/crops").count == 4)
        let badCalibration = try Self.lineup("search", "--store", store, "--calibration", folder + "/none.json", Self.samples + "/biden.jpg")
        #expect(badCalibration.status != 0, "a calibration file that cannot be read is an error, not silently ignored")
        #expect(badCalibration.stderr.contains("cannot read the calibration file"))
        let text = try Self.lineup("search", "--store", store, Self.samples + "/biden.jpg")
        #expect(text.stdout.contains("candidates for human review"))
        #expect(!text.stdout.lowercased().contains("match found"))
    }

    /// The LFW protocol end to end on a slice of the development pairs, with the
    /// threshold from a slice of the training pairs.
    @Test(.enabled(if: hasLFW, "shared LFW photos not found beside the checkout"))
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
        let run = try Self.lineup("eval", "lfw", "--json", "--cache", folder + "/cache",
                                  "--train", try slice("pairsDevTrain.txt", 15), "--pairs", try slice("pairsDevTest.txt", 10),
                                  "--images", Self.shared + "/lfw-dev/images")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json["pairs"] as? Int == 20)
        #expect((run.json["accuracy"] as? Double ?? 0) >= 0.9)
        #expect(run.json["threshold"] as? Double != nil)
        #expect((run.json["no_face"] as? [Any])?.isEmpty == true)
        #expect(run.json["tar_at_far1e3"] != nil)
        let noFolds = try Self.lineup("eval", "lfw", "--pairs", try slice("pairsDevTest.txt", 5), "--images", Self.shared + "/lfw-dev/images")
        #expect(noFolds.status != 0)
        #expect(noFolds.stderr.contains("has no folds"))
    }
}

/// A real `kill -9` of an ingest, then a re-run: the gallery ends exactly as a clean
/// run leaves it, and the database is sound.
@Suite(.serialized, .enabled(if: CLITests.hasLFW, "shared LFW photos not found beside the checkout"))
struct CrashRecoveryTests {
    @Test func killedIngestResumesToTheCountsOfACleanRun() throws {
        let folder = try CLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = CLITests.shared + "/lfw-dev/images"
        let subset = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("A") }.sorted().map { root + "/" + $0 }
        func register(_ store: String) throws {
            let run = try CLITests.lineup("source", "add", "lfw", "--store", store, "--root", root, "--basis", "public-task",
                                          "--condition", "substantial-public-interest", "--jurisdiction", "US", "--retention-days", "30")
            #expect(run.status == 0, "\(run.stderr)")
        }
        func status(_ store: String) throws -> [String: Any] { try CLITests.lineup("status", "--json", "--store", store).json }

        let crashed = folder + "/crashed", clean = folder + "/clean"
        try register(crashed)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CLITests.root.appendingPathComponent(".build/debug/lineup").path)
        child.arguments = ["ingest", "--store", crashed, "lfw"] + subset
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

        let resumed = try CLITests.lineup(["ingest", "--json", "--store", crashed, "lfw"] + subset)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.json["files_skipped"] as? Int == committed)

        try register(clean)
        #expect(try CLITests.lineup(["ingest", "--store", clean, "lfw"] + subset).status == 0)
        let after = try status(crashed), reference = try status(clean)
        for key in ["files", "images", "faces", "indexed_faces"] {
            #expect(after[key] as? Int == reference[key] as? Int, "\(key)")
        }
        #expect(reference["files"] as? Int == 406)
        #expect(after["integrity"] as? String == "ok")
    }
}
