import Crypto
import Foundation
import GRDB

/// A gallery's records in one file: what `lineup backup` writes and `lineup restore`
/// reads, for either deployment.
///
/// The file is a short header and a SQLite database of every table (an embedded
/// gallery's own file by SQLite's online backup; a cluster's PostgreSQL records copied
/// in one consistent read). It holds the templates sealed, each with its face's own
/// key, and never a key: the keys stay in the key vault, so a face erased after the
/// backup was made cannot be opened from it, and a restore replays that erasure
/// before the gallery opens (see `KeyVault`).
///
/// Layout: the line `LINEUP BACKUP`, one line of JSON (`Header`), then the database,
/// `payloadBytes` long, whose SHA-256 the header gives: a truncated or altered file
/// is found before anything is changed.
public enum GalleryBackup {
    static let magic = Data("LINEUP BACKUP\n".utf8)
    /// The layout this version writes, and the newest it reads.
    public static let format = 1
    static let headerLimit = 64 * 1024

    public struct Header: Codable, Sendable, Equatable {
        public var format: Int
        /// The gallery's id (`GalleryStore.galleryID`): a backup restores only into its own gallery.
        public var gallery: String
        public var createdAt: Date
        /// The engine the records were read from: sqlite or postgresql.
        public var engine: String
        /// The schema's migrations, in order: a backup whose schema has one this
        /// version does not know is from a newer version.
        public var migrations: [String]
        public var faces: Int
        public var receipts: Int
        public var payloadBytes: Int64
        public var payloadSHA256: String
    }

    public enum BackupError: Error, CustomStringConvertible, Equatable {
        case notABackup(String)
        case newerFormat(Int)
        case newerSchema(String)
        case otherGallery(backup: String, gallery: String)
        case truncated(expected: Int64, found: Int64)
        case damaged(String)
        case unusable(String)

        public var description: String {
            switch self {
            case .notABackup(let path): "\(path) is not a Lineup backup (it does not start with the backup header)"
            case .newerFormat(let format):
                "the backup is in layout \(format), made by a newer version of Lineup (this one reads up to \(GalleryBackup.format)): restore it with that version"
            case .newerSchema(let migration):
                "the backup's records have the schema migration '\(migration)', which this version does not know: it was made by a newer version of Lineup; restore it with that version"
            case .otherGallery(let backup, let gallery):
                "the backup is of gallery \(backup), not of this gallery (\(gallery)): a backup restores only into the gallery it was taken from, whose key vault holds its keys"
            case .truncated(let expected, let found):
                "the backup is truncated: its header promises \(expected) bytes of records, the file holds \(found)"
            case .damaged(let what): "the backup is damaged: \(what)"
            case .unusable(let what): "cannot use the backup: \(what)"
            }
        }
    }

    /// Writes a backup of the database file at `payload` (a SQLite gallery database,
    /// complete and closed) to `path`, atomically and readable by its owner only.
    public static func write(payload: String, gallery: String, engine: String, to path: String) throws -> Header {
        // One self-contained file: the WAL written back and the journal mode left as DELETE.
        let records = try DatabaseQueue(path: payload)
        let (faces, receipts, migrations) = try records.inDatabase { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
            return (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM face") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM erasureReceipt") ?? 0,
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            )
        }
        try records.close()
        let size = try (FileManager.default.attributesOfItem(atPath: payload)[.size] as? NSNumber)?.int64Value ?? 0
        var header = Header(
            format: format, gallery: gallery, createdAt: Date(), engine: engine,
            migrations: SQLiteMetadataStore.migrationNames.filter(Set(migrations).contains), faces: faces, receipts: receipts,
            payloadBytes: size, payloadSHA256: try sha256(ofFile: payload))
        header.createdAt = Date(timeIntervalSince1970: header.createdAt.timeIntervalSince1970.rounded(.down))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: temporary)
        else { throw BackupError.unusable("cannot write \(path)") }
        do {
            defer { try? output.close() }
            try output.write(contentsOf: magic + (try encoder.encode(header)) + Data("\n".utf8))
            guard let input = FileHandle(forReadingAtPath: payload) else { throw BackupError.unusable("cannot read the copy of the records") }
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
            try output.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else { throw BackupError.unusable("cannot move the backup into place at \(path)") }
        return header
    }

    /// Reads a backup's header, checks that it is a backup this version reads, of
    /// `gallery`, whole and unaltered, and writes its database to `extractTo`.
    /// Nothing else is touched, whatever is wrong with it.
    public static func extract(_ path: String, gallery: String, to extractTo: String) throws -> Header {
        guard let input = FileHandle(forReadingAtPath: path) else { throw BackupError.unusable("cannot read \(path)") }
        defer { try? input.close() }
        let start = try input.read(upToCount: headerLimit) ?? Data()
        guard start.starts(with: magic) else { throw BackupError.notABackup(path) }
        guard let end = start[magic.count...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw BackupError.damaged("its header is not complete")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: start[magic.count..<end])
        } catch {
            // A header from a newer layout may not decode as this one; its format still says so.
            struct Format: Decodable { var format: Int }
            if let newer = try? JSONDecoder().decode(Format.self, from: start[magic.count..<end]), newer.format > format {
                throw BackupError.newerFormat(newer.format)
            }
            throw BackupError.damaged("its header is not readable")
        }
        guard header.format <= format else { throw BackupError.newerFormat(header.format) }
        if let unknown = header.migrations.first(where: { !SQLiteMetadataStore.migrationNames.contains($0) }) {
            throw BackupError.newerSchema(unknown)
        }
        guard header.gallery == gallery else { throw BackupError.otherGallery(backup: header.gallery, gallery: gallery) }
        let payloadStart = UInt64(end + 1)
        let size = Int64(try input.seekToEnd()) - Int64(payloadStart)
        guard size >= header.payloadBytes else { throw BackupError.truncated(expected: header.payloadBytes, found: size) }
        guard size == header.payloadBytes else { throw BackupError.damaged("it holds \(size - header.payloadBytes) bytes more than its header says") }
        try input.seek(toOffset: payloadStart)
        guard FileManager.default.createFile(atPath: extractTo, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: extractTo)
        else { throw BackupError.unusable("cannot write \(extractTo)") }
        defer { try? output.close() }
        var hash = SHA256()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(data: chunk)
            try output.write(contentsOf: chunk)
        }
        guard hex(hash.finalize()) == header.payloadSHA256 else {
            throw BackupError.damaged("its records do not match the checksum in its header (altered or corrupted)")
        }
        return header
    }

    static func sha256(ofFile path: String) throws -> String {
        guard let input = FileHandle(forReadingAtPath: path) else { throw BackupError.unusable("cannot read \(path)") }
        defer { try? input.close() }
        var hash = SHA256()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return hex(hash.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}

extension SQLiteMetadataStore {
    /// Copies the database, as one consistent state, into a new file at `path`
    /// (SQLite's online backup: writers wait only for each step).
    public func backup(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw StoreError.invalid("cannot create \(path)")
        }
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        try destination.close()
    }
}
