import Foundation
import Gallery
import Index
import Store

extension Governance {
    /// One candidate of one of the principal's own searches, opened for review, with
    /// the score it was returned with. Only the investigator who searched may open it,
    /// only for a face that search returned and that is still held (an erased or
    /// opted-out face is gone); every opening is logged as a view.
    public func reviewCandidate(as principal: Principal, search entryID: Int64, face faceID: Int64) throws -> Gallery.Candidate {
        let investigator = try require(principal, .investigator, for: "reviewing candidates")
        let returned = try database.read { db -> [Int64: Float]? in
            guard let entry = try db.fetchOne(AuditEntry.self, id: entryID), entry.knownAction == .search,
                entry.actor == investigator.name
            else { return nil }
            struct Details: Decodable {
                var faces: [Int64]
                var scores: [Float]?
            }
            guard let details = try? JSONDecoder().decode(Details.self, from: Data(entry.details.utf8)) else { return nil }
            let scores = details.scores ?? Array(repeating: .nan, count: details.faces.count)
            return Dictionary(zip(details.faces, scores), uniquingKeysWith: { first, _ in first })
        }
        guard let returned else { throw GovernanceError.notFound("search \(entryID) is not one of your searches") }
        guard let score = returned[faceID] else { throw GovernanceError.notFound("search \(entryID) did not return face \(faceID)") }
        guard try isOptedOut(faceID: faceID) == false,
            let candidate = try gallery.candidates(
                for: [SearchHit(id: faceID, score: score)], calibration: calibration,
                comparisons: gallery.indexedFaces()
            ).first
        else {
            throw GovernanceError.notFound("face \(faceID) is no longer held")
        }
        try recordView(as: investigator, search: entryID, faces: [faceID], kind: .candidate)
        return candidate
    }
}
