import Foundation
import Store

extension Governance {
    /// One access request as the privacy office's list shows it: enough to see what
    /// waits for review and how far each review has come, without opening the
    /// requester's photo (opening it is a logged review, `reviewAccess`).
    public struct AccessRequestSummary: Sendable, Codable, Equatable {
        public var reference: String
        public var status: ReviewStatus
        public var contact: String
        public var createdAt: Date
        public var releasedBy: String?
        public var releasedAt: Date?
        /// Candidates a privacy officer has confirmed or rejected.
        public var decided: Int
        /// Candidates still awaiting a decision; the report is refused while any remain.
        public var undecided: Int
    }

    /// The access requests (or the one with `reference`), oldest first, with their
    /// candidates counted by decision (privacy officers only). Nothing sealed is opened.
    public func accessRequests(as principal: Principal, reference: String? = nil) throws -> [AccessRequestSummary] {
        try requireOperator(principal, .privacyOfficer, for: "listing access requests")
        return try database.read { db in
            let rows = try db.rows("""
                SELECT accessRequest.reference, accessRequest.status, accessRequest.contact, accessRequest.createdAt,
                       accessRequest.releasedBy, accessRequest.releasedAt,
                       COUNT(accessCandidate.id) AS candidates,
                       COALESCE(SUM(CASE WHEN accessCandidate.decision = ? THEN 1 ELSE 0 END), 0) AS undecided
                FROM accessRequest LEFT JOIN accessCandidate ON accessCandidate.requestID = accessRequest.id
                WHERE \(reference == nil ? "TRUE" : "accessRequest.reference = ?")
                GROUP BY accessRequest.id ORDER BY accessRequest.id
                """, [.text(ReviewStatus.pending.rawValue)] + (reference.map { [.text($0)] } ?? []))
            return try rows.map { row in
                let request = try row.decode(AccessRequestRow.self)
                return AccessRequestSummary(reference: request.reference, status: request.status, contact: request.contact,
                                            createdAt: request.createdAt, releasedBy: request.releasedBy, releasedAt: request.releasedAt,
                                            decided: request.candidates - request.undecided, undecided: request.undecided)
            }
        }
    }
}

/// One row of the access-request listing query.
private struct AccessRequestRow: Decodable {
    var reference: String
    var status: ReviewStatus
    var contact: String
    var createdAt: Date
    var releasedBy: String?
    var releasedAt: Date?
    var candidates: Int
    var undecided: Int
}
