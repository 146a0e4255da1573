import FaceVision
import Foundation
import Governance
import Hummingbird

/// The public's pages, without an account: an opt-out and an access request each
/// take one photo and a contact address and nothing else, and a request is followed
/// by its unguessable reference.
extension LineupServer {
    /// The two requests a person can make, and what each page says of it.
    enum PublicRequest: String, CaseIterable, Sendable {
        case optOut = "opt-out"
        case access = "access-request"

        var heading: String {
            switch self {
            case .optOut: "Opt out of Lineup"
            case .access: "Ask what Lineup holds about you"
            }
        }

        var explanation: String {
            switch self {
            case .optOut:
                "Send one photo of your face and an address where we can reach you. From the moment you send it, faces like "
                    + "yours are withheld from every search, and faces like yours are never taken in again. We keep a face "
                    + "template (numbers computed from the photo) to recognise you, never the photo itself. A privacy officer "
                    + "reviews the request."
            case .access:
                "Send one photo of your face and an address where we can reach you. Nothing else is asked, there is no limit on "
                    + "how often you may ask, and you need not say why. A privacy officer checks every photo we find before "
                    + "anything is released, so no one else's photo reaches you; your photo is erased once the answer is released."
            }
        }

        /// The Governance call that records the request.
        var record: (Governance) -> ([UInt8], String, FacePipeline) throws -> Governance.RequestReceipt {
            switch self {
            case .optOut: Governance.requestOptOut
            case .access: Governance.requestAccess
            }
        }
    }

    func addPublicPages(to router: Router<LineupRequestContext>) {
        for kind in PublicRequest.allCases {
            page(router, .get, "/" + kind.rawValue) { web in
                render("public-request", PublicRequestPage(kind), for: web)
            }
            page(router, .post, "/" + kind.rawValue) { web in
                let contact = web.form["contact"] ?? ""
                do {
                    let photo = try web.form.file("photo", label: "a photo of your face")
                    guard contact.count >= 3 else { throw APIError(.badRequest, .invalid, "give an address where we can reach you") }
                    let receipt = try await publicRequest(from: web.context.remoteAddress) {
                        try await publicFaceWork { pipeline in try kind.record(governance)(photo, contact, pipeline) }
                    }
                    return render(
                        "request-sent", RequestSentPage(heading: kind.heading, reference: receipt.reference, optOut: kind == .optOut),
                        for: web, status: .created)
                } catch {
                    let apiError = APIError.from(error)
                    guard apiError.status.code < 500 else { throw error }
                    var form = PublicRequestPage(kind)
                    form.error = apiError.message
                    form.contact = contact
                    return render("public-request", form, for: web, status: apiError.status)
                }
            }
        }
        page(router, .get, "/requests") { web in
            guard let reference = web.query("reference")?.trimmingCharacters(in: .whitespaces), !reference.isEmpty else {
                return render("request-status", RequestStatusPage(), for: web)
            }
            do {
                let status = try await blocking { try governance.requestStatus(reference: reference) }
                return render("request-status", RequestStatusPage(reference: reference, status: status.rawValue), for: web)
            } catch let error as GovernanceError {
                return render("request-status", RequestStatusPage(reference: reference, error: error.description), for: web, status: .notFound)
            }
        }
    }
}
