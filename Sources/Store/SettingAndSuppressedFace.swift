import Foundation

/// A named setting kept in the database: one row per key, the value as text. The
/// keys are the cases of `Setting.Key`, so no module invents one of its own.
public struct Setting: Sendable, Equatable {
    public static let tableName = "setting"

    public enum Key: String, Sendable, CaseIterable {
        /// The id of the operator's organisation, made at bootstrap.
        case operatorOrganisation = "operator.organisation"
        /// `allow` or `deny`: what the policy decides when no rule matches.
        case policyDefault = "policy.default"
        /// Hours a search's probe photo is kept for review (0: not kept).
        case probeKeepHours = "probe.keep-hours"
        /// The gallery's id, made when it is first opened: its key vault and its backups
        /// carry the same, so neither is used with another gallery.
        case galleryID = "gallery.id"
        /// The model id of the templates the gallery holds (embedder, flip, alignment):
        /// a gallery compares only templates of one, and refuses to be opened for another.
        case templateModel = "templates.model"
        /// The model id a re-templating under way is making (`lineup retemplate`): while
        /// it is set the gallery is neither searched nor added to, because its faces
        /// carry templates of two models.
        case retemplateTarget = "templates.retemplating"
        /// `on` when the annual report is published on the public transparency page.
        case transparencyPage = "transparency.page"
        /// The least confidence band a search shows unless asked for more (default `possible`).
        case searchCredibleBand = "search.credible-band"
    }

    public var key: Key
    public var value: String

    /// The value of `key`, nil when it was never set.
    public static func value(_ key: Key, in db: any MetadataTransaction) throws -> String? {
        let value = try db.scalar("SELECT value FROM setting WHERE key = ?", [.text(key.rawValue)])
        return value.isNull ? nil : try value.string()
    }

    /// Sets `key`, replacing what it held.
    public static func set(_ key: Key, to value: String, in db: any MetadataTransaction) throws {
        try db.execute(
            "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key.rawValue), .text(value)])
    }
}

/// One stored face an opt-out withholds: the link between a `Suppression` and a
/// face, made when the opt-out is recorded. An opt-out in force is one not rejected.
public struct SuppressedFace: Sendable, Equatable {
    public static let tableName = "suppressedFace"

    public var suppressionID: Int64
    public var faceID: Int64

    public init(suppressionID: Int64, faceID: Int64) {
        self.suppressionID = suppressionID
        self.faceID = faceID
    }

    public func insert(in db: any MetadataTransaction) throws {
        try db.execute("INSERT INTO suppressedFace (suppressionID, faceID) VALUES (?, ?)", [.integer(suppressionID), .integer(faceID)])
    }

    /// The faces one opt-out withholds, in id order.
    public static func faces(ofSuppression id: Int64, in db: any MetadataTransaction) throws -> [Int64] {
        try db.ids("SELECT faceID FROM suppressedFace WHERE suppressionID = ? ORDER BY faceID", [.integer(id)])
    }

    /// The faces the opt-out with this reference withholds, unless it was rejected.
    public static func faces(ofReference reference: String, in db: any MetadataTransaction) throws -> [Int64] {
        try db.ids(
            """
            SELECT faceID FROM suppressedFace JOIN suppression ON suppression.id = suppressedFace.suppressionID
            WHERE suppression.reference = ? AND suppression.status != ?
            """, [.text(reference), .text(ReviewStatus.rejected.rawValue)])
    }

    /// Every face an opt-out in force withholds.
    public static func facesInForce(in db: any MetadataTransaction) throws -> Set<Int64> {
        Set(
            try db.ids(
                """
                SELECT suppressedFace.faceID FROM suppressedFace
                JOIN suppression ON suppression.id = suppressedFace.suppressionID WHERE suppression.status != ?
                """, [.text(ReviewStatus.rejected.rawValue)]))
    }

    /// Whether an opt-out in force withholds the face.
    public static func isInForce(faceID: Int64, in db: any MetadataTransaction) throws -> Bool {
        try db.count(
            """
            SELECT count(*) FROM suppressedFace JOIN suppression ON suppression.id = suppressedFace.suppressionID
            WHERE suppressedFace.faceID = ? AND suppression.status != ?
            """, [.integer(faceID), .text(ReviewStatus.rejected.rawValue)]) > 0
    }

    /// Unlinks every face of one opt-out (it was rejected).
    public static func deleteAll(ofSuppression id: Int64, in db: any MetadataTransaction) throws {
        try db.execute("DELETE FROM suppressedFace WHERE suppressionID = ?", [.integer(id)])
    }

    /// Unlinks erased faces from every opt-out.
    public static func delete(faces: [Int64], in db: any MetadataTransaction) throws {
        guard !faces.isEmpty else { return }
        try db.execute("DELETE FROM suppressedFace WHERE faceID IN (\(sqlList(faces)))")
    }
}
