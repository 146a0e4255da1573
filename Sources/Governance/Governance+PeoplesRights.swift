import FaceVision
import Foundation
import Gallery
import Index
import Store

/// Opt-outs and access requests: anyone may make one with one photo and a way to
/// reach them; nothing else is asked. A privacy officer reviews both.
extension Governance {
    /// What the requester gets back: a reference to follow the request with, and
    /// nothing that says whether Lineup holds the person (the privacy office sees
    /// the matches; the audit entry records how many).
    public struct RequestReceipt: Sendable, Codable {
        public var reference: String
        public var status: ReviewStatus
        /// Stored faces that matched: kept inside Governance (and its tests), never
        /// given to an entry point, so no answer to the public can carry it.
        var matchingFaces: Int

        enum CodingKeys: String, CodingKey { case reference, status }

        init(reference: String, status: ReviewStatus, matchingFaces: Int) {
            (self.reference, self.status, self.matchingFaces) = (reference, status, matchingFaces)
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            reference = try container.decode(String.self, forKey: .reference)
            status = try container.decode(ReviewStatus.self, forKey: .status)
            matchingFaces = 0
        }
    }

    /// Records an opt-out: the person's template (sealed) and contact, never the
    /// photo. From now on matching faces are left out of searches and not ingested;
    /// the ones already stored are listed for the privacy officer to erase.
    public func requestOptOut(photo: [UInt8], contact: String, pipeline: FacePipeline) throws -> RequestReceipt {
        let template = try requesterTemplate(photo: photo, contact: contact, pipeline: pipeline)
        let matches = try storedMatches(of: template, threshold: optOutThreshold)
        let keyring = gallery.store.keyring
        let reference = Self.newReference(prefix: "OO")
        try database.write { db in
            var suppression = Suppression(
                reference: reference, template: try keyring.seal(Self.bytes(template)),
                keyID: keyring.currentKeyID, contact: contact, createdAt: now())
            try db.insert(&suppression)
            for (faceID, _) in matches {
                try SuppressedFace(suppressionID: suppression.id!, faceID: faceID).insert(in: db)
            }
            try audit(nil, action: .optoutRequest, target: reference, details: Self.json(["matching_faces": matches.count]), in: db)
        }
        return RequestReceipt(reference: reference, status: .pending, matchingFaces: matches.count)
    }

    /// A privacy officer's view of the opt-outs and the stored faces each withholds.
    public func optOuts(as principal: Principal) throws -> [(Suppression, [Int64])] {
        try requireOperator(principal, .privacyOfficer, for: "reviewing opt-outs")
        return try database.read { db in
            try db.fetchAll(Suppression.self, "ORDER BY id").map { suppression in
                var record = suppression
                record.template = Data()
                return (record, try SuppressedFace.faces(ofSuppression: suppression.id!, in: db))
            }
        }
    }

    /// Confirms an opt-out, or rejects it (an abusive request): a rejected opt-out
    /// withholds nothing and its template is erased.
    public func reviewOptOut(as principal: Principal, reference: String, confirm: Bool) throws {
        let reference = try TextRule.reference.check(reference)
        let officer = try requireOperator(principal, .privacyOfficer, for: "reviewing opt-outs")
        try database.write { db in
            guard var suppression = try Suppression.withReference(reference, in: db) else {
                throw GovernanceError.notFound("no opt-out \(reference)")
            }
            suppression.status = confirm ? .confirmed : .rejected
            suppression.reviewedBy = officer.name
            suppression.reviewedAt = now()
            if !confirm {
                suppression.template = Data()
                try SuppressedFace.deleteAll(ofSuppression: suppression.id!, in: db)
            }
            try db.update(suppression)
            try audit(officer, action: confirm ? .optoutConfirm : .optoutReject, target: reference, in: db)
        }
    }

    /// Erases the stored faces an opt-out matched, with a receipt.
    public func eraseOptedOutFaces(as principal: Principal, reference: String) throws -> ErasureReceipt {
        let reference = try TextRule.reference.check(reference)
        try requireOperator(principal, .privacyOfficer, for: "erasing an opted-out person's faces")
        let faces = try database.read { db in try SuppressedFace.faces(ofReference: reference, in: db) }
        return try erase(as: principal, .faces(faces, scope: "person", label: "opt-out \(reference)"), reason: "opt-out \(reference)")
    }

    /// Where a request stands, for its holder (no account needed).
    public func requestStatus(reference: String) throws -> ReviewStatus {
        let reference = try TextRule.reference.check(reference)
        return try database.read { db in
            if let optOut = try Suppression.withReference(reference, in: db) { return optOut.status }
            if let request = try AccessRequest.withReference(reference, in: db) { return request.status }
            throw GovernanceError.notFound("no request \(reference)")
        }
    }

    // MARK: - Access requests

    /// Records an access request and finds every stored face that may be the
    /// requester's (a full scan, at a threshold tuned toward finding everything).
    /// Nothing is released until a privacy officer confirms each candidate.
    public func requestAccess(photo: [UInt8], contact: String, pipeline: FacePipeline) throws -> RequestReceipt {
        let template = try requesterTemplate(photo: photo, contact: contact, pipeline: pipeline)
        let matches = try storedMatches(of: template, threshold: accessRequestThreshold)
        let keyring = gallery.store.keyring
        let reference = Self.newReference(prefix: "AR")
        try database.write { db in
            var request = AccessRequest(
                reference: reference, contact: contact, template: try keyring.seal(Self.bytes(template)),
                photo: try keyring.seal(Data(photo)), keyID: keyring.currentKeyID, createdAt: now())
            try db.insert(&request)
            for (faceID, score) in matches {
                var candidate = AccessCandidate(requestID: request.id!, faceID: faceID, score: score)
                try db.insert(&candidate)
            }
            try audit(nil, action: .accessRequest, target: reference, details: Self.json(["candidates": matches.count]), in: db)
        }
        return RequestReceipt(reference: reference, status: .pending, matchingFaces: matches.count)
    }

    /// One candidate of an access request, as the privacy officer sees it.
    public struct AccessCandidateView: Sendable, Codable {
        public var faceID: Int64
        public var score: Float
        public var decision: ReviewStatus
        public var decidedBy: String?
        public var decidedAt: Date?
        /// Where the face came from; nil once the face was erased.
        public var provenance: Gallery.Candidate?
    }

    /// The candidates of a request, best first, with provenance, and the requester's
    /// photo for a side-by-side check. The review is logged.
    public func reviewAccess(as principal: Principal, reference: String) throws -> (photo: Data?, candidates: [AccessCandidateView]) {
        let reference = try TextRule.reference.check(reference)
        let officer = try requireOperator(principal, .privacyOfficer, for: "reviewing access requests")
        let (request, candidates) = try accessRequest(reference)
        let photo = try request.photo.map { try gallery.store.keyring.open($0, keyID: request.keyID) }
        let views = try candidateViews(candidates)
        try audit(officer, action: .accessReview, target: reference)
        return (photo, views)
    }

    /// Confirms (it is the requester) or rejects (a lookalike) one candidate.
    public func decideAccess(as principal: Principal, reference: String, faceID: Int64, confirm: Bool) throws {
        let reference = try TextRule.reference.check(reference)
        let officer = try requireOperator(principal, .privacyOfficer, for: "deciding access-request candidates")
        try database.write { db in
            guard let request = try AccessRequest.withReference(reference, in: db) else {
                throw GovernanceError.notFound("no access request \(reference)")
            }
            guard request.status == .pending else { throw GovernanceError.invalid("access request \(reference) was already released") }
            guard
                var candidate = try db.fetchOne(AccessCandidate.self, "WHERE requestID = ? AND faceID = ?", [SQLValue(request.id), .integer(faceID)])
            else {
                throw GovernanceError.notFound("face \(faceID) is not a candidate of \(reference)")
            }
            candidate.decision = confirm ? .confirmed : .rejected
            candidate.decidedBy = officer.name
            candidate.decidedAt = now()
            try db.update(candidate)
            try audit(
                officer, action: confirm ? .accessConfirm : .accessReject, target: reference,
                details: Self.json(["face": faceID]), in: db)
        }
    }

    /// The report for the requester: every confirmed face with its provenance and
    /// the searches that returned it (when, by which organisation, for what purpose).
    /// Refused while any candidate awaits a decision. Releasing it erases the
    /// requester's photo.
    public struct AccessReport: Sendable, Codable {
        public var reference: String
        public var releasedBy: String
        public var releasedAt: Date
        public var faces: [ReportedFace]

        public struct ReportedFace: Sendable, Codable {
            public var faceID: Int64
            public var confirmedBy: String
            public var provenance: Gallery.Candidate
            public var searches: [Appearance]
        }

        public struct Appearance: Sendable, Codable {
            public var auditEntry: Int64
            public var at: Date
            public var organisation: String?
            public var purpose: String?
            public var legalBasis: String?
        }
    }

    public func releaseAccessReport(as principal: Principal, reference: String) throws -> AccessReport {
        let reference = try TextRule.reference.check(reference)
        let officer = try requireOperator(principal, .privacyOfficer, for: "releasing access reports")
        let (_, candidates) = try accessRequest(reference)
        let pending = candidates.filter { $0.decision == .pending }.count
        guard pending == 0 else {
            throw GovernanceError.invalid("\(pending) candidates of \(reference) await a decision; each is confirmed or rejected before release")
        }
        let confirmed = try candidateViews(candidates.filter { $0.decision == .confirmed })
        let appearances = try searchAppearances(of: Set(confirmed.map(\.faceID)))
        let faces = confirmed.compactMap { view -> AccessReport.ReportedFace? in
            guard let provenance = view.provenance else { return nil }
            return .init(
                faceID: view.faceID, confirmedBy: view.decidedBy ?? "", provenance: provenance,
                searches: appearances[view.faceID] ?? [])
        }
        let released = now()
        try database.write { db in
            guard var request = try AccessRequest.withReference(reference, in: db) else {
                throw GovernanceError.notFound("no access request \(reference)")
            }
            (request.status, request.photo, request.releasedBy, request.releasedAt) = (.released, nil, officer.name, released)
            try db.update(request)
            try audit(officer, action: .accessRelease, target: reference, details: Self.json(["faces": faces.map(\.faceID)]), in: db)
        }
        try gallery.store.checkpoint()
        return AccessReport(reference: reference, releasedBy: officer.name, releasedAt: released, faces: faces)
    }

    /// Erases the confirmed faces of an access request (the person's erasure request).
    public func eraseAccessRequestFaces(as principal: Principal, reference: String) throws -> ErasureReceipt {
        let reference = try TextRule.reference.check(reference)
        try requireOperator(principal, .privacyOfficer, for: "erasing an access request's faces")
        let (_, candidates) = try accessRequest(reference)
        let faces = candidates.filter { $0.decision == .confirmed }.map(\.faceID)
        return try erase(
            as: principal, .faces(faces, scope: "person", label: "access request \(reference)"),
            reason: "erasure requested with access request \(reference)")
    }

    // MARK: - Shared

    private func accessRequest(_ reference: String) throws -> (AccessRequest, [AccessCandidate]) {
        try database.read { db in
            guard let request = try AccessRequest.withReference(reference, in: db) else {
                throw GovernanceError.notFound("no access request \(reference)")
            }
            let candidates = try db.fetchAll(AccessCandidate.self, "WHERE requestID = ? ORDER BY score DESC", [SQLValue(request.id)])
            return (request, candidates)
        }
    }

    private func candidateViews(_ candidates: [AccessCandidate]) throws -> [AccessCandidateView] {
        let hits = candidates.map { SearchHit(id: $0.faceID, score: $0.score) }
        let known = Dictionary(
            uniqueKeysWithValues: try gallery.candidates(for: hits, calibration: calibration, comparisons: 1)
                .map { ($0.faceID, $0) })
        return candidates.map {
            AccessCandidateView(
                faceID: $0.faceID, score: $0.score, decision: $0.decision, decidedBy: $0.decidedBy,
                decidedAt: $0.decidedAt, provenance: known[$0.faceID])
        }
    }

    /// For each face, the logged searches that returned it.
    private func searchAppearances(of faces: Set<Int64>) throws -> [Int64: [AccessReport.Appearance]] {
        struct Details: Decodable { var faces: [Int64]? }
        return try database.read { db in
            var found: [Int64: [AccessReport.Appearance]] = [:]
            try AuditEntry.forEach(of: .search, in: db) { entry in
                let returned = (try? JSONDecoder().decode(Details.self, from: Data(entry.details.utf8)))?.faces ?? []
                for face in returned where faces.contains(face) {
                    found[face, default: []].append(
                        .init(
                            auditEntry: entry.id!, at: entry.recordedAt, organisation: entry.organisation,
                            purpose: entry.purpose, legalBasis: entry.legalBasis))
                }
            }
            return found
        }
    }

    /// The requester's template, from the most prominent face of their one photo.
    private func requesterTemplate(photo: [UInt8], contact: String, pipeline: FacePipeline) throws -> [Float] {
        _ = try TextRule.contact.allowingShort.check(contact)
        let contact = contact.trimmingCharacters(in: .whitespaces)
        guard contact.count >= 3, contact.count <= TextRule.contact.maxLength else {
            throw GovernanceError.invalid("give a way to reach you (an e-mail or postal address), 3 to \(TextRule.contact.maxLength) characters")
        }
        let image = try Image(data: photo, limits: pipeline.limits)
        return try gallery.probe(image: image, pipeline: pipeline).template.vector
    }

    /// Every stored face scoring at least `threshold` against `template`: every face
    /// scored, none left to a graph walk (see `Gallery.storedFaces(scoringAtLeast:against:)`).
    private func storedMatches(of template: [Float], threshold: Float) throws -> [(Int64, Float)] {
        try gallery.storedFaces(scoringAtLeast: threshold, against: template).map { ($0.id, $0.score) }
    }

    static func bytes(_ vector: [Float]) -> Data { vector.withUnsafeBytes { Data($0) } }
}
