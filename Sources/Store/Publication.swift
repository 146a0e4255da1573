import Foundation

/// A place a picture was published: the web page that showed it (with its title), the
/// address the image itself was served from, when it was captured there, and who
/// took it or under what licence. A picture from a web archive has one for every page
/// of the archive that showed it and every address its payload was served from; a
/// photo of a folder or upload source has the one its manifest row gives.
///
/// Belongs to its picture: erasing the picture deletes its publications with it (the
/// foreign key cascades), so no place of publication outlives the face it names.
public struct Publication: Codable, Sendable, Equatable, Hashable, StoredRecord {
    public var id: Int64?
    public var imageID: Int64
    /// The page that showed the picture.
    public var pageURL: String?
    /// The page's title (HTML `<title>`), or the manifest's title or caption.
    public var pageTitle: String?
    /// The address the picture was served from.
    public var imageURL: String?
    /// When the archive captured it there (WARC-Date; the manifest's capture time).
    public var capturedAt: Date?
    /// The photographer, or the licence the picture was published under.
    public var credit: String?
    public var recordedFrom: RecordedFrom

    public static let tableName = "publication"

    /// What told Lineup of the place: it is replaced from the same kind of record
    /// only, so a corrected manifest leaves what an archive said alone.
    public enum RecordedFrom: String, Codable, Sendable, CaseIterable {
        case webArchive = "web-archive"
        case manifest
    }

    public init(
        imageID: Int64 = 0, pageURL: String? = nil, pageTitle: String? = nil, imageURL: String? = nil,
        capturedAt: Date? = nil, credit: String? = nil, recordedFrom: RecordedFrom
    ) {
        self.imageID = imageID
        self.pageURL = pageURL
        self.pageTitle = pageTitle
        self.imageURL = imageURL
        self.capturedAt = capturedAt
        self.credit = credit
        self.recordedFrom = recordedFrom
    }

    /// The same place, whatever row holds it (ids and picture aside), its time to the
    /// millisecond: what SQLite keeps of a WARC 1.1 date's microseconds, so a place read
    /// back equals the one an archive gives again.
    public var place: Publication {
        var bare = self
        bare.id = nil
        bare.imageID = 0
        bare.capturedAt = capturedAt.map { Date(timeIntervalSince1970: ($0.timeIntervalSince1970 * 1000).rounded() / 1000) }
        return bare
    }

    /// The publications of these pictures, by picture: pages in address order, then
    /// addresses no page showed (the same order on both engines, whose NULLs sort apart).
    public static func of(images ids: some Sequence<Int64>, in db: any MetadataTransaction) throws -> [Int64: [Publication]] {
        Dictionary(
            grouping: try db.fetchAll(
                Publication.self, "WHERE imageID IN (\(sqlList(ids))) ORDER BY imageID, pageURL IS NULL, pageURL, imageURL, id"),
            by: \.imageID)
    }

    /// Replaces what `recordedFrom` said of a picture with `places` (duplicates
    /// dropped); what another kind of record said stays. Returns whether anything changed.
    @discardableResult
    public static func replace(
        _ places: [Publication], of imageID: Int64, recordedFrom: RecordedFrom, in db: any MetadataTransaction
    ) throws -> Bool {
        let held = try db.fetchAll(Publication.self, "WHERE imageID = ? AND recordedFrom = ?", [.integer(imageID), .text(recordedFrom.rawValue)])
        var wanted: [Publication] = []
        for place in places.map(\.place) where place.recordedFrom == recordedFrom && !wanted.contains(place) { wanted.append(place) }
        guard Set(held.map(\.place)) != Set(wanted) else { return false }
        try db.delete(Publication.self, ids: held.compactMap(\.id))
        for place in wanted {
            var row = place
            row.imageID = imageID
            try db.insert(&row)
        }
        return true
    }

    /// Adds the places not yet held for a picture; returns how many were new.
    @discardableResult
    public static func add(_ places: [Publication], to imageID: Int64, in db: any MetadataTransaction) throws -> Int {
        let held = Set(try db.fetchAll(Publication.self, "WHERE imageID = ?", [.integer(imageID)]).map(\.place))
        var added: Set<Publication> = []
        for place in places.map(\.place) where !held.contains(place) && added.insert(place).inserted {
            var row = place
            row.imageID = imageID
            try db.insert(&row)
        }
        return added.count
    }
}
