import FaceVision
import Foundation

/// One file taken in from a source: the unit of idempotent, all-or-nothing ingest.
/// A photo or a video is recorded together with every image and face it gave, in
/// one transaction, so a crash never leaves half a file behind and a re-run skips
/// exactly what is stored.
public struct SourceFile: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var sourceID: Int64
    /// SHA-256 of the file's bytes: the same content is taken in once per source.
    public var sha256: Data
    /// Relative to the source root: the photo or video, or the web archive that holds
    /// the picture (at `recordOffset`).
    public var path: String
    public var kind: Kind
    public var faceCount: Int
    public var ingestedAt: Date
    public var runID: Int64?
    /// Set when the file's pictures and faces were erased; the row stays, holding
    /// only the content hash, so a later ingest skips the file instead of taking
    /// the erased faces back.
    public var erasedAt: Date?
    /// For a picture of a web archive: where its record starts in the archive (the
    /// offset of its gzip member in a `.warc.gz`), read again for review and re-templating.
    public var recordOffset: Int64?

    public static let tableName = "sourceFile"

    public enum Kind: String, Codable, Sendable {
        case photo, video
        /// An image payload of a web archive's record; `sha256` is the payload's.
        case webImage = "web-image"
    }

    public init(
        sourceID: Int64, sha256: Data, path: String, kind: Kind, faceCount: Int, ingestedAt: Date, runID: Int64?,
        recordOffset: Int64? = nil
    ) {
        self.recordOffset = recordOffset
        self.sourceID = sourceID
        self.sha256 = sha256
        self.path = path
        self.kind = kind
        self.faceCount = faceCount
        self.ingestedAt = ingestedAt
        self.runID = runID
    }

}

/// A picture faces were found in: a photo, or one frame of a video.
public struct GalleryImage: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var sourceID: Int64
    public var fileID: Int64
    /// The file's path relative to the source root; for a web archive's picture, the
    /// address it was captured from. Where it was published is in `Publication`.
    public var originURI: String
    /// When the picture was taken (EXIF DateTimeOriginal), when known.
    public var capturedAt: Date?
    public var ingestedAt: Date
    public var width: Int
    public var height: Int
    /// For a video frame: its time in the video, in seconds.
    public var frameSeconds: Double?

    public static let tableName = "image"

    public init(
        sourceID: Int64, fileID: Int64, originURI: String, capturedAt: Date? = nil,
        ingestedAt: Date, width: Int, height: Int, frameSeconds: Double? = nil
    ) {
        self.sourceID = sourceID
        self.fileID = fileID
        self.originURI = originURI
        self.capturedAt = capturedAt
        self.ingestedAt = ingestedAt
        self.width = width
        self.height = height
        self.frameSeconds = frameSeconds
    }

}

/// A template as a face record holds it: its floats in the clear while in memory (as
/// the pipeline made them, or as the store opened them), or sealed with a keyring key,
/// as the database keeps it. Only `.clear` gives floats, so sealed bytes are never
/// read as a template.
public enum StoredTemplate: Sendable, Equatable {
    case clear(Data)
    case sealed(Data, keyID: String)

    /// The floats, when the template is in the clear.
    public var floats: [Float]? {
        guard case .clear(let bytes) = self else { return nil }
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// A face and its template. For a video, one face per track: the best-quality
/// sighting, with the span of the track.
public struct GalleryFace: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var imageID: Int64
    public var box: Box
    public var landmarks: FaceLandmarks
    public var detectorScore: Double
    public var quality: FaceQuality
    public var modelID: String
    /// Kept in two columns: `template` (the bytes) and `keyID` (the key that sealed
    /// them; NULL only for a template a version before encryption at rest stored in
    /// the clear, sealed when the gallery next opens).
    public var template: StoredTemplate
    public var trackFirstSeconds: Double?
    public var trackLastSeconds: Double?

    public static let tableName = "face"

    public init(
        imageID: Int64, box: Box, landmarks: FaceLandmarks, detectorScore: Double, quality: FaceQuality,
        modelID: String, template: StoredTemplate, trackFirstSeconds: Double? = nil, trackLastSeconds: Double? = nil
    ) {
        self.imageID = imageID
        self.box = box
        self.landmarks = landmarks
        self.detectorScore = detectorScore
        self.quality = quality
        self.modelID = modelID
        self.template = template
        self.trackFirstSeconds = trackFirstSeconds
        self.trackLastSeconds = trackLastSeconds
    }

    public static func encode(_ template: FaceTemplate) -> StoredTemplate {
        .clear(template.vector.withUnsafeBytes { Data($0) })
    }

    enum CodingKeys: String, CodingKey {
        case id, imageID, box, landmarks, detectorScore, quality, modelID, template, keyID, trackFirstSeconds, trackLastSeconds
    }

    public init(from decoder: any Decoder) throws {
        let row = try decoder.container(keyedBy: CodingKeys.self)
        id = try row.decodeIfPresent(Int64.self, forKey: .id)
        imageID = try row.decode(Int64.self, forKey: .imageID)
        box = try row.decode(Box.self, forKey: .box)
        landmarks = try row.decode(FaceLandmarks.self, forKey: .landmarks)
        detectorScore = try row.decode(Double.self, forKey: .detectorScore)
        quality = try row.decode(FaceQuality.self, forKey: .quality)
        modelID = try row.decode(String.self, forKey: .modelID)
        let bytes = try row.decode(Data.self, forKey: .template)
        template = try row.decodeIfPresent(String.self, forKey: .keyID).map { .sealed(bytes, keyID: $0) } ?? .clear(bytes)
        trackFirstSeconds = try row.decodeIfPresent(Double.self, forKey: .trackFirstSeconds)
        trackLastSeconds = try row.decodeIfPresent(Double.self, forKey: .trackLastSeconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var row = encoder.container(keyedBy: CodingKeys.self)
        try row.encodeIfPresent(id, forKey: .id)
        try row.encode(imageID, forKey: .imageID)
        try row.encode(box, forKey: .box)
        try row.encode(landmarks, forKey: .landmarks)
        try row.encode(detectorScore, forKey: .detectorScore)
        try row.encode(quality, forKey: .quality)
        try row.encode(modelID, forKey: .modelID)
        switch template {
        case .clear(let bytes):
            try row.encode(bytes, forKey: .template)
            try row.encodeNil(forKey: .keyID)
        case .sealed(let bytes, let keyID):
            try row.encode(bytes, forKey: .template)
            try row.encode(keyID, forKey: .keyID)
        }
        try row.encodeIfPresent(trackFirstSeconds, forKey: .trackFirstSeconds)
        try row.encodeIfPresent(trackLastSeconds, forKey: .trackLastSeconds)
    }
}

/// One `lineup ingest` run: what it saw, took in, skipped and could not read.
public struct IngestRun: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var sourceID: Int64
    public var startedAt: Date
    public var finishedAt: Date?
    public var filesSeen: Int = 0
    public var filesIngested: Int = 0
    public var filesSkipped: Int = 0
    public var faces: Int = 0
    public var errors: Int = 0
    /// The last time the process running it said it was alive (every 20 s).
    public var heartbeatAt: Date?
    /// Closed after its process died: the counts are what it had committed.
    public var interrupted: Bool = false

    public static let tableName = "ingestRun"

    public init(sourceID: Int64, startedAt: Date = Date()) {
        self.sourceID = sourceID
        self.startedAt = startedAt
    }

}

/// A file an ingest run could not take in, and why.
public struct IngestError: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var runID: Int64
    public var path: String
    public var message: String

    public static let tableName = "ingestError"

    public init(runID: Int64, path: String, message: String) {
        self.runID = runID
        self.path = path
        self.message = message
    }

}

public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case notFound(String)
    case unknownSource(String)
    case duplicateSource(String)
    case outsideSourceRoot(path: String, root: String)

    public var description: String {
        switch self {
        case .invalid(let message): message
        case .notFound(let message): message
        case .unknownSource(let name): "no source named '\(name)': register it first with 'lineup source add' (no source, no ingest)"
        case .duplicateSource(let name): "a source named '\(name)' already exists"
        case .outsideSourceRoot(let path, let root): "\(path) is not inside the source's root folder \(root)"
        }
    }
}
