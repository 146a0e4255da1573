import FaceVision
import Foundation

/// Re-templating: every face's template made again under another model id (another
/// alignment), from the original files, keeping the faces' ids, boxes, provenance and
/// keys. A gallery compares templates of one model only, so while it runs the gallery
/// is neither searched nor added to (`retemplateTarget`); it is resumable because a
/// face done carries the new model id and is never taken again.
extension GalleryStore {
    /// The model id a re-templating under way is making; nil when none is.
    public func retemplateTarget() throws -> String? {
        try database.read { db in try Setting.value(.retemplateTarget, in: db) }
    }

    /// Starts re-templating the gallery's faces to `target`, or resumes the one under
    /// way to it; refused while one to another model is under way. Returns the model
    /// the faces are taken from.
    public func beginRetemplate(to target: String) throws -> String {
        try database.write { db in
            let held = try Setting.value(.templateModel, in: db) ?? target
            if let current = try Setting.value(.retemplateTarget, in: db), current != target {
                throw StoreError.invalid(
                    "this gallery is being re-templated to \(current), not \(target): finish that first (lineup retemplate with the alignment that makes \(current))"
                )
            }
            if held != target { try Setting.set(.retemplateTarget, to: target, in: db) }
            return held
        }
    }

    /// One stored file some of whose faces still carry another model than `target`:
    /// where it is, and each such face with the picture it was found in.
    public struct FileToRetemplate: Sendable {
        public var file: SourceFile
        public var source: Source
        public var faces: [(face: GalleryFace, picture: GalleryImage)]
    }

    /// How many files and faces still carry another model id than `target`.
    public func retemplateBacklog(target: String) throws -> (files: Int, faces: Int) {
        try database.read { db in
            let row = try db.row(
                """
                SELECT count(DISTINCT image.fileID), count(*) FROM face JOIN image ON image.id = face.imageID
                WHERE face.modelID != ?
                """, [.text(target)])
            return (Int(try row?[0].int64() ?? 0), Int(try row?[1].int64() ?? 0))
        }
    }

    /// Up to `limit` files after `afterFileID` (in id order) with faces of another
    /// model than `target`, each with those faces. Templates stay sealed: the new ones
    /// replace them.
    public func filesToRetemplate(target: String, afterFileID: Int64, limit: Int) throws -> [FileToRetemplate] {
        try database.read { db in
            let fileIDs = try db.ids(
                """
                SELECT DISTINCT image.fileID FROM face JOIN image ON image.id = face.imageID
                WHERE face.modelID != ? AND image.fileID > ? ORDER BY image.fileID LIMIT \(max(1, limit))
                """, [.text(target), .integer(afterFileID)])
            guard !fileIDs.isEmpty else { return [] }
            let files = try db.fetchAll(SourceFile.self, ids: fileIDs)
            let sources = Dictionary(uniqueKeysWithValues: try db.fetchAll(Source.self).map { ($0.id!, $0) })
            let pictures = try db.fetchAll(GalleryImage.self, "WHERE fileID IN (\(sqlList(fileIDs)))")
            let pictureByID = Dictionary(uniqueKeysWithValues: pictures.map { ($0.id!, $0) })
            let faces = try db.fetchAll(
                GalleryFace.self, "WHERE modelID != ? AND imageID IN (\(sqlList(pictures.compactMap(\.id)))) ORDER BY id",
                [.text(target)])
            var facesOfFile: [Int64: [(face: GalleryFace, picture: GalleryImage)]] = [:]
            for face in faces {
                guard let picture = pictureByID[face.imageID] else { continue }
                facesOfFile[picture.fileID, default: []].append((face, picture))
            }
            return files.sorted { $0.id! < $1.id! }.compactMap { file in
                guard let source = sources[file.sourceID], let faces = facesOfFile[file.id!] else { return nil }
                return FileToRetemplate(file: file, source: source, faces: faces)
            }
        }
    }

    /// Writes faces' new landmarks, quality and templates (given in the clear, of one
    /// model), each sealed with the face's own key, in one transaction. A face erased
    /// meanwhile (its key gone) is passed over. Returns how many were written.
    @discardableResult
    public func replaceTemplates(of faces: [GalleryFace]) throws -> Int {
        guard !faces.isEmpty else { return 0 }
        let opener = try FaceOpener(faces: faces.compactMap(\.id), store: self)
        return try database.write { db in
            var written = 0
            for var face in faces {
                guard let id = face.id, case .clear(let clear) = face.template, let key = opener.key(of: id) else { continue }
                face.template = .sealed(try FaceOpener.seal(clear, with: key), keyID: KeyVault.ownKey)
                guard try db.count(GalleryFace.self, "WHERE id = ?", [.integer(id)]) == 1 else { continue }
                try db.update(face)
                written += 1
            }
            return written
        }
    }

    /// Ends the re-templating once no face carries another model: the gallery's
    /// model becomes the target. Refused, saying how many are left, before.
    public func finishRetemplate() throws -> (from: String, to: String) {
        try database.write { db in
            guard let target = try Setting.value(.retemplateTarget, in: db) else {
                throw StoreError.invalid("no re-templating is under way")
            }
            let left = try db.count(GalleryFace.self, "WHERE modelID != ?", [.text(target)])
            guard left == 0 else {
                throw StoreError.invalid("\(left) faces still carry templates of the earlier model: run lineup retemplate again")
            }
            let from = try Setting.value(.templateModel, in: db) ?? target
            try Setting.set(.templateModel, to: target, in: db)
            try db.execute("DELETE FROM setting WHERE key = ?", [.text(Setting.Key.retemplateTarget.rawValue)])
            return (from, target)
        }
    }
}
