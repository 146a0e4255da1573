import Foundation
import Governance
import Hummingbird
import MultipartKit
import Store

extension LineupServer {
    struct PublicRequestForm: Decodable {
        var photo: UploadedFile
        var contact: String
    }

    struct Decision: Decodable {
        var faceId: Int64
        var confirm: Bool
    }

    /// What to erase: exactly one of faces, image, source or jurisdiction, and why.
    struct ErasureOrder: Decodable {
        var faces: [Int64]?
        var image: Int64?
        var source: String?
        var jurisdiction: String?
        var reason: String

        var target: Governance.ErasureTarget? {
            switch (faces, image, source, jurisdiction) {
            case (let faces?, nil, nil, nil): .faces(faces, scope: "face", label: faces.map(String.init).joined(separator: ","))
            case (nil, let image?, nil, nil): .image(image)
            case (nil, nil, let source?, nil): .source(source)
            case (nil, nil, nil, let code?): .jurisdiction(code)
            default: nil
            }
        }
    }

    func addRightsRoutes(to api: RouterGroup<LineupRequestContext>) {
        // Public: one photo and a contact, nothing else.
        for (path, make) in [("opt-outs", Governance.requestOptOut), ("access-requests", Governance.requestAccess)] {
            publicRoute(api, .post, path) { request, context in
                // Admitted before the body is read: a refused client costs nothing.
                let receipt = try await publicRequest(from: context.remoteAddress) {
                    let form = try await form(
                        PublicRequestForm.self, from: request, fields: ["photo", "contact"],
                        limit: configuration.maxPublicBodyBytes)
                    let photo = form.photo.bytes
                    return try await publicFaceWork { pipeline in try make(governance)(photo, form.contact, pipeline) }
                }
                // The reference and status only: how many stored faces matched would tell
                // anyone with someone's photo whether Lineup holds that person.
                return try json(["reference": receipt.reference, "status": receipt.status.rawValue], status: .created)
            }
        }
        publicRoute(api, .get, "requests/{reference}") { _, context in
            let reference = try parameter(context, "reference")
            return try json(["status": try await blocking { try governance.requestStatus(reference: reference) }])
        }
        route(api, .get, "opt-outs") { request, context in
            let principal = try context.authenticated
            struct Listed: Encodable {
                var reference: String
                var status: ReviewStatus
                var contact: String
                var faces: [Int64]
            }
            let listed = try await blocking { try governance.optOuts(as: principal) }
                .map { Listed(reference: $0.0.reference, status: $0.0.status, contact: $0.0.contact, faces: $0.1) }
            return try json(["opt_outs": listed])
        }
        for (verb, confirm) in [("confirm", true), ("reject", false)] {
            route(api, .post, "opt-outs/{reference}/" + verb) { request, context in
                let principal = try context.authenticated
                let reference = try parameter(context, "reference")
                try await blocking { try governance.reviewOptOut(as: principal, reference: reference, confirm: confirm) }
                return try json(["status": try await blocking { try governance.requestStatus(reference: reference) }])
            }
        }
        route(api, .post, "opt-outs/{reference}/erase") { request, context in
            let principal = try context.authenticated
            let reference = try parameter(context, "reference")
            return try json(try await blocking { try governance.eraseOptedOutFaces(as: principal, reference: reference) })
        }
        route(api, .get, "access-requests/{reference}") { request, context in
            let principal = try context.authenticated
            let reference = try parameter(context, "reference")
            let review = try await blocking { try governance.reviewAccess(as: principal, reference: reference) }
            struct Review: Encodable {
                var requesterPhoto: String?
                var candidates: [Governance.AccessCandidateView]
            }
            return try json(Review(requesterPhoto: review.photo?.base64EncodedString(), candidates: review.candidates))
        }
        route(api, .post, "access-requests/{reference}/decisions") { request, context in
            let principal = try context.authenticated
            let reference = try parameter(context, "reference")
            let decision = try await request.decode(as: Decision.self, context: context)
            try await blocking {
                try governance.decideAccess(as: principal, reference: reference, faceID: decision.faceId, confirm: decision.confirm)
            }
            return try json(["face_id": decision.faceId])
        }
        route(api, .post, "access-requests/{reference}/report") { request, context in
            let principal = try context.authenticated
            let reference = try parameter(context, "reference")
            return try json(try await blocking { try governance.releaseAccessReport(as: principal, reference: reference) })
        }
        route(api, .post, "access-requests/{reference}/erase") { request, context in
            let principal = try context.authenticated
            let reference = try parameter(context, "reference")
            return try json(try await blocking { try governance.eraseAccessRequestFaces(as: principal, reference: reference) })
        }
        route(api, .post, "erasures") { request, context in
            let principal = try context.authenticated
            let order = try await request.decode(as: ErasureOrder.self, context: context)
            guard let target = order.target else {
                throw APIError(.badRequest, .invalid, "name exactly one of faces, image, source or jurisdiction")
            }
            return try json(try await blocking { try governance.erase(as: principal, target, reason: order.reason) }, status: .created)
        }
        route(api, .post, "retention/run") { request, context in
            let principal = try context.authenticated
            return try json(["receipts": try await blocking { try governance.runRetention(as: principal) }])
        }
        route(api, .get, "audit/verify") { request, context in
            let principal = try context.authenticated
            return try json(try await blocking { try governance.verifyAudit(as: principal) })
        }
        route(api, .get, "audit/entries") { request, context in
            let principal = try context.authenticated
            let since = try request.uri.queryParameters["since"].map { try day(String($0), field: "since") }
            return try json(["entries": try await blocking { try governance.exportAudit(as: principal, since: since) }])
        }
        route(api, .post, "keys/rotate") { request, context in
            let principal = try context.authenticated
            let result = try await blocking { try governance.rotateKeys(as: principal) }
            return try json(["key_id": result.keyID, "resealed": String(result.resealed)])
        }
    }
}
