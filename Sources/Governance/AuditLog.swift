import Crypto
import Foundation
import Store

/// The audit log: append-only, each entry chained to the one before it by a
/// SHA-256 over its canonical bytes (its number, time, actor, organisation, action,
/// target, justification, details and the previous entry's hash).
///
/// SQLite triggers refuse updates and deletes; the chain catches what is done to
/// the file behind SQLite's back: an edited, deleted or reordered entry breaks it
/// at that entry. Removing entries from the end leaves a shorter valid chain, so
/// auditors keep the head hash `verify` prints and compare it next time.
public enum AuditLog {
    static let genesis = Data(repeating: 0, count: 32)

    /// Appends `entry` inside the caller's transaction, chaining it to the last entry.
    @discardableResult
    static func append(_ entry: AuditEntry, in db: any MetadataTransaction) throws -> AuditEntry {
        var entry = entry
        // The hash covers exactly the bytes stored: a control character (a NUL cuts
        // SQLite's copy short) never reaches the log. Governance checks every input
        // first; this is the last line, so a missed field fails loudly instead of
        // breaking the chain for good.
        for (field, value) in [
            ("actor", entry.actor), ("organisation", entry.organisation), ("action", entry.action),
            ("target", entry.target), ("case number", entry.caseNumber), ("purpose", entry.purpose),
            ("legal basis", entry.legalBasis), ("details", entry.details),
        ] {
            if let value, value.unicodeScalars.contains(where: TextRule.isControl) {
                throw GovernanceError.badInput("the audit entry's \(field) holds a control character; nothing was recorded")
            }
        }
        entry.recordedAt = Date(timeIntervalSince1970: (entry.recordedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        let last = try db.row("SELECT id, hash FROM auditEntry ORDER BY id DESC LIMIT 1")
        entry.id = (try last?[0].int64() ?? 0) + 1
        entry.previousHash = try last?[1].data() ?? genesis
        entry.hash = hash(of: entry)
        try db.insert(&entry)
        return entry
    }

    static func hash(of entry: AuditEntry) -> Data {
        var bytes = Data()
        func field(_ value: String?) {
            let utf8 = Data((value ?? "\u{0}null").utf8)
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(utf8)
        }
        field(String(entry.id ?? 0))
        field(String(Int64((entry.recordedAt.timeIntervalSince1970 * 1000).rounded())))
        for value in [
            entry.actor, entry.organisation, entry.action, entry.target, entry.caseNumber, entry.purpose,
            entry.legalBasis, entry.details,
        ] {
            field(value)
        }
        bytes.append(entry.previousHash)
        return Data(SHA256.hash(data: bytes))
    }

    public struct Verification: Sendable, Codable, Equatable {
        /// One entry that does not fit the chain, and why.
        public struct BadEntry: Sendable, Codable, Equatable {
            public var id: Int64
            public var problem: String
        }

        public var entries: Int
        /// The last entry's hash, hex: keep it to detect entries removed from the end.
        public var headHash: String
        /// The first entry that fails, and why; nil when the chain holds.
        public var firstBadEntry: Int64?
        public var problem: String?
        /// Every entry that fails (the first `listLimit`), so one bad entry cannot hide others.
        public var badEntries: [BadEntry] = []
        /// How many entries fail in all, listed or not.
        public var badEntryCount: Int = 0

        public var isIntact: Bool { firstBadEntry == nil }
    }

    /// Bad entries a verification lists; it counts them all.
    public static let listLimit = 1000

    /// Walks the whole chain in order and names every entry that does not fit. After a
    /// bad entry it goes on from that entry's own number and stored hash, so what was
    /// done after it is still checked: an edited entry is reported alone, and a later
    /// edit or removal is reported too.
    public static func verify(_ database: any MetadataStore) throws -> Verification {
        try database.read { db in
            var previous = genesis, expectedID: Int64 = 1, count = 0
            var bad: [Verification.BadEntry] = [], badCount = 0
            try db.forEachRow("SELECT * FROM auditEntry ORDER BY id", []) { row in
                let entry = try AuditEntry(row: row)
                count += 1
                let id = entry.id!
                var problems: [String] = []
                if id != expectedID {
                    problems.append(id > expectedID ? "entries \(expectedID)…\(id - 1) are missing" : "entry numbers out of order")
                } else if entry.previousHash != previous {
                    problems.append("it does not follow the entry before it (an entry was removed, inserted or reordered)")
                }
                if hash(of: entry) != entry.hash {
                    problems.append("its content does not match its hash (the entry was edited)")
                }
                if !problems.isEmpty {
                    badCount += 1
                    if bad.count < listLimit { bad.append(.init(id: id, problem: problems.joined(separator: "; "))) }
                }
                previous = entry.hash
                expectedID = max(expectedID, id) + 1
            }
            return Verification(
                entries: count, headHash: hex(previous), firstBadEntry: bad.first?.id,
                problem: bad.first?.problem, badEntries: bad, badEntryCount: badCount)
        }
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
}

extension Governance {
    /// Writes one entry in its own transaction (for refusals and reads, which change nothing else).
    @discardableResult
    func audit(
        _ principal: Principal?, action: AuditAction, target: String, justification: Justification? = nil,
        caseNumber: String? = nil, details: String = "{}"
    ) throws -> AuditEntry {
        try database.write { db in
            try audit(
                principal, action: action, target: target, justification: justification, caseNumber: caseNumber, details: details,
                in: db)
        }
    }

    /// `caseNumber`: for an act on a case that is not a search (a review, an
    /// authorisation), so the case log finds it in the chain.
    @discardableResult
    func audit(
        _ principal: Principal?, action: AuditAction, target: String, justification: Justification? = nil,
        caseNumber: String? = nil, details: String = "{}", in db: any MetadataTransaction
    ) throws -> AuditEntry {
        try AuditLog.append(
            AuditEntry(
                recordedAt: now(), actor: principal?.name ?? "public",
                organisation: principal?.organisation.name, action: action, target: target,
                caseNumber: justification?.caseNumber ?? caseNumber, purpose: justification?.purpose,
                legalBasis: justification?.legalBasis, details: details), in: db)
    }

    /// Records that the principal looked at or kept results of one of their searches
    /// (face crops written, a candidate opened): views are logged like searches.
    public func recordView(as principal: Principal, search auditEntry: Int64, faces: [Int64], kind: ReviewView) throws {
        try audit(principal, action: kind.action, target: "search \(auditEntry)", details: Self.json(["faces": faces]))
    }

    /// How many searches and refused searches the log holds after entry `after`, and
    /// the last entry read: what the service's metrics count, whichever entry point
    /// (web, API, command line, another server of the cluster) searched. Read from
    /// `after` on, so a scrape reads only the entries since the last one. Auditors and admins.
    public func searchCounts(as principal: Principal, after: Int64) throws -> (searches: Int, refused: Int, last: Int64) {
        try require(principal, .auditor, .admin, for: "reading the service's counts")
        return try database.read { db in
            // By number, not by the action index: only the entries since the last scrape are read.
            let row = try db.row(
                """
                SELECT COALESCE(SUM(CASE WHEN action || '' = ? THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN action || '' = ? THEN 1 ELSE 0 END), 0), COALESCE(MAX(id), ?)
                FROM auditEntry WHERE id > ?
                """,
                [.text(AuditAction.search.rawValue), .text(AuditAction.searchRefused.rawValue), .integer(after), .integer(after)])
            return (Int(try row?[0].int64() ?? 0), Int(try row?[1].int64() ?? 0), try row?[2].int64() ?? after)
        }
    }

    /// Checks the chain (auditors and admins); the check itself is logged.
    public func verifyAudit(as principal: Principal) throws -> AuditLog.Verification {
        try require(principal, .auditor, .admin, for: "verifying the audit log")
        let result = try AuditLog.verify(database)
        try audit(
            principal, action: .auditVerify, target: "audit log",
            details: Self.json(["intact": result.isIntact ? "yes" : "no", "entries": String(result.entries)]))
        return result
    }

    /// The entries from `since` on, oldest first (auditors and admins); the export is logged.
    /// The operator's auditors and admins read every entry; another organisation's
    /// read the entries of their own organisation's accounts only.
    public func exportAudit(as principal: Principal, since: Date? = nil) throws -> [AuditEntry] {
        let reader = try require(principal, .auditor, .admin, for: "exporting the audit log")
        let entries = try database.read { db in
            reader.isOperator
                ? try db.fetchAll(AuditEntry.self, "WHERE recordedAt >= ? ORDER BY id", [.date(since ?? .distantPast)])
                : try db.fetchAll(
                    AuditEntry.self, "WHERE recordedAt >= ? AND organisation = ? ORDER BY id",
                    [.date(since ?? .distantPast), .text(reader.organisation.name)])
        }
        try audit(principal, action: .auditExport, target: "audit log", details: Self.json(["entries": entries.count]))
        return entries
    }
}

extension Governance {
    /// A page of the audit log: the newest entries that match, and how many match
    /// (counted up to `countUpTo`, so `matching == countUpTo` reads "at least").
    public struct AuditBrowse: Sendable {
        public var entries: [AuditEntry]
        public var matching: Int
        public var countUpTo: Int
    }

    /// The newest `limit` entries the selection matches, newest first (auditors and
    /// admins; another organisation's read their own organisation's entries only).
    /// The browse is logged as an export of what was shown.
    public func browseAudit(as principal: Principal, _ selection: AuditEntry.Selection, limit: Int, countUpTo: Int = 10_000) throws -> AuditBrowse {
        let reader = try require(principal, .auditor, .admin, for: "reading the audit log")
        var scoped = selection
        if !reader.isOperator { scoped.organisation = reader.organisation.name }
        let (entries, matching) = try database.read { db in
            try AuditEntry.newest(scoped, limit: min(max(limit, 0), 10_000), countUpTo: countUpTo, in: db)
        }
        try audit(principal, action: .auditExport, target: "audit log", details: Self.json(["entries": entries.count]))
        return AuditBrowse(entries: entries, matching: matching, countUpTo: countUpTo)
    }
}

/// What a principal looked at or kept of a search's results.
public enum ReviewView: Sendable {
    /// Face crops written out (the CLI's `--crops`, the web page's thumbnails).
    case crops
    /// One candidate opened for review.
    case candidate

    var action: AuditAction {
        switch self {
        case .crops: .viewCrops
        case .candidate: .viewCandidate
        }
    }
}
