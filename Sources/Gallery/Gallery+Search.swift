import FaceVision
import Foundation
import Index
import Store

extension Gallery {
    /// One face of the gallery offered for human review, with where it came from.
    public struct Candidate: Sendable, Codable {
        public var rank: Int
        public var faceID: Int64
        public var score: Float
        /// Words for the score, accounting for the size of the gallery searched.
        public var band: ConfidenceBand?
        public var box: Box
        public var qualityWarnings: [QualityWarning]
        /// The photo's path under its source's root, or the address a web archive's
        /// picture was captured from.
        public var originURI: String
        /// Where the picture was published: the pages that showed it, each with its title,
        /// the image's address and when it was captured there.
        public var published: [Place]
        /// For a web archive's picture: the archive (under the source's root) and where in
        /// it the picture's record starts, for any WARC tool to look at.
        public var archiveRecord: ArchiveRecord?
        public var capturedAt: Date?
        public var ingestedAt: Date
        /// For a face from a video: the frame's time and the span the person was seen.
        public var frameSeconds: Double?
        public var trackFirstSeconds: Double?
        public var trackLastSeconds: Double?
        public var source: String
        public var sourceRoot: String?
        public var legalBasis: Source.LegalBasis
        public var specialCategoryCondition: Source.SpecialCategoryCondition
        public var jurisdiction: String
    }

    /// One place a candidate's picture was published (a stored `Publication`).
    public struct Place: Sendable, Codable, Equatable {
        public var pageURL: String?
        public var pageTitle: String?
        public var imageURL: String?
        public var capturedAt: Date?
        public var credit: String?
        public var recordedFrom: Publication.RecordedFrom

        public init(_ publication: Publication) {
            pageURL = publication.pageURL
            pageTitle = publication.pageTitle
            imageURL = publication.imageURL
            capturedAt = publication.capturedAt
            credit = publication.credit
            recordedFrom = publication.recordedFrom
        }

        /// One line for a terminal: `on PAGE "TITLE" · image URL · captured TIME · CREDIT`.
        public var summary: String {
            var parts: [String] = []
            if let pageURL { parts.append("on \(pageURL)" + (pageTitle.map { " \"\($0)\"" } ?? "")) }
            if let imageURL { parts.append("image \(imageURL)") }
            if let capturedAt { parts.append("captured \(ISO8601DateFormatter().string(from: capturedAt))") }
            if let credit { parts.append(credit) }
            return (parts.isEmpty ? "no address recorded" : parts.joined(separator: " · ")) + " (\(recordedFrom.rawValue))"
        }
    }

    public struct ArchiveRecord: Sendable, Codable, Equatable {
        public var path: String
        public var offset: Int64
    }

    public struct SearchResult: Sendable, Codable {
        public var modelID: String
        /// How many faces were compared: the N of the bands.
        public var galleryFaces: Int
        public var probeFace: DetectedFace
        public var facesInProbe: Int
        /// Photos of the person searched with (more than one: a fused probe).
        public var probePhotos: Int
        public var warnings: [String]
        public var candidates: [Candidate]
        public var searchMilliseconds: Double
    }

    /// The face a search is made with, and what its photo showed.
    public struct Probe: Sendable {
        public var face: DetectedFace
        public var template: FaceTemplate
        public var facesInPhoto: Int
        public var warnings: [String]
        /// How many photos of the person the template stands for (see `fused(_:)`).
        public var photos = 1

        /// One probe from several photos of the same person: the normalised mean of
        /// their templates. Each photo's own errors (pose, light, a landmark off) pull in
        /// different directions and partly cancel; what the photos share, the person,
        /// adds up. The face shown is the first photo's; the warnings are every photo's.
        public static func fused(_ probes: [Probe]) throws -> Probe {
            guard let first = probes.first else { throw StoreError.invalid("a fused probe needs at least one photo") }
            guard probes.count > 1 else { return first }
            guard probes.allSatisfy({ $0.template.modelID == first.template.modelID }) else {
                throw StoreError.invalid("the photos of a fused probe must be templated by the same model")
            }
            var sum = [Float](repeating: 0, count: first.template.dimension)
            for probe in probes {
                for (i, value) in probe.template.vector.enumerated() { sum[i] += value }
            }
            var fused = first
            fused.template = FaceTemplate(modelID: first.template.modelID, vector: sum)
            fused.photos = probes.reduce(0) { $0 + $1.photos }
            fused.warnings = probes.enumerated().flatMap { index, probe in probe.warnings.map { "photo \(index + 1): \($0)" } }
            return fused
        }
    }

    /// Detects the faces of the photo and templates face `faceNumber` (numbered from 1,
    /// as every entry point numbers them; default: the most prominent).
    public func probe(image: Image, pipeline: FacePipeline, faceNumber: Int? = nil) throws -> Probe {
        guard pipeline.modelID == modelID else { throw Self.modelMismatch(held: modelID, asked: pipeline.modelID) }
        let faces = try pipeline.detectProbe(in: image)
        let (face, template) = try pipeline.embed(in: image, faces: faces, number: faceNumber)
        var warnings = face.quality.warnings.map(\.explanation)
        if faces.count > 1 {
            warnings.append("the photo has \(faces.count) faces; searched \(faceNumber.map { "face \($0)" } ?? "the most prominent")")
        }
        return Probe(face: face, template: template, facesInPhoto: faces.count, warnings: warnings)
    }

    /// Searches the gallery with face `faceNumber` of the photo (from 1; default: the most
    /// prominent), returning at most `top` candidates scoring at least `minScore`.
    /// `excluding` names sources and faces no candidate may come from; `filter`,
    /// when given, keeps only the faces (by id) it returns true for.
    public func search(
        image: Image, pipeline: FacePipeline, faceNumber: Int? = nil, top: Int = 10,
        minScore: Float? = nil, calibration: ScoreCalibration? = nil, excluding: SearchExclusion = .init(),
        filter: (@Sendable (Int64) -> Bool)? = nil
    ) throws -> SearchResult {
        try search(
            probe: probe(image: image, pipeline: pipeline, faceNumber: faceNumber), top: top, minScore: minScore,
            calibration: calibration, excluding: excluding, filter: filter)
    }

    /// Searches the gallery with a probe already templated.
    ///
    /// Every hit is checked against the metadata store, which is the truth: a face it
    /// no longer holds (erased while a shared index has yet to apply the deletion) is
    /// never a candidate.
    public func search(
        probe: Probe, top: Int = 10, minScore: Float? = nil, calibration: ScoreCalibration? = nil,
        excluding: SearchExclusion = .init(), filter: (@Sendable (Int64) -> Bool)? = nil
    ) throws -> SearchResult {
        let clock = ContinuousClock()
        let started = clock.now
        var hits = try index.search(probe.template.vector, parameters: SearchParameters(k: top, filter: excluding.filter(admitting: filter)))
        hits.removeAll { minScore != nil && $0.score < minScore! }
        let elapsed = clock.now - started
        let comparisons = try indexedFaces()
        let candidates = Array(try candidates(for: hits, calibration: calibration, comparisons: comparisons).prefix(top))
        return SearchResult(
            modelID: modelID, galleryFaces: comparisons, probeFace: probe.face, facesInProbe: probe.facesInPhoto,
            probePhotos: probe.photos,
            warnings: probe.warnings, candidates: candidates, searchMilliseconds: elapsed.seconds * 1000)
    }

    /// The hits with their provenance, ranked in order.
    public func candidates(for hits: [SearchHit], calibration: ScoreCalibration?, comparisons: Int) throws -> [Candidate] {
        let provenance = try store.provenance(faceIDs: hits.map(\.id))
        return hits.compactMap { hit -> Candidate? in
            guard let p = provenance[hit.id] else { return nil }
            // A template scored against itself can come out a rounding above 1.
            return Candidate(
                rank: 0, faceID: hit.id, score: min(hit.score, 1),
                band: calibration?.band(forScore: hit.score, comparisons: comparisons),
                box: p.face.box, qualityWarnings: p.face.quality.warnings, originURI: p.image.originURI,
                published: p.publications.map(Place.init),
                archiveRecord: p.file.flatMap { file in file.recordOffset.map { ArchiveRecord(path: file.path, offset: $0) } },
                capturedAt: p.image.capturedAt, ingestedAt: p.image.ingestedAt,
                frameSeconds: p.image.frameSeconds, trackFirstSeconds: p.face.trackFirstSeconds,
                trackLastSeconds: p.face.trackLastSeconds, source: p.source.name, sourceRoot: p.source.root,
                legalBasis: p.source.legalBasis, specialCategoryCondition: p.source.specialCategoryCondition,
                jurisdiction: p.source.jurisdiction)
        }.enumerated().map { rank, candidate in
            var ranked = candidate
            ranked.rank = rank + 1
            return ranked
        }
    }

    /// The candidate's face cut from its original picture (with a margin), for review.
    /// Nil when the original is no longer where the source says it is.
    public func reviewCrop(of candidate: Candidate, limits: ImageLimits = .default) throws -> Image? {
        try reviewPicture(of: candidate, limits: limits).map { try Self.faceCrop(candidate.box, in: $0) }
    }

    /// The face in `box` with a margin around it, as every review shows a face (a
    /// candidate's, the probe's).
    public static func faceCrop(_ box: Box, in picture: Image) throws -> Image {
        try picture.cropped(to: box.expanded(by: 0.25))
    }

    /// The whole picture a candidate's face was found in (a photo, or the video frame
    /// at the face's time), for review. Nil when the original is no longer there.
    public func reviewPicture(of candidate: Candidate, limits: ImageLimits = .default) throws -> Image? {
        guard let root = candidate.sourceRoot else { return nil }
        if let record = candidate.archiveRecord {
            let archive = root + "/" + record.path
            guard FileManager.default.fileExists(atPath: archive) else { return nil }
            return try Image(data: try Self.archivedPayload(at: record.offset, in: archive, limits: limits), limits: limits)
        }
        let path = root + "/" + candidate.originURI
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let seconds = candidate.frameSeconds else { return try Image(contentsOf: path, limits: limits) }
        var picture: Image?
        try VideoReader(path: path).sample(every: 1 / 50) { frame, time in
            if time + 1e-6 >= seconds { picture = frame }
            return picture == nil
        }
        return picture
    }
}

extension Gallery {
    /// Every stored face scoring at least `threshold` against `template`, best first,
    /// with exact scores: what an access request or an opt-out must find in full.
    ///
    /// An index in this process scores every face it holds from memory (no graph walk),
    /// asked `rangeScoreTolerance` lower; the faces stored after it was loaded are read
    /// from the database; every hit is then re-scored from its sealed template, which
    /// also drops a face erased meanwhile. A shared index cannot score everything, so
    /// the database is scanned whole. Either way nothing above the threshold is missed.
    public func storedFaces(scoringAtLeast threshold: Float, against template: [Float]) throws -> [SearchHit] {
        let index = try self.index
        func scanStore(afterID: Int64) throws -> [SearchHit] {
            var found: [SearchHit] = []
            try store.forEachTemplate(modelID: modelID, afterID: afterID) { id, _, vector in
                let score = dot(vector, template)
                if score >= threshold { found.append(SearchHit(id: id, score: score)) }
            }
            return found
        }
        guard let hits = try index.rangeSearch(template, minScore: threshold - 2 * index.rangeScoreTolerance) else {
            return try scanStore(afterID: 0).sorted { $0.score > $1.score }
        }
        var found = try store.templates(faceIDs: hits.map(\.id))
            .map { SearchHit(id: $0.key, score: dot($0.value, template)) }
            .filter { $0.score >= threshold }
        // Ids only grow: what another process stored since the index was loaded is above its largest id.
        if let held = index as? any SnapshottingIndex { found += try scanStore(afterID: held.maxID) }
        return found.sorted { $0.score > $1.score }
    }

    /// The faces searched, as far as known without asking anything that may wait:
    /// the in-process index's count, or for a shared index the last count read from the
    /// metadata store (nil before the first, and while the index is not loaded). For
    /// health checks, which answer at once.
    public var indexedFacesKnownNow: Int? {
        loaded.withLock { $0?.index.countInProcess } ?? storedCount.withLock { $0?.count }
    }

    /// The kind of index, when it is loaded (for health checks, which never wait for a load).
    public var indexKindKnownNow: IndexKind? { loaded.withLock { $0?.kind } }

    /// Faces the index searches: counted in this process; for a shared index, the
    /// faces the metadata store holds (what a search can return), counted at most once
    /// a minute (each search reports the figure).
    public func indexedFaces() throws -> Int {
        if let count = try index.countInProcess { return count }
        let now = ContinuousClock.now
        if let last = storedCount.withLock({ $0 }), now - last.at < .seconds(60) { return last.count }
        let count = try store.faceCount(modelID: modelID)
        storedCount.withLock { $0 = (count, now) }
        return count
    }
}
