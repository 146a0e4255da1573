import FaceVision
import Foundation
import Gallery
import Store

/// An investigator's own searches, read back from the audit log: the list of past
/// searches, and one search's results again (to go back to them from a candidate).
/// The log is the record: what a search returned is what its entry names, with the
/// scores it was returned with; nothing is searched again.
extension Governance {
    /// One of the investigator's past searches, as the list shows it.
    public struct PastSearch: Sendable, Codable, Equatable {
        public var auditEntry: Int64
        public var at: Date
        public var caseNumber: String?
        public var purpose: String?
        /// Candidates the search returned.
        public var candidates: Int
        /// Whether the investigator asked to see candidates below the credible threshold.
        public var belowThresholdShown: Bool
    }

    /// A past search's results: the candidates still held, in the order returned.
    public struct PastResults: Sendable {
        public var search: PastSearch
        public var legalBasis: String?
        public var candidates: [Gallery.Candidate]
        /// Faces the search returned that are gone since (erased, or withheld by a later opt-out).
        public var gone: Int
        /// The face searched with, as kept for the case (nil once it is not).
        public var probeFace: Data?
        public var galleryFaces: Int
        public var credibleBand: ConfidenceBand?
        public var belowThresholdNotShown: Int
        public var optedOutFacesWithheld: Int
        public var bands: [BandRule]
    }

    /// The investigator's own searches, newest first (`limit` at most 200), before entry `before`.
    public func pastSearches(as principal: Principal, limit: Int = 50, before: Int64? = nil) throws -> [PastSearch] {
        let investigator = try require(principal, .investigator, for: "listing your searches")
        guard (1...200).contains(limit) else { throw GovernanceError.invalid("list 1 to 200 searches at a time") }
        return try database.read { db in
            try db.fetchAll(
                AuditEntry.self, "WHERE action = ? AND actor = ? AND id < ? ORDER BY id DESC LIMIT ?",
                [.text(AuditAction.search.rawValue), .text(investigator.name), .integer(before ?? .max), .integer(Int64(limit))])
        }.map(Self.pastSearch)
    }

    /// One of the investigator's own searches again: its candidates as returned (those
    /// still held), the probe face, and the counts it was logged with. Showing the
    /// crops is a view of the search, logged by the page that shows them.
    public func pastResults(as principal: Principal, search entryID: Int64) throws -> PastResults {
        let investigator = try require(principal, .investigator, for: "reading your searches")
        let entry = try ownSearch(entryID, searchedBy: investigator.name)
        let probe = try database.read { db in try probeFace(ofSearch: entry, in: db) }
        let details = SearchDetails(of: entry)
        let galleryFaces = try details.referenceDatabase?.faces ?? gallery.indexedFaces()
        var candidates: [Gallery.Candidate] = []
        for (faceID, score) in zip(details.faces, details.scores ?? Array(repeating: .nan, count: details.faces.count)) {
            guard var candidate = try heldCandidate(face: faceID, score: score) else { continue }
            // The band the search gave it, at the gallery size it searched.
            candidate.band = calibration.band(forScore: score, comparisons: galleryFaces)
            candidate.rank = candidates.count + 1
            candidates.append(candidate)
        }
        return PastResults(
            search: Self.pastSearch(entry), legalBasis: entry.legalBasis, candidates: candidates,
            gone: details.faces.count - candidates.count, probeFace: probe, galleryFaces: galleryFaces,
            credibleBand: details.credibleBand, belowThresholdNotShown: details.belowThresholdNotShown ?? 0,
            optedOutFacesWithheld: details.optedOutWithheld ?? 0, bands: calibration.bandRules(comparisons: galleryFaces))
    }

    /// The faces one of the investigator's searches returned, in order: for the
    /// candidate page's previous and next.
    public func returnedFaces(as principal: Principal, search entryID: Int64) throws -> [Int64] {
        let investigator = try require(principal, .investigator, for: "reading your searches")
        return SearchDetails(of: try ownSearch(entryID, searchedBy: investigator.name)).faces
    }

    /// The search entry when it is `searchedBy`'s own and its results are kept.
    func ownSearch(_ entryID: Int64, searchedBy: String) throws -> AuditEntry {
        let found = try database.read { db -> (AuditEntry, Bool)? in
            guard let entry = try db.fetchOne(AuditEntry.self, id: entryID), entry.knownAction == .search, entry.actor == searchedBy
            else { return nil }
            return (entry, try SearchDetails(of: entry).probe.flatMap { try db.fetchOne(ProbeRecord.self, id: $0) } != nil)
        }
        guard let (entry, held) = found else { throw GovernanceError.notFound("search \(entryID) is not one of your searches") }
        guard held else { throw GovernanceError.notFound("the results of search \(entryID) were erased (its case's authorisation was rejected)") }
        return entry
    }

    private static func pastSearch(_ entry: AuditEntry) -> PastSearch {
        let details = SearchDetails(of: entry)
        return PastSearch(
            auditEntry: entry.id!, at: entry.recordedAt, caseNumber: entry.caseNumber, purpose: entry.purpose,
            candidates: details.faces.count, belowThresholdShown: details.belowThresholdShown ?? false)
    }
}
