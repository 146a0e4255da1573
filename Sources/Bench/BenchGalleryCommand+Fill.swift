import ArgumentParser
import Console
import Crypto
import FaceVision
import Foundation
import Governance
import Index
import Store

/// The benchmark gallery's accounts and sources, made once and found again with `--reuse`.
struct BenchGalleryWorld {
    var admin: Principal
    var adminToken: String
    var investigator: Principal
    var officer: Principal

    /// The synthetic sources: the share of the gallery each holds, and where it was
    /// collected. `half` is what the exclude rule leaves out (all of US-IL); `tenth`
    /// is the source erased at the end.
    static let sources: [(name: String, tenths: Int, jurisdiction: String)] = [
        ("half", 5, "US-IL"), ("tenth", 1, "FR"), ("press-gb", 1, "GB"), ("press-de", 1, "DE"),
        ("press-ca", 1, "CA"), ("press-au", 1, "AU"),
    ]
    static let lfwSource = "lfw"
    static let excludeRule = PolicyRule(
        name: "bench-exclude-illinois", effect: .exclude, actions: [.search],
        description: "leaves out every source collected in Illinois (half of the benchmark gallery)",
        sourceJurisdictions: ["US-IL"])

    /// Opens the accounts a run of this benchmark made in `g`, or makes them in a new gallery.
    static func prepare(_ g: Governance, lfwImages: String) throws -> BenchGalleryWorld {
        let file = g.gallery.directory + "/bench-gallery-tokens.json"
        if let data = FileManager.default.contents(atPath: file) {
            let tokens = try JSONDecoder().decode([String: String].self, from: data)
            guard let admin = tokens["admin"], let investigator = tokens["investigator"], let officer = tokens["officer"] else {
                throw ValidationError("\(file) lacks a token: use a new folder")
            }
            return BenchGalleryWorld(
                admin: try g.authenticate(token: admin), adminToken: admin,
                investigator: try g.authenticate(token: investigator), officer: try g.authenticate(token: officer))
        }
        guard try g.gallery.store.database.read({ db in try db.count(Account.self) }) == 0 else {
            throw ValidationError("the folder must be new or one this benchmark made: it holds other accounts")
        }
        let (admin, investigator) = try benchAccounts(g)
        let officer = try g.addAccount(as: admin, name: "bench-officer", organisation: "Bench operations", roles: [.privacyOfficer]).1.token
        let longLived = try g.issueToken(as: admin, label: "bench", days: 366).token
        let tokens = ["admin": longLived, "investigator": investigator, "officer": officer]
        _ = FileManager.default.createFile(
            atPath: file, contents: try JSONEncoder().encode(tokens), attributes: [.posixPermissions: 0o600])
        _ = try g.registerSource(
            as: admin,
            Source(
                name: lfwSource, kind: .folder, root: lfwImages, legalBasis: .publicTask,
                specialCategoryCondition: .archivingOrResearch, jurisdiction: "GB", retentionDays: 3650, createdBy: "bench",
                collectionMethod: .licensed))
        return BenchGalleryWorld(
            admin: try g.authenticate(token: longLived), adminToken: longLived,
            investigator: try g.authenticate(token: investigator), officer: try g.authenticate(token: officer))
    }

    /// Registers the synthetic sources that are missing (all at first; `tenth` again
    /// after a run erased it).
    func registerSyntheticSources(_ g: Governance) throws {
        let present = Set(try g.sources(as: admin).map(\.name))
        for source in Self.sources where !present.contains(source.name) {
            _ = try g.registerSource(
                as: admin,
                Source(
                    name: source.name, kind: .folder, root: nil, legalBasis: .publicTask,
                    specialCategoryCondition: .substantialPublicInterest, jurisdiction: source.jurisdiction,
                    retentionDays: 3650, createdBy: "bench", collectionMethod: .licensed))
        }
    }
}

/// Face-like synthetic files of one source, the same for the same source id and file
/// number: 1 to 3 faces a file, identities of 5 consecutive faces (a person's photos
/// arrive together), templates from `SyntheticTemplates`.
struct SyntheticFiles {
    let source: Source
    let modelID: String
    let dimension: Int
    private var centre: (identity: Int, vector: [Float])?

    init(source: Source, modelID: String, dimension: Int) {
        self.source = source
        self.modelID = modelID
        self.dimension = dimension
    }

    static let facesPerIdentity = 5

    static func mix(_ values: Int...) -> UInt64 {
        values.reduce(0x5EED_0F_11E5) { state, value in
            var z = (state ^ UInt64(truncatingIfNeeded: value)) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func faces(inFile number: Int) -> Int { 1 + Int(Self.mix(Int(source.id!), number) % 3) }

    /// File `number` with its faces; `firstFace` is the number of the source's faces before it.
    mutating func file(_ number: Int, firstFace: Int, at now: Date) -> GalleryStore.FileToStore {
        let sha = Data(SHA256.hash(data: Data("lineup-bench|\(source.id!)|\(number)".utf8)))
        let path = "synthetic/\(source.name)/\(number / 1000)/\(number).jpg"
        let faces = (0..<faces(inFile: number)).map { slot -> GalleryFace in
            let face = firstFace + slot
            let identity = face / Self.facesPerIdentity
            if centre?.identity != identity {
                var generator = SyntheticTemplates(dimension: dimension, seed: Self.mix(Int(source.id!), identity, 1))
                centre = (identity, generator.centre())
            }
            var generator = SyntheticTemplates(dimension: dimension, seed: Self.mix(Int(source.id!), face, 2))
            let template = generator.sample(around: centre!.vector)
            let x = Double(40 + 180 * slot)
            let landmarks = FaceLandmarks(
                rightEye: Point(x: x + 30, y: 120), leftEye: Point(x: x + 90, y: 120), noseTip: Point(x: x + 60, y: 160),
                rightMouthCorner: Point(x: x + 35, y: 195), leftMouthCorner: Point(x: x + 85, y: 195))
            return GalleryFace(
                imageID: 0, box: Box(x: x, y: 80, width: 120, height: 150), landmarks: landmarks, detectorScore: 0.9,
                quality: FaceQuality(interEyeDistance: 60, sharpness: 120, yaw: 0, roll: 0, warnings: []),
                modelID: modelID, template: .clear(template.withUnsafeBytes { Data($0) }))
        }
        let image = GalleryImage(sourceID: source.id!, fileID: 0, originURI: path, ingestedAt: now, width: 640, height: 480)
        return GalleryStore.FileToStore(
            file: SourceFile(sourceID: source.id!, sha256: sha, path: path, kind: .photo, faceCount: 0, ingestedAt: now, runID: nil),
            pictures: [.init(image: image, faces: faces)])
    }
}

extension BenchGalleryCommand {
    /// Fills every synthetic source up to its share of `faces`, through
    /// `Governance.ingestPrepared` (the store's ingest path: sealed templates,
    /// provenance, an audit entry per file), resuming after the files already stored.
    /// Returns the faces stored now and the seconds it took.
    func fill(_ g: Governance, _ world: BenchGalleryWorld) throws -> (faces: Int, seconds: Double) {
        try world.registerSyntheticSources(g)
        let clock = ContinuousClock(), started = clock.now
        var stored = 0, lastReport = clock.now
        for spec in BenchGalleryWorld.sources {
            let source = try g.gallery.store.source(named: spec.name)
            let target = faces * spec.tenths / 10
            let (filesDone, facesDone) = try g.gallery.store.database.read { db in
                (
                    try db.count("SELECT count(*) FROM sourceFile WHERE sourceID = ?", [.integer(source.id!)]),
                    try db.count("SELECT count(*) FROM image JOIN face ON face.imageID = image.id WHERE image.sourceID = ?", [.integer(source.id!)])
                )
            }
            var files = SyntheticFiles(source: source, modelID: g.gallery.modelID, dimension: SFaceEmbedder.templateDimension)
            var number = filesDone, face = facesDone
            while face < target {
                var batch: [GalleryStore.FileToStore] = []
                let now = Date()
                while batch.count < 2000, face < target {
                    let file = files.file(number, firstFace: face, at: now)
                    face += file.pictures[0].faces.count
                    number += 1
                    batch.append(file)
                }
                stored += try g.ingestPrepared(as: world.admin, source: spec.name, files: batch).faces
                if clock.now - lastReport > .seconds(10) {
                    lastReport = clock.now
                    let rate = Double(stored) / (clock.now - started).seconds
                    printError("fill: \(spec.name) \(face) of \(target) faces, \(Int(rate)) faces/s")
                }
            }
        }
        return (stored, (clock.now - started).seconds)
    }
}
