import Foundation
import Hummingbird
import NIOCore

extension LineupServer {
    func addServiceRoutes(to api: RouterGroup<LineupRequestContext>) {
        publicRoute(api, .get, "health") { _, _ in
            struct Health: Encodable {
                var status: String
                var model: String
                var faces: Int
                var index: String
            }
            // Answered on the event loop from what is in memory: health never waits
            // behind searches, ingests or the database. In cluster mode the count is the
            // last one read, refreshed in the background. While the index is still being
            // loaded at start, it says so.
            let gallery = governance.gallery
            let faces = gallery.indexedFacesKnownNow
            let kind = gallery.indexKindKnownNow
            if kind == .shared {
                Task.detached { _ = try? await blocking(timed: false) { try gallery.indexedFaces() } }
            }
            return try json(Health(status: "ok", model: gallery.modelID, faces: faces ?? 0, index: kind?.rawValue ?? "loading"))
        }
        publicRoute(api, .get, "openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(data: try OpenAPIDocument.json())))
        }
    }
}
