import Foundation
import Store

extension Governance {
    /// One access request as the privacy office's list shows it (see `AccessRequest.Summary`).
    public typealias AccessRequestSummary = AccessRequest.Summary

    /// The access requests (or the one with `reference`), oldest first, with their
    /// candidates counted by decision (privacy officers only). Nothing sealed is opened.
    public func accessRequests(as principal: Principal, reference: String? = nil) throws -> [AccessRequestSummary] {
        try requireOperator(principal, .privacyOfficer, for: "listing access requests")
        return try database.read { db in try AccessRequest.summaries(reference: reference, in: db) }
    }
}
