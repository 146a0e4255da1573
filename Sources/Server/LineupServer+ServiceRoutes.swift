import Foundation
import Hummingbird
import NIOCore

extension LineupServer {
    func addServiceRoutes(to api: RouterGroup<BasicRequestContext>) {
        publicRoute(api, .get, "health") { _, _ in
            struct Health: Encodable {
                var status: String
                var model: String
                var faces: Int
                var index: String
            }
            let gallery = governance.gallery
            let faces = try await blocking { try gallery.indexedFaces() }
            return try json(Health(status: "ok", model: gallery.modelID, faces: faces, index: gallery.indexKind.rawValue))
        }
        publicRoute(api, .get, "openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(data: try OpenAPIDocument.json())))
        }
    }
}
