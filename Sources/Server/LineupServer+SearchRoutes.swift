import FaceVision
import Foundation
import Gallery
import Governance
import Hummingbird
import MultipartKit
import Store

extension LineupServer {
    struct NewSource: Decodable {
        var name: String
        var root: String
        var kind: Source.Kind?
        var legalBasis: Source.LegalBasis
        var specialCategoryCondition: Source.SpecialCategoryCondition
        var jurisdiction: String
        var retentionDays: Int
        var licence: String?
        /// Kept as text, so a prohibited way (scraping) is refused in words of its own.
        var collection: String
    }

    struct IngestRequest: Decodable {
        var paths: [String]?
    }

    /// The faces of a photo, for choosing which one to search with.
    struct Detection: Encodable {
        var width: Int
        var height: Int
        var faces: [DetectedFace]
        /// The face a search uses when none is chosen, numbered from 1 as `face` takes it.
        var mostProminent: Int?
    }

    func addSearchRoutes(to api: RouterGroup<LineupRequestContext>) {
        route(api, .post, "detect") { request, _ in
            struct DetectForm: Decodable { var photo: UploadedFile }
            let photo = try await form(DetectForm.self, from: request, fields: ["photo"]).photo.bytes
            return try json(
                try await faceWork { pipeline in
                    let image = try Image(data: photo, limits: pipeline.limits)
                    let faces = try pipeline.detectProbe(in: image)
                    return Detection(
                        width: image.width, height: image.height, faces: faces,
                        mostProminent: faces.mostProminentIndex(imageWidth: image.width, imageHeight: image.height).map { $0 + 1 })
                })
        }
        route(api, .post, "search") { request, context in
            let principal = try context.authenticated
            // One to `Governance.maxProbePhotos` photos of one person, each a part named
            // `photo` (as a browser sends a file input with `multiple`).
            try multipartBoundary(of: request, fields: ["photo", "case_number", "purpose", "legal_basis"])
            let form = try await WebForm.read(request, limit: configuration.maxUploadBytes)
            let photos = (form.files["photo"] ?? []).map(\.bytes)
            guard !photos.isEmpty else {
                throw APIError(
                    .badRequest, .invalid, "the form needs photo: one to \(Governance.maxProbePhotos) photos of the same person, as files")
            }
            let justification = Justification(
                caseNumber: try form.needed("case_number"), purpose: try form.needed("purpose"),
                legalBasis: try form.needed("legal_basis"))
            let request = Governance.SearchRequest(
                faceNumber: try form.integer("face"), top: try form.integer("top") ?? 10,
                belowThreshold: try form.boolean("below_threshold"))
            let result = try await faceWork { pipeline in
                try governance.search(as: principal, justification: justification, photos: photos, pipeline: pipeline, request)
            }
            return try json(result)
        }
        route(api, .get, "sources") { _, context in
            let principal = try context.authenticated
            return try json(["sources": try await blocking { try governance.sources(as: principal) }])
        }
        route(api, .post, "sources") { request, context in
            let principal = try context.authenticated
            let new = try await request.decode(as: NewSource.self, context: context)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: new.root, isDirectory: &isFolder), isFolder.boolValue else {
                throw APIError(.unprocessableContent, .invalid, "root \(new.root) is not a folder on the server")
            }
            let source = Source(
                name: new.name, kind: new.kind ?? .folder,
                root: URL(fileURLWithPath: new.root).standardizedFileURL.resolvingSymlinksInPath().path,
                legalBasis: new.legalBasis, specialCategoryCondition: new.specialCategoryCondition,
                jurisdiction: new.jurisdiction, retentionDays: new.retentionDays, licenceReference: new.licence,
                createdBy: principal.name, collectionMethod: try governance.collectionMethod(new.collection))
            return try json(try await blocking { try governance.registerSource(as: principal, source) }, status: .created)
        }
        route(api, .post, "sources/{name}/ingest") { request, context in
            let principal = try context.authenticated
            let name = try parameter(context, "name")
            let body = request.headers[.contentLength] == "0" ? IngestRequest() : try await request.decode(as: IngestRequest.self, context: context)
            // Relative paths are taken from the source's root, never the server's working folder.
            let pool = pipelines.ingest
            let summary = try await blocking(on: .ingest, timed: false) {
                try pool.with { pipeline in
                    try governance.ingest(as: principal, source: name, paths: body.paths ?? [], pipelines: [pipeline])
                }
            }
            metrics?.ingestedFaces.increment(by: Int64(summary.faces))
            return try json(summary)
        }
    }
}
