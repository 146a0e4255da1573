import Crypto
import FaceVision
import Foundation
import Gallery
import Index
import Store

/// The log of a use (EU AI Act Art. 12(3)): for one case, the period of use, the
/// reference database each search ran against, the input that led to a match, and the
/// people who verified the results, with the audit entries it rests on and their chain
/// hashes, so an auditor can check each against `audit verify`. And the verified leads
/// of a case: the only results that may leave Lineup.
extension Governance {
    /// What a search ran against, as it stood at that moment (kept in the search's
    /// audit entry, so the log is read from the chain itself).
    public struct ReferenceDatabase: Sendable, Codable, Equatable {
        public struct SearchedSource: Sendable, Codable, Equatable {
            public var name: String
            public var jurisdiction: String
            /// How its photos were collected (nil: not stated when the source was registered).
            public var collection: String?
        }

        public var sources: [SearchedSource]
        public var faces: Int
        public var index: String
        public var model: String
        /// The least score of each confidence band at this gallery size.
        public var bandThresholds: [String: Float]
        /// What the thresholds were calibrated on.
        public var calibration: String

        enum CodingKeys: String, CodingKey {
            case sources, faces, index, model, calibration
            case bandThresholds = "band_thresholds"
        }
    }

    /// The sources a search ran over (those the policy and the opt-outs left in), the
    /// gallery's size and index, the model and the thresholds in force.
    func referenceDatabase(searched result: Gallery.SearchResult, among all: [Source], excluding exclusion: SearchExclusion)
        -> ReferenceDatabase
    {
        let sources = all.filter { source in
            !exclusion.sources.contains(source.id!)
                && (exclusion.organisations.map { $0.contains(source.organisationID ?? -1) } ?? true)
        }
        return ReferenceDatabase(
            sources: sources.map { .init(name: $0.name, jurisdiction: $0.jurisdiction, collection: $0.collectionMethod?.rawValue) },
            faces: result.galleryFaces, index: gallery.indexKindKnownNow?.rawValue ?? "unknown", model: result.modelID,
            bandThresholds: bandThresholds(comparisons: result.galleryFaces), calibration: calibration.dataset)
    }

    /// The least score of each band (but below-threshold) for a search of `comparisons` faces.
    public func bandThresholds(comparisons: Int) -> [String: Float] {
        Dictionary(uniqueKeysWithValues: Self.credibleBands.map { ($0.rawValue, leastScore(of: $0, comparisons: comparisons)) })
    }

    /// One search of a case, as its log shows it.
    public struct LoggedSearch: Sendable, Codable {
        public var auditEntry: Int64
        public var at: Date
        public var by: String
        public var purpose: String?
        public var legalBasis: String?
        public var referenceDatabase: ReferenceDatabase?
        public var probePhotoSHA256: String?
        public var probeTemplateSHA256: String?
        /// The probe's template as sealed at rest (base64); nil once erased.
        public var sealedTemplate: String?
        public var sealedWith: String?
        /// The faces the search returned, with their scores.
        public var matches: [Match]
        public var erased: Bool

        public struct Match: Sendable, Codable, Equatable {
            public var face: Int64
            public var score: Float
        }

        enum CodingKeys: String, CodingKey {
            case at, by, purpose, matches, erased
            case auditEntry = "audit_entry"
            case legalBasis = "legal_basis"
            case referenceDatabase = "reference_database"
            case probePhotoSHA256 = "probe_photo_sha256"
            case probeTemplateSHA256 = "probe_template_sha256"
            case sealedTemplate = "sealed_template"
            case sealedWith = "sealed_with"
        }
    }

    /// An audit entry as the log cites it: enough to find it in the chain and check it.
    public struct CitedEntry: Sendable, Codable, Equatable {
        public var id: Int64
        public var recordedAt: Date
        public var actor: String
        public var action: String
        public var target: String
        public var hash: String
        public var previousHash: String

        enum CodingKeys: String, CodingKey {
            case id, actor, action, target, hash
            case recordedAt = "recorded_at"
            case previousHash = "previous_hash"
        }
    }

    /// The log of one case's use.
    public struct CaseLog: Sendable, Codable {
        public var `case`: CaseStatus
        /// The use's period: the first search to the closing (or, while open, the last entry).
        public var useStartedAt: Date?
        public var useEndedAt: Date?
        public var useOpen: Bool
        public var searches: [LoggedSearch]
        public var reviews: [ReviewRecord]
        /// Everyone who proposed or verified a result.
        public var verifiers: [String]
        public var proposers: [String]
        public var auditEntries: [CitedEntry]
        public var modelCard: ModelCard

        enum CodingKeys: String, CodingKey {
            case `case`, searches, reviews, verifiers, proposers
            case useStartedAt = "use_started_at"
            case useEndedAt = "use_ended_at"
            case useOpen = "use_open"
            case auditEntries = "audit_entries"
            case modelCard = "model_card"
        }
    }

    /// The log of case `number` (supervisors of its organisation, auditors, admins;
    /// the operator's auditors and admins for any organisation's, naming it). Logged.
    public func caseLog(as principal: Principal, case number: String, organisation: String? = nil) throws -> CaseLog {
        let reader = try require(principal, .supervisor, .auditor, .admin, for: "reading a case's log")
        let (found, owner) = try readableCase(as: reader, number: number, organisation: organisation)
        let log = try database.read { db -> CaseLog in
            let status = try status(of: found, organisation: owner, in: db)
            let searchEntries = try db.fetchAll(
                AuditEntry.self, "WHERE caseNumber = ? AND organisation = ? AND action = ? ORDER BY id",
                [.text(found.number), .text(owner.name), .text(AuditAction.search.rawValue)])
            let searches = try searchEntries.map { entry in try loggedSearch(entry, in: db) }
            let reviews = try db.fetchAll(CandidateReview.self, "WHERE caseID = ? ORDER BY id", [.integer(found.id!)])
                .map { ReviewRecord($0, caseNumber: found.number) }
            let entries = try AuditEntry.ofCase(
                found.number, organisation: owner.name, searches: searchEntries.map { $0.id! },
                // A second's margin: the log rounds its times to the millisecond.
                since: found.firstSearchAt?.addingTimeInterval(-1), in: db)
            return CaseLog(
                case: status, useStartedAt: found.firstSearchAt, useEndedAt: found.closedAt ?? entries.last?.recordedAt,
                useOpen: found.closedAt == nil, searches: searches, reviews: reviews,
                verifiers: Array(Set(reviews.compactMap(\.verifiedBy))).sorted(),
                proposers: Array(Set(reviews.map(\.proposedBy))).sorted(),
                auditEntries: entries.map { entry in
                    CitedEntry(
                        id: entry.id!, recordedAt: entry.recordedAt, actor: entry.actor, action: entry.action, target: entry.target,
                        hash: AuditLog.hex(entry.hash), previousHash: AuditLog.hex(entry.previousHash))
                },
                modelCard: try modelCard())
        }
        try audit(
            reader, action: .caseLog, target: "case \(found.number)", caseNumber: owner.id == reader.organisation.id ? found.number : nil,
            details: Self.json(["organisation": owner.name, "entries": String(log.auditEntries.count)]))
        return log
    }

    private func loggedSearch(_ entry: AuditEntry, in db: any MetadataTransaction) throws -> LoggedSearch {
        let details = SearchDetails(of: entry)
        let probe = try details.probe.flatMap { try db.fetchOne(ProbeRecord.self, id: $0) }
        let scores = details.scores ?? []
        return LoggedSearch(
            auditEntry: entry.id!, at: entry.recordedAt, by: entry.actor, purpose: entry.purpose, legalBasis: entry.legalBasis,
            referenceDatabase: details.referenceDatabase, probePhotoSHA256: details.photoSHA256,
            probeTemplateSHA256: details.templateSHA256, sealedTemplate: probe?.template.base64EncodedString(),
            sealedWith: probe?.keyID,
            matches: details.faces.enumerated().map { index, face in
                LoggedSearch.Match(face: face, score: index < scores.count ? scores[index] : .nan)
            },
            erased: probe == nil)
    }

    /// What a search's audit entry records (`search`'s details), as read back; every
    /// field empty for an entry that does not parse.
    struct SearchDetails: Decodable {
        var faces: [Int64] = []
        var scores: [Float]?
        var probe: Int64?
        var photoSHA256: String?
        var templateSHA256: String?
        var referenceDatabase: ReferenceDatabase?
        var optedOutWithheld: Int?
        var credibleBand: ConfidenceBand?
        var credibleScore: Float?
        var belowThresholdShown: Bool?
        var belowThresholdNotShown: Int?

        enum CodingKeys: String, CodingKey {
            case faces, scores, probe
            case photoSHA256 = "photo_sha256"
            case templateSHA256 = "template_sha256"
            case referenceDatabase = "reference_database"
            case optedOutWithheld = "opted_out_withheld"
            case credibleBand = "credible_band"
            case credibleScore = "credible_score"
            case belowThresholdShown = "below_threshold_shown"
            case belowThresholdNotShown = "below_threshold_not_shown"
        }

        init(of entry: AuditEntry) {
            self = (try? JSONDecoder().decode(Self.self, from: Data(entry.details.utf8))) ?? Self()
        }

        private init() {}

        /// The faces returned, with their scores (NaN for an entry older than scores).
        var returned: [Int64: Float] {
            let scores = scores ?? Array(repeating: .nan, count: faces.count)
            return Dictionary(zip(faces, scores), uniquingKeysWith: { first, _ in first })
        }
    }

    /// A verified lead as it leaves Lineup: the review and the candidate's provenance.
    public struct VerifiedLead: Sendable, Codable {
        public var review: ReviewRecord
        public var candidate: Gallery.Candidate?
    }

    /// The verified leads of a case (its organisation's investigators and supervisors):
    /// only candidates confirmed by two people leave Lineup. Logged as an export.
    public func verifiedLeads(as principal: Principal, case rawNumber: String) throws -> [VerifiedLead] {
        let actor = try require(principal, .investigator, .supervisor, for: "exporting a case's verified leads")
        let (found, _) = try readableCase(as: actor, number: rawNumber, organisation: nil)
        let reviews = try database.read { db in
            try db.fetchAll(
                CandidateReview.self, "WHERE caseID = ? AND verification = ? ORDER BY id",
                [.integer(found.id!), .text(CandidateReview.Verification.confirmed.rawValue)])
        }
        var leads: [VerifiedLead] = []
        for review in reviews {
            leads.append(
                VerifiedLead(
                    review: ReviewRecord(review, caseNumber: found.number),
                    candidate: try heldCandidate(face: review.faceID, score: review.score)))
        }
        try audit(
            actor, action: .caseExport, target: "case \(found.number)", caseNumber: found.number,
            details: Self.json(["reviews": reviews.map { $0.id! }, "faces": reviews.map(\.faceID)]))
        return leads
    }
}
