import Foundation

// The statements of the accountability tables beyond plain record reads and writes,
// kept beside their records so that no other module writes SQL against them.

extension Organisation {
    /// The first organisation made (the operator's, in a store older than the
    /// `operator.organisation` setting).
    public static func firstID(in db: any MetadataTransaction) throws -> Int64? {
        let first = try db.scalar("SELECT min(id) FROM organisation")
        return first.isNull ? nil : try first.int64()
    }
}

extension AccessToken {
    /// Revokes the token with this digest, if it is still in force.
    public static func revoke(sha256: Data, at date: Date, in db: any MetadataTransaction) throws {
        try db.execute("UPDATE accessToken SET revokedAt = ? WHERE sha256 = ? AND revokedAt IS NULL", [.date(date), .blob(sha256)])
    }
}

extension PolicyRuleRecord {
    /// The default rule that asks every case of an organisation based in an EU member
    /// state for an authorisation (EU AI Act Art. 26(10)). Policy data like any other
    /// rule: admins narrow, widen or remove it.
    public static let authorisationRuleName = "eu-ai-act-authorisation"
    public static let euMemberStates = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
        "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    ]
    public static let authorisationRuleBody =
        #"{"actions":["search"],"description":"EU AI Act Art. 26(10): post-remote biometric identification needs an "#
        + #"authorisation by a judicial or binding administrative authority, requested at the latest 48 hours after "#
        + #"the case's first search","effect":"require-authorisation","name":"eu-ai-act-authorisation","#
        + #""organisation_jurisdictions":["# + euMemberStates.map { "\"\($0)\"" }.joined(separator: ",") + "]}"

    /// Adds the default rule to a store already in use (one with an organisation) that
    /// does not have it; `now` is the engine's expression for the present time.
    public static func insertAuthorisationRuleIfInUse(now: String) -> String {
        """
        INSERT INTO policyRule (name, body, createdAt, createdBy)
        SELECT '\(authorisationRuleName)', '\(authorisationRuleBody.replacingOccurrences(of: "'", with: "''"))', \(now), 'lineup'
        WHERE EXISTS (SELECT 1 FROM organisation)
          AND NOT EXISTS (SELECT 1 FROM policyRule WHERE name = '\(authorisationRuleName)')
        """
    }

    /// Deletes the rule named `name`; false when there was none.
    public static func delete(named name: String, in db: any MetadataTransaction) throws -> Bool {
        try db.execute("DELETE FROM policyRule WHERE name = ?", [.text(name)]) > 0
    }
}

extension ProbeRecord {
    /// Forgets the probe photos whose keeping time has passed by `date`.
    public static func forgetPhotos(keptUntil date: Date, in db: any MetadataTransaction) throws {
        try db.execute(
            "UPDATE probe SET photo = NULL, photoKeptUntil = NULL WHERE photoKeptUntil IS NOT NULL AND photoKeptUntil <= ?",
            [.date(date)])
    }
}

extension Suppression {
    /// Changes whenever an opt-out is added or rejected, or a face it withholds is
    /// linked or erased: what a cache of the opt-outs and their faces is checked against.
    public static func stamp(in db: any MetadataTransaction) throws -> String {
        try db.row(
            """
            SELECT count(*), COALESCE(max(id), 0), COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0),
                (SELECT count(*) FROM suppressedFace) FROM suppression
            """, [.text(ReviewStatus.rejected.rawValue)]
        ).map { "\(try $0[0].int64())/\(try $0[1].int64())/\(try $0[2].int64())/\(try $0[3].int64())" } ?? ""
    }
}

extension AccessRequest {
    /// One access request as the privacy office's list shows it: enough to see what
    /// waits for review and how far each review has come, without opening the
    /// requester's photo.
    public struct Summary: Sendable, Codable, Equatable {
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
    /// candidates counted by decision.
    public static func summaries(reference: String? = nil, in db: any MetadataTransaction) throws -> [Summary] {
        let rows = try db.rows(
            """
            SELECT accessRequest.reference, accessRequest.status, accessRequest.contact, accessRequest.createdAt,
                   accessRequest.releasedBy, accessRequest.releasedAt,
                   COUNT(accessCandidate.id) - COALESCE(SUM(CASE WHEN accessCandidate.decision = ? THEN 1 ELSE 0 END), 0) AS decided,
                   COALESCE(SUM(CASE WHEN accessCandidate.decision = ? THEN 1 ELSE 0 END), 0) AS undecided
            FROM accessRequest LEFT JOIN accessCandidate ON accessCandidate.requestID = accessRequest.id
            WHERE \(reference == nil ? "TRUE" : "accessRequest.reference = ?")
            GROUP BY accessRequest.id ORDER BY accessRequest.id
            """, [.text(ReviewStatus.pending.rawValue), .text(ReviewStatus.pending.rawValue)] + (reference.map { [.text($0)] } ?? []))
        // The row's columns are the summary's fields.
        return try rows.map { try $0.decode(Summary.self) }
    }
}
