import FaceVision
import Foundation
import Gallery
import Index
import Store

extension Governance {
    /// Makes every face's template again with `pipelines` (the gallery's new model,
    /// see `Gallery.retemplate`). Operator admins only; each run is logged with what
    /// it did, and the run that finishes says so, with both model ids.
    public func retemplate(
        as principal: Principal, pipelines: [FacePipeline], retiring: (any SharedFaceIndex)? = nil, shouldStop: (@Sendable () -> Bool)? = nil,
        progress: (@Sendable (Gallery.RetemplateProgress) -> Void)? = nil
    ) throws -> Gallery.RetemplateSummary {
        _ = try requireOperator(principal, .admin, for: "re-templating the gallery")
        let summary = try gallery.retemplate(pipelines: pipelines, retiring: retiring, shouldStop: shouldStop, progress: progress)
        try audit(
            principal, action: .retemplate, target: "gallery",
            details: Self.json(
                RetemplateRecord(
                    from: summary.from, to: summary.to, faces: summary.faces, facesLeft: summary.facesLeft,
                    errors: summary.errors.count, finished: summary.finished)))
        return summary
    }
}

/// What the log keeps of a re-templating run.
private struct RetemplateRecord: Encodable {
    var from: String
    var to: String
    var faces: Int
    var facesLeft: Int
    var errors: Int
    var finished: Bool

    enum CodingKeys: String, CodingKey {
        case from, to, faces, errors, finished
        case facesLeft = "faces_left"
    }
}
