import Foundation
import Gallery
import Store

extension Governance {
    /// The source an admin may upload files into, checked before anything is written:
    /// an upload puts files into the source's folder, which is more than ingesting what
    /// is already there, so only admins of the organisation that answers for the
    /// source may do it, and only when the policy would let them ingest from it (a
    /// refusal is logged like an ingest refusal).
    public func sourceForUpload(as principal: Principal, source name: String) throws -> Source {
        let admin = try require(principal, .admin, for: "uploading into a source")
        let source = try ownSource(admin, named: name, for: "upload into")
        guard source.root != nil else {
            throw GovernanceError.invalid("source '\(name)' has no root folder to upload into")
        }
        guard source.kind != .webArchive else {
            throw GovernanceError.invalid(
                "source '\(name)' is a web archive: its ingest reads the WARC files under its root, so photos and videos uploaded "
                    + "there would never be read; upload into a folder or upload source")
        }
        _ = try enforce(
            PolicyAct(action: .ingest, organisation: admin.organisation, source: source, date: now()),
            principal: admin, target: "source \(name)")
        return source
    }

    /// Logs that files were written into a source's folder: the ingest that follows
    /// logs what was taken from them, this says where they came from and where they are.
    public func recordUpload(
        as principal: Principal, source name: String, folder: String, files: Int, bytes: Int,
        setAside: Int
    ) throws {
        let admin = try require(principal, .admin, for: "uploading into a source")
        try audit(
            admin, action: .sourceUpload, target: "source \(name)",
            details: Self.json([
                "folder": folder, "files": String(files), "bytes": String(bytes),
                "set_aside": String(setAside),
            ]))
    }
}
