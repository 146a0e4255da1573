import Foundation

// The statements of the case tables and of what they reach (probes, the audit log),
// kept beside their records so no other module writes SQL against them.

extension ProbeRecord {
    /// Drops the probe faces kept for verification of a case's searches (at its
    /// closing); returns how many went.
    public static func dropCrops(ofCase caseID: Int64, in db: any MetadataTransaction) throws -> Int {
        try db.execute("UPDATE probe SET crop = NULL WHERE caseID = ? AND crop IS NOT NULL", [.integer(caseID)])
    }

    /// Deletes the probes of a case's searches (templates, photos, faces); returns how many.
    public static func delete(ofCase caseID: Int64, in db: any MetadataTransaction) throws -> Int {
        try db.execute("DELETE FROM probe WHERE caseID = ?", [.integer(caseID)])
    }
}

extension AuditEntry {
    /// How many entries of `action` name case `number` of `organisation`.
    public static func count(of action: AuditAction, caseNumber: String, organisation: String, in db: any MetadataTransaction) throws -> Int {
        try db.count(
            AuditEntry.self, "WHERE action = ? AND caseNumber = ? AND organisation = ?",
            [.text(action.rawValue), .text(caseNumber), .text(organisation)])
    }

    /// The entries a case's log rests on, oldest first: those that name the case (by
    /// the case index), and the views of its searches' results, which name the search
    /// (`search N`) and come after the case's first search (by the action-and-time index).
    public static func ofCase(
        _ number: String, organisation: String, searches: [Int64], since firstSearch: Date?, in db: any MetadataTransaction
    ) throws -> [AuditEntry] {
        var entries = try db.fetchAll(
            AuditEntry.self, "WHERE caseNumber = ? AND organisation = ? ORDER BY id", [.text(number), .text(organisation)])
        guard let firstSearch, !searches.isEmpty else { return entries }
        let views: [AuditAction] = [.viewCrops, .viewCandidate]
        for chunk in stride(from: 0, to: searches.count, by: 500).map({ Array(searches[$0..<min($0 + 500, searches.count)]) }) {
            let targets = chunk.map { SQLValue.text("search \($0)") }
            entries += try db.fetchAll(
                AuditEntry.self,
                """
                WHERE action IN (?, ?) AND recordedAt >= ? AND organisation = ?
                AND target IN (\(targets.map { _ in "?" }.joined(separator: ",")))
                """, views.map { .text($0.rawValue) } + [.date(firstSearch), .text(organisation)] + targets)
        }
        return entries.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }

    /// Per organisation, how many entries of each of `actions` were recorded in
    /// [start, end): the annual report's counts, read from the chain itself.
    public static func countsByOrganisation(
        of actions: [AuditAction], from start: Date, until end: Date, in db: any MetadataTransaction
    ) throws -> [String: [AuditAction: Int]] {
        var counts: [String: [AuditAction: Int]] = [:]
        for action in actions {
            for row in try db.rows(
                """
                SELECT organisation, count(*) FROM auditEntry WHERE action = ? AND recordedAt >= ? AND recordedAt < ?
                AND organisation IS NOT NULL GROUP BY organisation
                """, [.text(action.rawValue), .date(start), .date(end)])
            {
                counts[try row[0].string(), default: [:]][action] = Int(try row[1].int64())
            }
        }
        return counts
    }

    /// Per organisation, how many distinct cases its searches named in [start, end): its uses.
    public static func casesSearchedByOrganisation(from start: Date, until end: Date, in db: any MetadataTransaction) throws
        -> [String: Int]
    {
        var counts: [String: Int] = [:]
        for row in try db.rows(
            """
            SELECT organisation, count(DISTINCT caseNumber) FROM auditEntry WHERE action = ? AND recordedAt >= ? AND recordedAt < ?
            AND organisation IS NOT NULL GROUP BY organisation
            """, [.text(AuditAction.search.rawValue), .date(start), .date(end)])
        {
            counts[try row[0].string()] = Int(try row[1].int64())
        }
        return counts
    }
}

extension CandidateReview {
    /// Deletes a case's reviews; returns how many.
    public static func delete(ofCase caseID: Int64, in db: any MetadataTransaction) throws -> Int {
        try db.execute("DELETE FROM candidateReview WHERE caseID = ?", [.integer(caseID)])
    }

    /// The proposals of an organisation's cases awaiting a verifier, oldest first,
    /// leaving out those `verifier` may not verify (their own proposals and searches).
    public static func awaitingVerification(
        organisation: Int64, notBy verifier: String, limit: Int, in db: any MetadataTransaction
    ) throws -> [(review: CandidateReview, caseNumber: String)] {
        try db.rows(
            """
            SELECT candidateReview.*, investigationCase.number AS caseNumber FROM candidateReview
            JOIN investigationCase ON investigationCase.id = candidateReview.caseID
            JOIN auditEntry ON auditEntry.id = candidateReview.searchEntryID
            WHERE investigationCase.organisationID = ? AND candidateReview.verification IS NULL
              AND candidateReview.proposedBy <> ? AND auditEntry.actor <> ? AND investigationCase.closedAt IS NULL
            ORDER BY candidateReview.id LIMIT ?
            """, [.integer(organisation), .text(verifier), .text(verifier), .integer(Int64(limit))]
        ).map { row in (try CandidateReview(row: row), try row.decode(CaseNumberColumn.self).caseNumber) }
    }

    private struct CaseNumberColumn: Decodable { var caseNumber: String }
}
