import Foundation
import Gallery
import Index
import Store

extension Governance {
    /// One candidate of one of the principal's own searches, opened for review, with
    /// the score it was returned with. Only the investigator who searched may open it,
    /// only for a face that search returned and that is still held (an erased or
    /// opted-out face is gone), while the search's results are (a rejected
    /// authorisation erases them); every opening is logged as a view.
    public func reviewCandidate(as principal: Principal, search entryID: Int64, face faceID: Int64) throws -> Gallery.Candidate {
        let investigator = try require(principal, .investigator, for: "reviewing candidates")
        let (_, score) = try returnedCandidate(search: entryID, face: faceID, searchedBy: investigator.name)
        guard let candidate = try heldCandidate(face: faceID, score: score) else {
            throw GovernanceError.notFound("face \(faceID) is no longer held")
        }
        try recordView(as: investigator, search: entryID, faces: [faceID], kind: .candidate)
        return candidate
    }

    /// A face a search returned, with its provenance and the band of its score in the
    /// gallery as it is now; nil once it is erased or an opt-out withholds it.
    func heldCandidate(face faceID: Int64, score: Float) throws -> Gallery.Candidate? {
        guard try isOptedOut(faceID: faceID) == false else { return nil }
        return try gallery.candidates(
            for: [SearchHit(id: faceID, score: score)], calibration: calibration, comparisons: gallery.indexedFaces()
        ).first
    }
}
