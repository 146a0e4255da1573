import Foundation
import Gallery
import Index
import Store

/// Two-person verification (EU AI Act Art. 14(5)): no action rests on a search's
/// result unless two people with the competence and authority to do so have verified
/// and confirmed it. The investigator who ran the search proposes a candidate as a
/// possible match, with a written reason; a second person of the same organisation,
/// holding the `verifier` role (which admins grant), examines it independently (the
/// probe beside the candidate, the first reason hidden until they decide) and confirms
/// or rejects. Only a confirmed candidate is a verified lead, and only verified leads
/// leave Lineup (`verifiedLeads`). A rejection stays on record as a disagreement.
extension Governance {
    /// A proposal as a verifier sees it before deciding: the case, the probe face, the
    /// candidate with its provenance, but not the proposer's reason.
    public struct VerificationItem: Sendable, Codable {
        public var review: Int64
        public var caseNumber: String
        public var search: Int64
        public var faceID: Int64
        public var score: Float
        public var proposedBy: String
        public var proposedAt: Date
        /// The candidate as the search returned it, with where its photo came from (nil
        /// once the face is gone: it can then no longer be verified).
        public var candidate: Gallery.Candidate?
        /// The probe face, JPEG; nil when the case no longer keeps it.
        public var probeFace: Data?

        enum CodingKeys: String, CodingKey {
            case review, search, score, candidate
            case caseNumber = "case_number"
            case faceID = "face_id"
            case proposedBy = "proposed_by"
            case proposedAt = "proposed_at"
            case probeFace = "probe_face"
        }
    }

    /// A review as its case log and its people see it once decided.
    public struct ReviewRecord: Sendable, Codable, Equatable {
        public var review: Int64
        public var caseNumber: String
        public var search: Int64
        public var faceID: Int64
        public var score: Float
        public var state: CandidateReview.State
        public var proposedBy: String
        public var proposedAt: Date
        /// Hidden (nil) from a verifier who has not yet decided.
        public var proposalReason: String?
        public var verifiedBy: String?
        public var verifiedAt: Date?
        public var verification: CandidateReview.Verification?
        public var verificationReason: String?

        enum CodingKeys: String, CodingKey {
            case review, search, score, state, verification
            case caseNumber = "case_number"
            case faceID = "face_id"
            case proposedBy = "proposed_by"
            case proposedAt = "proposed_at"
            case proposalReason = "proposal_reason"
            case verifiedBy = "verified_by"
            case verifiedAt = "verified_at"
            case verificationReason = "verification_reason"
        }

        init(_ review: CandidateReview, caseNumber: String, showingReason: Bool = true) {
            self.review = review.id!
            self.caseNumber = caseNumber
            search = review.searchEntryID
            faceID = review.faceID
            score = review.score
            state = review.state
            proposedBy = review.proposedBy
            proposedAt = review.proposedAt
            proposalReason = showingReason ? review.proposalReason : nil
            verifiedBy = review.verifiedBy
            verifiedAt = review.verifiedAt
            verification = review.verification
            verificationReason = review.verificationReason
        }
    }

    /// The investigator who ran a search proposes one of its candidates as a possible
    /// match. Refused for a face the search did not return, one no longer held or opted
    /// out, a closed or stopped case, and a candidate already proposed.
    public func proposeCandidate(as principal: Principal, search entryID: Int64, face faceID: Int64, reason rawReason: String) throws
        -> ReviewRecord
    {
        let reason = try TextRule.reason.check(rawReason)
        let investigator = try require(principal, .investigator, for: "proposing a candidate")
        let (entry, score) = try returnedCandidate(search: entryID, face: faceID, searchedBy: investigator.name)
        try requireHeld(faceID)
        return try database.write { db in
            let found = try openCaseOfSearch(entry, organisation: investigator.organisation, in: db)
            guard try db.count(CandidateReview.self, "WHERE searchEntryID = ? AND faceID = ?", [.integer(entryID), .integer(faceID)]) == 0
            else { throw GovernanceError.invalid("face \(faceID) of search \(entryID) is already proposed") }
            var review = CandidateReview(
                caseID: found.id!, searchEntryID: entryID, faceID: faceID, score: score, proposedBy: investigator.name,
                proposedAt: now(), proposalReason: reason)
            try db.insert(&review)
            try audit(
                investigator, action: .reviewPropose, target: "search \(entryID)", caseNumber: found.number,
                details: Self.json(ReviewDetails(review: review.id!, face: faceID, score: score, reason: reason)), in: db)
            return ReviewRecord(review, caseNumber: found.number)
        }
    }

    /// The proposals of the verifier's organisation they may verify, oldest first
    /// (never their own proposals or searches), without the proposers' reasons.
    public func verificationQueue(as principal: Principal, limit: Int = 200) throws -> [ReviewRecord] {
        let verifier = try require(principal, .verifier, for: "verifying candidates")
        return try database.read { db in
            try CandidateReview.awaitingVerification(
                organisation: verifier.organisation.id!, notBy: verifier.name, limit: min(max(limit, 1), 1000), in: db
            ).map { ReviewRecord($0.review, caseNumber: $0.caseNumber, showingReason: false) }
        }
    }

    /// One proposal opened by a verifier: the probe face beside the candidate, the
    /// proposer's reason withheld until they decide. The opening is logged as a view.
    public func verificationItem(as principal: Principal, review reviewID: Int64) throws -> VerificationItem {
        let verifier = try require(principal, .verifier, for: "verifying candidates")
        let (review, found, _) = try reviewForVerifier(reviewID, verifier: verifier)
        let face = try database.read { db in
            try db.fetchOne(AuditEntry.self, id: review.searchEntryID).flatMap { entry in try probeFace(ofSearch: entry, in: db) }
        }
        let candidate = try heldCandidate(face: review.faceID, score: review.score)
        try audit(
            verifier, action: .viewVerification, target: "search \(review.searchEntryID)", caseNumber: found.number,
            details: Self.json(["review": review.id!, "faces": review.faceID]))
        return VerificationItem(
            review: review.id!, caseNumber: found.number, search: review.searchEntryID, faceID: review.faceID, score: review.score,
            proposedBy: review.proposedBy, proposedAt: review.proposedAt, candidate: candidate, probeFace: face)
    }

    /// A verifier's decision on a proposal: confirmed (a verified lead) or rejected (a
    /// disagreement on record), with their reason. Refused for self-verification (the
    /// verifier proposed it or ran the search), another organisation's case, an erased
    /// or opted-out face, and a proposal already decided. Returns the review with the
    /// proposer's reason, now shown.
    public func verifyCandidate(as principal: Principal, review reviewID: Int64, confirm: Bool, reason rawReason: String) throws
        -> ReviewRecord
    {
        let reason = try TextRule.reason.check(rawReason)
        let verifier = try require(principal, .verifier, for: "verifying candidates")
        let (review, _, _) = try reviewForVerifier(reviewID, verifier: verifier)
        try requireHeld(review.faceID)
        return try database.write { db in
            guard var current = try db.fetchOne(CandidateReview.self, id: reviewID), current.verification == nil else {
                throw GovernanceError.invalid("review \(reviewID) is already decided")
            }
            guard let found = try db.fetchOne(InvestigationCase.self, id: current.caseID), found.closedAt == nil else {
                throw GovernanceError.invalid("review \(reviewID)'s case is closed")
            }
            current.verifiedBy = verifier.name
            current.verifiedAt = now()
            current.verification = confirm ? .confirmed : .rejected
            current.verificationReason = reason
            try db.update(current)
            try audit(
                verifier, action: confirm ? .reviewConfirm : .reviewReject, target: "search \(current.searchEntryID)",
                caseNumber: found.number,
                details: Self.json(ReviewDetails(review: reviewID, face: current.faceID, score: current.score, reason: reason)), in: db)
            return ReviewRecord(current, caseNumber: found.number)
        }
    }

    /// A case's reviews, every state (its organisation's investigators, verifiers and
    /// supervisors; auditors and admins). A verifier who has not decided a proposal does
    /// not see its reason.
    public func reviews(as principal: Principal, case rawNumber: String, organisation: String? = nil) throws -> [ReviewRecord] {
        let reader = try require(principal, roles: Role.allCases, for: "reading a case's reviews")
        let (found, _) = try readableCase(as: reader, number: rawNumber, organisation: organisation)
        return try database.read { db in
            try db.fetchAll(CandidateReview.self, "WHERE caseID = ? ORDER BY id", [.integer(found.id!)]).map { review in
                let hidden = reader.has(.verifier) && review.verification == nil && review.proposedBy != reader.name
                return ReviewRecord(review, caseNumber: found.number, showingReason: !hidden)
            }
        }
    }

    // MARK: - Checks

    struct ReviewDetails: Encodable {
        var review: Int64
        var face: Int64
        var score: Float
        var reason: String
    }

    /// The search entry (one of `searchedBy`'s) and the score it returned `face` with,
    /// while its probe is held (a rejected authorisation erases it with the results).
    func returnedCandidate(search entryID: Int64, face faceID: Int64, searchedBy: String) throws -> (AuditEntry, Float) {
        let entry = try ownSearch(entryID, searchedBy: searchedBy)
        guard let score = SearchDetails(of: entry).returned[faceID] else {
            throw GovernanceError.notFound("search \(entryID) did not return face \(faceID)")
        }
        return (entry, score)
    }

    /// The probe face a search was made with, opened; nil once its case no longer keeps it.
    func probeFace(ofSearch entry: AuditEntry, in db: any MetadataTransaction) throws -> Data? {
        guard let id = SearchDetails(of: entry).probe, let probe = try db.fetchOne(ProbeRecord.self, id: id), let crop = probe.crop
        else { return nil }
        return try gallery.store.keyring.open(crop, keyID: probe.keyID)
    }

    /// Refuses a face that is erased or that an opt-out withholds: nothing may be
    /// proposed or verified about a person who is no longer there to be found.
    func requireHeld(_ faceID: Int64) throws {
        guard try database.read({ db in try db.count(GalleryFace.self, "WHERE id = ?", [.integer(faceID)]) }) == 1 else {
            throw GovernanceError.notFound("face \(faceID) is no longer held (erased)")
        }
        guard try isOptedOut(faceID: faceID) == false else {
            throw GovernanceError.forbidden("face \(faceID) is withheld by an opt-out: it cannot be proposed or verified")
        }
    }

    /// The open, unstopped case a search was made for, in the searcher's organisation.
    private func openCaseOfSearch(_ entry: AuditEntry, organisation: Organisation, in db: any MetadataTransaction) throws
        -> InvestigationCase
    {
        guard let number = entry.caseNumber, let found = try InvestigationCase.numbered(number, organisation: organisation.id!, in: db)
        else { throw GovernanceError.notFound("search \(entry.id!) belongs to no case of \(organisation.name)") }
        if let refusal = try caseRefusal(found, requiredBy: nil, in: db) { throw GovernanceError.forbidden(refusal.reason) }
        return found
    }

    /// The proposal `reviewID` if `verifier` may verify it: same organisation, not their
    /// own proposal or search, the case open.
    private func reviewForVerifier(_ reviewID: Int64, verifier: Principal) throws -> (CandidateReview, InvestigationCase, String) {
        try database.read { db in
            guard let review = try db.fetchOne(CandidateReview.self, id: reviewID),
                let found = try db.fetchOne(InvestigationCase.self, id: review.caseID)
            else { throw GovernanceError.notFound("no review \(reviewID)") }
            guard found.organisationID == verifier.organisation.id else {
                throw GovernanceError.forbidden(
                    "review \(reviewID) belongs to another organisation's case; a verifier verifies their own organisation's only")
            }
            let searcher = try db.fetchOne(AuditEntry.self, id: review.searchEntryID)?.actor ?? ""
            guard review.proposedBy != verifier.name, searcher != verifier.name else {
                throw GovernanceError.forbidden(
                    "\(verifier.name) proposed this candidate or ran its search: a second, different person verifies it")
            }
            if let refusal = try caseRefusal(found, requiredBy: nil, in: db) { throw GovernanceError.forbidden(refusal.reason) }
            return (review, found, searcher)
        }
    }
}

extension Governance {
    /// For the investigator who ran a search: the review of one of its candidates, if
    /// they proposed it, and the probe face the search was made with (while its case
    /// keeps it), to show side by side with the candidate.
    public func candidateStanding(as principal: Principal, search entryID: Int64, face faceID: Int64) throws
        -> (review: ReviewRecord?, probeFace: Data?)
    {
        let investigator = try require(principal, .investigator, for: "reviewing candidates")
        let (entry, _) = try returnedCandidate(search: entryID, face: faceID, searchedBy: investigator.name)
        return try database.read { db in
            let review = try db.fetchOne(
                CandidateReview.self, "WHERE searchEntryID = ? AND faceID = ?", [.integer(entryID), .integer(faceID)])
            let caseNumber = try review.flatMap { try db.fetchOne(InvestigationCase.self, id: $0.caseID)?.number } ?? ""
            return (review.map { ReviewRecord($0, caseNumber: caseNumber) }, try probeFace(ofSearch: entry, in: db))
        }
    }
}
