import Foundation
import Gallery
import Governance
import Hummingbird
import HummingbirdTesting
import Store
import Testing
import ZIPFoundation

@testable import Server

/// Uploads into a source over the API and the web pages: photos, zip archives and
/// refusals, followed through the background ingest job. Only the real sample
/// portraits are used (a truncated copy of one is the damaged file).
@Suite struct UploadTests {
    /// A world with a source `desk` whose root is an empty folder of its own.
    struct UploadWorld {
        let world: ServerWorld
        let root: String

        init(maxUploadBytes: Int = 20 << 20) throws {
            world = try ServerWorld(maxUploadBytes: maxUploadBytes)
            root = world.folder + "/desk"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let admin = try world.governance.authenticate(token: world.tokens[.admin]!)
            _ = try world.governance.registerSource(
                as: admin,
                Source(
                    name: "desk", kind: .upload, root: root, legalBasis: .publicTask,
                    specialCategoryCondition: .substantialPublicInterest, jurisdiction: "GB", retentionDays: 30, createdBy: "",
                    collectionMethod: .ownRecords))
        }

        var faces: Int { (try? world.governance.gallery.indexedFaces()) ?? 0 }

        /// POSTs files to the upload route as `role`.
        func upload(
            _ client: some TestClientProtocol, _ files: [(String, [UInt8])], as role: Role = .admin,
            source: String = "desk"
        ) async throws -> TestResponse {
            var (headers, body) = ServerWorld.form([:], files: files.map { ("files", $0.0, $0.1) })
            headers[.authorization] = "Bearer " + world.tokens[role]!
            return try await client.execute(uri: "/api/v1/sources/\(source)/uploads", method: .post, headers: headers, body: body)
        }

        /// Polls the job until it is no longer running (at most a minute).
        func finished(_ client: some TestClientProtocol, job id: String) async throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(60)
            while true {
                let response = try await client.execute(
                    uri: "/api/v1/ingest-jobs/\(id)", method: .get,
                    headers: [.authorization: "Bearer " + world.tokens[.admin]!])
                #expect(response.status == .ok)
                let job = ServerWorld.json(response)
                if !["running", "queued"].contains(job["state"] as? String) || Date() > deadline { return job }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        /// The upload folders made under the source's root.
        var uploadFolders: [String] {
            (try? FileManager.default.contentsOfDirectory(atPath: root + "/uploads")) ?? []
        }

        /// Every file under the world's folder, relative to it (to show nothing was written elsewhere).
        var allFiles: Set<String> {
            let base = URL(fileURLWithPath: world.folder).standardizedFileURL.resolvingSymlinksInPath().path
            let walker = FileManager.default.enumerator(atPath: base)
            var files = Set<String>()
            while let path = walker?.nextObject() as? String {
                if !path.hasPrefix("store") { files.insert(path) }
            }
            return files
        }
    }

    /// A zip archive built with ZIPFoundation from (entry path, bytes).
    static func zip(_ entries: [(String, [UInt8])]) throws -> [UInt8] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lineup-test-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: url) }
        let archive = try Archive(url: url, accessMode: .create)
        for (path, bytes) in entries {
            let data = Data(bytes)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return Array(try Data(contentsOf: url))
    }

    static func error(_ response: TestResponse) -> String {
        (ServerWorld.json(response)["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    @Test func uploadedPhotosAreIngestedAndSearchable() async throws {
        let desk = try UploadWorld()
        try await desk.world.test { client in
            let accepted = try await desk.upload(
                client,
                [
                    ("obama.jpg", try ServerWorld.photo("obama.jpg")),
                    ("biden.jpg", try ServerWorld.photo("biden.jpg")),
                ])
            #expect(accepted.status == .accepted)
            let started = ServerWorld.json(accepted)
            let id = try #require(started["id"] as? String)
            #expect(id.count == 32, "128 random bits")
            #expect((started["links"] as? [String: Any])?["self"] as? String == "/api/v1/ingest-jobs/" + id)
            #expect(started["files_total"] as? Int == 2)

            let job = try await desk.finished(client, job: id)
            #expect(job["state"] as? String == "finished")
            #expect(job["files_done"] as? Int == 2)
            let faces = try #require(job["faces"] as? Int)
            #expect(faces >= 2)
            #expect(desk.faces == faces, "the gallery's index holds the uploaded faces")
            #expect((job["errors"] as? [Any])?.isEmpty == true)

            let folders = desk.uploadFolders
            #expect(folders.count == 1 && folders[0].range(of: #"^\d{8}T\d{6}Z-[0-9a-f]{8}$"#, options: .regularExpression) != nil)
            for name in ["obama.jpg", "biden.jpg"] {
                #expect(FileManager.default.fileExists(atPath: "\(desk.root)/uploads/\(folders[0])/\(name)"))
            }

            // The uploaded Obama is found with another photo of him.
            var (headers, body) = ServerWorld.form(
                [
                    "case_number": "2026/0415", "purpose": "identify a suspect",
                    "legal_basis": "PACE 1984 s.64A",
                ],
                files: [("photo", "obama2.jpg", try ServerWorld.photo("obama2.jpg"))])
            headers[.authorization] = "Bearer " + desk.world.tokens[.investigator]!
            let search = try await client.execute(uri: "/api/v1/search", method: .post, headers: headers, body: body)
            #expect(search.status == .ok)
            let candidates = (ServerWorld.json(search)["result"] as? [String: Any])?["candidates"] as? [[String: Any]] ?? []
            #expect(candidates.first?["origin_uri"] as? String == "uploads/\(folders[0])/obama.jpg")

            let metrics = String(
                buffer: try await client.execute(
                    uri: "/metrics", method: .get,
                    headers: [.authorization: "Bearer " + desk.world.tokens[.admin]!]
                ).body)
            #expect(metrics.contains("lineup_ingested_faces_total \(faces)\n"), "\(metrics)")
        }
    }

    @Test func zipArchivesAreExtractedAndIngested() async throws {
        let desk = try UploadWorld()
        let archive = try Self.zip([
            ("trip/obama.jpg", try ServerWorld.photo("obama.jpg")),
            ("trip/day 2/obama3.jpg", try ServerWorld.photo("obama3.jpg")),
            ("trip/notes.txt", Array("met at the harbour".utf8)),
            ("__MACOSX/trip/._obama.jpg", Array("resource fork".utf8)),
        ])
        try await desk.world.test { client in
            let accepted = try await desk.upload(client, [("holiday.zip", archive)])
            #expect(accepted.status == .accepted, "\(Self.error(accepted))")
            let started = ServerWorld.json(accepted)
            #expect(started["files_total"] as? Int == 2)
            let setAside = (started["set_aside"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            #expect(setAside.sorted() == ["holiday/__MACOSX/trip/._obama.jpg", "holiday/trip/notes.txt"])

            let job = try await desk.finished(client, job: try #require(started["id"] as? String))
            #expect(job["state"] as? String == "finished")
            #expect((job["faces"] as? Int ?? 0) >= 2)
            #expect(desk.faces == job["faces"] as? Int)
            let folder = "\(desk.root)/uploads/\(desk.uploadFolders.first ?? "")/holiday/trip"
            #expect(FileManager.default.fileExists(atPath: folder + "/obama.jpg"))
            #expect(FileManager.default.fileExists(atPath: folder + "/day 2/obama3.jpg"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/notes.txt"), "only photos and videos are extracted")
        }
    }

    @Test func zipSlipIsRefusedAndNothingIsWritten() async throws {
        let desk = try UploadWorld()
        let before = desk.allFiles
        let archive = try Self.zip([
            ("good.jpg", try ServerWorld.photo("obama.jpg")),
            ("../evil.jpg", try ServerWorld.photo("biden.jpg")),
        ])
        try await desk.world.test { client in
            let refused = try await desk.upload(client, [("slip.zip", archive)])
            #expect(refused.status == .unprocessableContent)
            #expect(Self.error(refused).contains("points outside the archive"), "\(Self.error(refused))")
            #expect(desk.allFiles.subtracting(before).allSatisfy { $0 == "desk/uploads" }, "\(desk.allFiles.subtracting(before))")
            #expect(desk.uploadFolders.isEmpty)
            #expect(desk.faces == 0)
        }
    }

    @Test func archivesExpandingPastTheLimitAreRefused() async throws {
        // A real photo padded with zeros (it still decodes) inflates past 4 × the
        // upload limit while the archive itself fits the limit.
        let desk = try UploadWorld(maxUploadBytes: 400_000)
        let padded = try ServerWorld.photo("obama.jpg") + [UInt8](repeating: 0, count: 2_000_000)
        let archive = try Self.zip([("padded.jpg", padded)])
        try #require(archive.count < 390_000, "the archive itself fits the upload limit (\(archive.count) bytes)")
        try await desk.world.test { client in
            let refused = try await desk.upload(client, [("big.zip", archive)])
            #expect(refused.status == .contentTooLarge, "\(Self.error(refused))")
            #expect(Self.error(refused).hasPrefix("big.zip expands to more than"))
            #expect(desk.uploadFolders.isEmpty)
        }
    }

    @Test func filesThatAreNotMediaAreRefused() async throws {
        let desk = try UploadWorld()
        try await desk.world.test { client in
            let refused = try await desk.upload(
                client,
                [
                    ("obama.jpg", try ServerWorld.photo("obama.jpg")),
                    ("notes.txt", Array("not a photo".utf8)),
                ])
            #expect(refused.status == .unprocessableContent)
            #expect(Self.error(refused).hasPrefix("notes.txt is neither a photo, a video nor a zip archive"), "\(Self.error(refused))")
            let hidden = try await desk.upload(client, [(".obama.jpg", try ServerWorld.photo("obama.jpg"))])
            #expect(hidden.status == .unprocessableContent)
            let notZip = try await desk.upload(client, [("photos.zip", try ServerWorld.photo("obama.jpg"))])
            #expect(notZip.status == .unprocessableContent)
            #expect(Self.error(notZip) == "photos.zip is not a zip archive that can be read")
            #expect(desk.uploadFolders.isEmpty, "nothing stays on disk")
            #expect(desk.faces == 0, "nothing is ingested")
        }
    }

    @Test func aWebArchiveSourceTakesNoUploads() async throws {
        let desk = try UploadWorld()
        let admin = try desk.world.governance.authenticate(token: desk.world.tokens[.admin]!)
        _ = try desk.world.governance.registerSource(
            as: admin,
            Source(
                name: "crawl", kind: .webArchive, root: desk.root, legalBasis: .publicTask,
                specialCategoryCondition: .substantialPublicInterest, jurisdiction: "GB", retentionDays: 30, createdBy: "",
                collectionMethod: .ownRecords))
        try await desk.world.test { client in
            let refused = try await desk.upload(client, [("obama.jpg", try ServerWorld.photo("obama.jpg"))], source: "crawl")
            #expect(refused.status == .badRequest || refused.status == .unprocessableContent, "\(refused.status)")
            #expect(Self.error(refused).contains("is a web archive"), "\(Self.error(refused))")
            #expect(desk.uploadFolders.isEmpty, "nothing is written")
        }
    }

    @Test func aDamagedPhotoIsAnErrorOfTheJobWhileTheOthersAreIngested() async throws {
        let desk = try UploadWorld()
        let truncated = Array(try ServerWorld.photo("biden.jpg").prefix(2000))
        try await desk.world.test { client in
            let accepted = try await desk.upload(
                client,
                [
                    ("obama.jpg", try ServerWorld.photo("obama.jpg")),
                    ("folder/../broken.jpg", truncated),
                ])
            #expect(accepted.status == .accepted)
            let job = try await desk.finished(client, job: try #require(ServerWorld.json(accepted)["id"] as? String))
            #expect(job["state"] as? String == "finished")
            #expect(job["error_count"] as? Int == 1)
            let errors = job["errors"] as? [[String: Any]] ?? []
            #expect(errors.count == 1 && (errors.first?["path"] as? String)?.hasSuffix("/broken.jpg") == true, "\(errors)")
            let message = errors.first?["message"] as? String ?? ""
            #expect(message.isEmpty == false)
            #expect((job["faces"] as? Int ?? 0) >= 1)
            #expect(desk.faces == job["faces"] as? Int)
        }
    }

    @Test func onlyAdminsOfTheOrganisationUploadAndSeeJobs() async throws {
        let desk = try UploadWorld()
        try await desk.world.test { client in
            let investigator = try await desk.upload(client, [("obama.jpg", try ServerWorld.photo("obama.jpg"))], as: .investigator)
            #expect(investigator.status == .forbidden)
            let unknown = try await desk.upload(client, [("obama.jpg", try ServerWorld.photo("obama.jpg"))], source: "nowhere")
            #expect(unknown.status == .notFound)
            #expect(desk.uploadFolders.isEmpty)

            let accepted = try await desk.upload(client, [("obama.jpg", try ServerWorld.photo("obama.jpg"))])
            let id = try #require(ServerWorld.json(accepted)["id"] as? String)
            _ = try await desk.finished(client, job: id)
            let asInvestigator = try await client.execute(
                uri: "/api/v1/ingest-jobs/\(id)", method: .get,
                headers: [.authorization: "Bearer " + desk.world.tokens[.investigator]!])
            #expect(asInvestigator.status == .forbidden)
            let guessed = try await client.execute(
                uri: "/api/v1/ingest-jobs/\(IngestJobs.randomID())", method: .get,
                headers: [.authorization: "Bearer " + desk.world.tokens[.admin]!])
            #expect(guessed.status == .notFound)
        }
    }

    /// Jobs of one organisation are unknown to another's admins.
    @Test func anotherOrganisationsJobIsUnknown() throws {
        let desk = try UploadWorld()
        defer { try? FileManager.default.removeItem(atPath: desk.world.folder) }
        let g = desk.world.governance
        let admin = try g.authenticate(token: desk.world.tokens[.admin]!)
        let supervisor = try g.authenticate(token: desk.world.tokens[.supervisor]!)
        let jobs = IngestJobs()
        let job = jobs.create(
            source: "desk", folder: "uploads/x", files: 1, setAside: [], by: admin,
            gallery: g.gallery.directory)
        #expect(jobs.job(job.id, for: admin, gallery: g.gallery.directory)?.id == job.id)
        #expect(jobs.job(job.id, for: supervisor, gallery: g.gallery.directory) == nil, "the supervisor is of Met")
        #expect(jobs.job(job.id, for: admin, gallery: "/elsewhere") == nil)
        jobs.fail(job.id, "test over")
    }

    @Test func webUploadRedirectsToALiveProgressPage() async throws {
        let desk = try UploadWorld()
        try await desk.world.test { client in
            let browser = try await BrowserSession.signIn(client, token: desk.world.tokens[.admin]!)
            let sources = try await browser.get(client, "/sources")
            #expect(sources.status == .ok)
            let page = String(buffer: sources.body)
            #expect(page.contains("action=\"/sources/desk/uploads\"") && page.contains("name=\"files\" multiple"))
            #expect(page.contains("id=\"register-form\"") && page.contains("<option value=\"public-task\""))

            let posted = try await browser.postMultipart(
                client, "/sources/desk/uploads", [:],
                files: [
                    ("files", "obama.jpg", try ServerWorld.photo("obama.jpg")),
                    ("files", "obama3.jpg", try ServerWorld.photo("obama3.jpg")),
                ])
            #expect(posted.status == .seeOther)
            let location = try #require(posted.headers[.location])
            #expect(location.hasPrefix("/ingests/"))
            let id = String(location.dropFirst("/ingests/".count))

            let progress = try await browser.get(client, location)
            #expect(progress.status == .ok)
            let html = String(buffer: progress.body)
            #expect(html.contains("<progress") && html.contains("data-job-url=\"/api/v1/ingest-jobs/\(id)\""))
            #expect(html.contains("<script src=\"/static/ingest.js\" defer></script>"))
            #expect(!html.contains("style="), "no inline styles under the CSP")

            // The script polls the API with the session cookie, as a GET needs nothing more.
            let polled = try await browser.get(client, "/api/v1/ingest-jobs/\(id)")
            #expect(polled.status == .ok && ServerWorld.json(polled)["id"] as? String == id)
            let script = try await client.execute(uri: "/static/ingest.js", method: .get)
            #expect(script.status == .ok && script.headers[.contentType]?.hasPrefix("text/javascript") == true)

            let job = try await desk.finished(client, job: id)
            #expect(job["state"] as? String == "finished" && (job["faces"] as? Int ?? 0) >= 2)
            let done = String(buffer: try await browser.get(client, location).body)
            #expect(done.contains("status-finished") && done.contains("id=\"job-faces\">\(job["faces"] as? Int ?? -1)<"))

            // Without the CSRF token the upload is refused and nothing is written.
            var (headers, body) = ServerWorld.form([:], files: [("files", "obama.jpg", try ServerWorld.photo("obama.jpg"))])
            headers[.cookie] = browser.cookie
            let forged = try await client.execute(uri: "/sources/desk/uploads", method: .post, headers: headers, body: body)
            #expect(forged.status == .forbidden)
            #expect(desk.uploadFolders.count == 1)

            // A refused upload is explained on the sources page, at its source.
            let refused = try await browser.postMultipart(
                client, "/sources/desk/uploads", [:],
                files: [("files", "notes.txt", Array("not a photo".utf8))])
            #expect(refused.status == .unprocessableContent)
            #expect(String(buffer: refused.body).contains("notes.txt is neither a photo, a video nor a zip archive"))
        }
    }

    @Test func webRegistrationExplainsRefusals() async throws {
        let desk = try UploadWorld()
        let newRoot = desk.world.folder + "/archive"
        try FileManager.default.createDirectory(atPath: newRoot, withIntermediateDirectories: true)
        try await desk.world.test { client in
            let browser = try await BrowserSession.signIn(client, token: desk.world.tokens[.admin]!)
            var fields = [
                "name": "archive", "root": desk.world.folder + "/missing", "legal_basis": "public-task",
                "special_category_condition": "substantial-public-interest", "jurisdiction": "GB",
                "retention_days": "90", "licence": "contract 2026-3", "collection": "press-archive",
            ]
            let missing = try await browser.post(client, "/sources", fields)
            #expect(missing.status == .unprocessableContent)
            let page = String(buffer: missing.body)
            #expect(page.contains("id=\"registration-error\"") && page.contains("is not a folder on the server"))
            #expect(page.contains("value=\"contract 2026-3\""), "what was typed stays")

            fields["root"] = newRoot
            let registered = try await browser.post(client, "/sources", fields)
            #expect(registered.status == .seeOther)
            #expect(registered.headers[.location]?.hasPrefix("/sources?registered=archive") == true)
            let listed = String(buffer: try await browser.get(client, "/sources?registered=archive").body)
            #expect(listed.contains("id=\"source-archive\"") && listed.contains("Source archive registered."))

            // An investigator sees the sources but neither the forms nor the upload.
            let investigator = try await BrowserSession.signIn(client, token: desk.world.tokens[.investigator]!)
            let seen = String(buffer: try await investigator.get(client, "/sources").body)
            #expect(seen.contains("id=\"source-desk\"") && !seen.contains("register-form") && !seen.contains("/uploads\""))
            let upload = try await investigator.postMultipart(
                client, "/sources/desk/uploads", [:],
                files: [("files", "obama.jpg", try ServerWorld.photo("obama.jpg"))])
            #expect(upload.status == .forbidden)
        }
    }
}
