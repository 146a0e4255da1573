import Foundation
import Store

/// Cases and their authorisations: the EU AI Act's rules for post-remote biometric
/// identification (Art. 26(10)) as engine rules. A search always names its case; the
/// first search with a number the organisation has not used opens it. Where a policy
/// rule of effect `require-authorisation` applies to the organisation (by default, in EU
/// member states), the case's searches go on only while
/// - an authorisation was requested before the first search or at the latest 48 hours
///   after it, and no authorisation was rejected; or
/// - it was granted; or
/// - the case is marked as the initial identification of a potential suspect, with
///   the objective and verifiable facts that make it one written down; or
/// - the 48 hours since the first search have not run out.
/// A rejected authorisation stops the case's searches at once, whatever the policy, and
/// erases what they left: probe templates, photos and crops, and the reviews of their
/// candidates, with a receipt. A closed case takes no more searches.
extension Governance {
    /// How long after a case's first search its authorisation may still be requested.
    public static let authorisationRequestWindow: TimeInterval = 48 * 3600

    /// A case and where it stands.
    public struct CaseStatus: Sendable, Codable, Equatable {
        public var number: String
        public var organisation: String
        public var openedAt: Date
        public var openedBy: String
        public var firstSearchAt: Date?
        public var closedAt: Date?
        public var closedBy: String?
        public var initialIdentificationFacts: String?
        public var authorisations: [CaseAuthorisation]
        /// The policy rule that asks this case for an authorisation, nil when none does.
        public var authorisationRequiredBy: String?
        /// When the searches stop without a recorded request (first search + 48 hours).
        public var requestDeadline: Date?
        /// Whether a search for this case would be admitted now, and if not why.
        public var searchesAllowed: Bool
        public var refusal: String?

        enum CodingKeys: String, CodingKey {
            case number, organisation, authorisations, refusal
            case openedAt = "opened_at"
            case openedBy = "opened_by"
            case firstSearchAt = "first_search_at"
            case closedAt = "closed_at"
            case closedBy = "closed_by"
            case initialIdentificationFacts = "initial_identification_facts"
            case authorisationRequiredBy = "authorisation_required_by"
            case requestDeadline = "request_deadline"
            case searchesAllowed = "searches_allowed"
        }
    }

    /// Why a case's search is refused, and the rule that refuses it (nil: the case's own state).
    struct CaseRefusal: Error {
        var rule: String?
        var reason: String

        var error: GovernanceError {
            if let rule { .deniedByPolicy(rule: rule, reason: reason) } else { .forbidden(reason) }
        }
    }

    /// Opens a case before its first search (investigators and supervisors), so that an
    /// authorisation can be requested before anything is searched.
    public func openCase(as principal: Principal, number rawNumber: String) throws -> CaseStatus {
        let number = try TextRule.caseNumber.check(rawNumber)
        let actor = try require(principal, .investigator, .supervisor, for: "opening a case")
        return try database.write { db in
            guard try InvestigationCase.numbered(number, organisation: actor.organisation.id!, in: db) == nil else {
                throw GovernanceError.invalid("\(actor.organisation.name) already has a case \(number)")
            }
            let opened = try openCase(number, by: actor, in: db)
            try audit(actor, action: .caseOpen, target: "case \(number)", caseNumber: number, in: db)
            return try status(of: opened, organisation: actor.organisation, in: db)
        }
    }

    /// A case of the principal's organisation (anyone of it who works on cases, its
    /// auditors, admins; the operator's auditors and admins for any organisation's).
    public func caseStatus(as principal: Principal, number rawNumber: String, organisation: String? = nil) throws -> CaseStatus {
        let reader = try require(principal, roles: Role.allCases, for: "reading a case")
        let (found, owner) = try readableCase(as: reader, number: rawNumber, organisation: organisation)
        return try database.read { db in try status(of: found, organisation: owner, in: db) }
    }

    /// Records the request for an authorisation (investigators and supervisors of the
    /// organisation); opens the case if no search has yet.
    public func requestAuthorisation(
        as principal: Principal, case rawNumber: String, authorityKind: CaseAuthorisation.AuthorityKind,
        authority rawAuthority: String, reference rawReference: String, scope rawScope: String
    ) throws -> CaseStatus {
        let number = try TextRule.caseNumber.check(rawNumber)
        let authority = try TextRule.authority.check(rawAuthority)
        let reference = try TextRule.reference.named("reference").check(rawReference)
        let scope = try TextRule.scope.check(rawScope)
        let actor = try require(principal, .investigator, .supervisor, for: "requesting an authorisation")
        return try database.write { db in
            let existing = try InvestigationCase.numbered(number, organisation: actor.organisation.id!, in: db)
            let found = try existing ?? openCase(number, by: actor, in: db)
            let earlier = try authorisations(of: found.id!, in: db)
            if let stopped = earlier.first(where: { $0.status == .rejected }) {
                throw GovernanceError.forbidden(
                    "case \(number)'s authorisation \(stopped.reference) was rejected; the case stays stopped (open a new case)")
            }
            if let pending = earlier.first(where: { $0.status != .rejected }) {
                throw GovernanceError.invalid(
                    "case \(number) already has authorisation \(pending.reference) (\(pending.status.rawValue)); record its decision instead")
            }
            guard found.closedAt == nil else { throw GovernanceError.invalid("case \(number) is closed") }
            var request = CaseAuthorisation(
                caseID: found.id!, authorityKind: authorityKind, authority: authority, reference: reference, scope: scope,
                requestedAt: now(), requestedBy: actor.name)
            try db.insert(&request)
            try audit(
                actor, action: .caseAuthorisationRequest, target: "case \(number)", caseNumber: number,
                details: Self.json([
                    "authority": authority, "authority_kind": authorityKind.rawValue, "reference": reference, "scope": scope,
                    "late": String(isLate(request, of: found)),
                ]), in: db)
            return try status(of: found, organisation: actor.organisation, in: db)
        }
    }

    /// Records the authority's decision on a case's requested authorisation
    /// (supervisors of the organisation). A rejection stops the case's searches and
    /// erases their probes (templates, photos, crops) and their candidates' reviews, in
    /// the same transaction, with a receipt; other cases keep theirs.
    public func recordAuthorisationDecision(
        as principal: Principal, case rawNumber: String, granted: Bool, decidedOn rawDay: String
    ) throws -> (status: CaseStatus, receipt: ErasureReceipt?) {
        let number = try TextRule.caseNumber.check(rawNumber)
        let day = try TextRule.code.named("decided_on").check(rawDay)
        guard let decided = PolicyRule.day(day) else { throw GovernanceError.badInput("decided_on '\(day)' is not a day YYYY-MM-DD") }
        guard decided <= now() else { throw GovernanceError.invalid("decided_on \(day) is in the future: record a decision once it is made") }
        let actor = try require(principal, .supervisor, for: "recording an authorisation's decision")
        return try database.write { db in
            guard let found = try InvestigationCase.numbered(number, organisation: actor.organisation.id!, in: db) else {
                throw GovernanceError.notFound("\(actor.organisation.name) has no case \(number)")
            }
            guard var request = try authorisations(of: found.id!, in: db).first(where: { $0.status == .requested }) else {
                throw GovernanceError.invalid("case \(number) has no authorisation awaiting a decision")
            }
            request.status = granted ? .granted : .rejected
            request.decidedOn = day
            request.decidedAt = now()
            request.decidedBy = actor.name
            var receipt: ErasureReceipt?
            if !granted { receipt = try eraseSearchData(of: found, rejected: request, by: actor, in: db) }
            request.erasureReceipt = receipt?.reference
            try db.update(request)
            try audit(
                actor, action: granted ? .caseAuthorisationGrant : .caseAuthorisationReject, target: "case \(number)",
                caseNumber: number,
                details: Self.json(["reference": request.reference, "decided_on": day, "receipt": receipt?.reference ?? ""]), in: db)
            return (try status(of: found, organisation: actor.organisation, in: db), receipt)
        }
    }

    /// Marks a case as the initial identification of a potential suspect, based on the
    /// objective and verifiable facts directly linked to the offence that `facts` states
    /// (investigators and supervisors of the organisation): no authorisation is then needed.
    public func markInitialIdentification(as principal: Principal, case rawNumber: String, facts rawFacts: String) throws -> CaseStatus {
        let number = try TextRule.caseNumber.check(rawNumber)
        let facts = try TextRule.facts.check(rawFacts)
        let actor = try require(principal, .investigator, .supervisor, for: "marking a case as an initial identification")
        return try database.write { db in
            var found = try InvestigationCase.numbered(number, organisation: actor.organisation.id!, in: db) ?? openCase(number, by: actor, in: db)
            guard found.closedAt == nil else { throw GovernanceError.invalid("case \(number) is closed") }
            if let rejected = try authorisations(of: found.id!, in: db).first(where: { $0.status == .rejected }) {
                throw GovernanceError.forbidden(
                    "case \(number)'s authorisation \(rejected.reference) was rejected; marking it an initial identification cannot undo that")
            }
            found.initialIdentificationFacts = facts
            found.initialIdentificationBy = actor.name
            try db.update(found)
            try audit(
                actor, action: .caseInitialIdentification, target: "case \(number)", caseNumber: number,
                details: Self.json(["facts": facts]), in: db)
            return try status(of: found, organisation: actor.organisation, in: db)
        }
    }

    /// Closes a case (investigators and supervisors of the organisation): its use ends,
    /// no search names it again, and the probe faces kept for verification are dropped
    /// (the photos' hashes and sealed templates stay for the case log).
    public func closeCase(as principal: Principal, case rawNumber: String) throws -> CaseStatus {
        let number = try TextRule.caseNumber.check(rawNumber)
        let actor = try require(principal, .investigator, .supervisor, for: "closing a case")
        return try database.write { db in
            guard var found = try InvestigationCase.numbered(number, organisation: actor.organisation.id!, in: db) else {
                throw GovernanceError.notFound("\(actor.organisation.name) has no case \(number)")
            }
            guard found.closedAt == nil else { throw GovernanceError.invalid("case \(number) is already closed") }
            found.closedAt = now()
            found.closedBy = actor.name
            try db.update(found)
            let dropped = try ProbeRecord.dropCrops(ofCase: found.id!, in: db)
            try audit(
                actor, action: .caseClose, target: "case \(number)", caseNumber: number,
                details: Self.json(["probe_faces_dropped": dropped]), in: db)
            return try status(of: found, organisation: actor.organisation, in: db)
        }
    }

    // MARK: - The rules

    /// Why a search for `number` by the organisation would be refused now, nil when it
    /// would not; `requiredBy` is the policy rule that asks for an authorisation.
    func caseRefusal(number: String, organisation: Organisation, requiredBy: String?, in db: any MetadataTransaction) throws -> CaseRefusal? {
        guard let found = try InvestigationCase.numbered(number, organisation: organisation.id!, in: db) else { return nil }
        return try caseRefusal(found, requiredBy: requiredBy, in: db)
    }

    /// `caseRefusal` for a case in hand, its authorisations read.
    func caseRefusal(_ found: InvestigationCase, requiredBy: String?, in db: any MetadataTransaction) throws -> CaseRefusal? {
        caseRefusal(found, authorisations: try authorisations(of: found.id!, in: db), requiredBy: requiredBy)
    }

    func caseRefusal(_ found: InvestigationCase, authorisations: [CaseAuthorisation], requiredBy: String?) -> CaseRefusal? {
        if let closed = found.closedAt {
            return CaseRefusal(
                rule: nil,
                reason:
                    "case \(found.number) was closed on \(closed.formatted(.iso8601)) by \(found.closedBy ?? "?"); a closed case takes no more searches"
            )
        }
        if let rejected = authorisations.first(where: { $0.status == .rejected }) {
            return CaseRefusal(
                rule: nil,
                reason: "case \(found.number)'s authorisation \(rejected.reference) was rejected on \(rejected.decidedOn ?? "?"); "
                    + "its searches stopped and their data were erased (receipt \(rejected.erasureReceipt ?? "?"))")
        }
        guard let rule = requiredBy, found.initialIdentificationFacts == nil,
            !authorisations.contains(where: { $0.status == .granted }),
            let first = found.firstSearchAt
        else { return nil }
        let deadline = first.addingTimeInterval(Self.authorisationRequestWindow)
        if let request = authorisations.first(where: { $0.status == .requested }) {
            guard isLate(request, of: found) else { return nil }
            return CaseRefusal(
                rule: rule,
                reason: "case \(found.number)'s authorisation \(request.reference) was requested after the 48 hours from its first "
                    + "search (\(first.formatted(.iso8601))) ran out; its searches wait until the authority grants it (EU AI Act Art. 26(10))")
        }
        guard now() >= deadline else { return nil }
        return CaseRefusal(
            rule: rule,
            reason: "case \(found.number) has no authorisation request recorded 48 hours after its first search "
                + "(\(first.formatted(.iso8601))), as EU AI Act Art. 26(10) asks; record the request to the judicial or "
                + "administrative authority, or mark the case as an initial identification of a potential suspect with its facts")
    }

    /// Whether a request came after the 48 hours from the case's first search.
    func isLate(_ request: CaseAuthorisation, of found: InvestigationCase) -> Bool {
        guard let first = found.firstSearchAt else { return false }
        return request.requestedAt > first.addingTimeInterval(Self.authorisationRequestWindow)
    }

    /// The organisation's case `number` for a search about to be recorded: opened by it
    /// if new, its first search stamped; refused (inside the transaction that records
    /// the search, so no concurrent act slips between) when the rules say so.
    func caseForSearch(
        _ number: String, by investigator: Principal, requiredBy: String?, in db: any MetadataTransaction
    ) throws -> InvestigationCase {
        var found =
            try InvestigationCase.numbered(number, organisation: investigator.organisation.id!, in: db)
            ?? openCase(number, by: investigator, in: db)
        if let refusal = try caseRefusal(found, requiredBy: requiredBy, in: db) { throw refusal }
        if found.firstSearchAt == nil {
            found.firstSearchAt = now()
            try db.update(found)
        }
        return found
    }

    func openCase(_ number: String, by actor: Principal, in db: any MetadataTransaction) throws -> InvestigationCase {
        var opened = InvestigationCase(organisationID: actor.organisation.id!, number: number, openedAt: now(), openedBy: actor.name)
        try db.insert(&opened)
        return opened
    }

    func authorisations(of caseID: Int64, in db: any MetadataTransaction) throws -> [CaseAuthorisation] {
        try db.fetchAll(CaseAuthorisation.self, "WHERE caseID = ? ORDER BY id", [.integer(caseID)])
    }

    func status(of found: InvestigationCase, organisation: Organisation, in db: any MetadataTransaction) throws -> CaseStatus {
        let requiredBy = try policy(in: db).decide(PolicyAct(action: .search, organisation: organisation, date: now()))
            .authorisationRequiredBy
        let authorisations = try authorisations(of: found.id!, in: db)
        let refusal = caseRefusal(found, authorisations: authorisations, requiredBy: requiredBy)
        return CaseStatus(
            number: found.number, organisation: organisation.name, openedAt: found.openedAt, openedBy: found.openedBy,
            firstSearchAt: found.firstSearchAt, closedAt: found.closedAt, closedBy: found.closedBy,
            initialIdentificationFacts: found.initialIdentificationFacts, authorisations: authorisations,
            authorisationRequiredBy: requiredBy,
            requestDeadline: requiredBy == nil ? nil : found.firstSearchAt?.addingTimeInterval(Self.authorisationRequestWindow),
            searchesAllowed: refusal == nil, refusal: refusal?.reason)
    }

    /// The case `number` of the reader's organisation (or of `organisation`, for the
    /// operator's auditors and admins), for reading; `reader` is a principal the caller
    /// has just required (`require`), with the roles its act needs.
    func readableCase(as reader: Principal, number rawNumber: String, organisation rawOrganisation: String?) throws
        -> (InvestigationCase, Organisation)
    {
        let number = try TextRule.caseNumber.check(rawNumber)
        let organisationName = try TextRule.organisationName.check(rawOrganisation)
        return try database.read { db in
            var owner = reader.organisation
            if let organisationName, organisationName != owner.name {
                guard let named = try Organisation.named(organisationName, in: db) else {
                    throw GovernanceError.notFound("no organisation named '\(organisationName)'")
                }
                guard reader.isOperator, reader.has(.auditor) || reader.has(.admin) else {
                    throw GovernanceError.forbidden("the cases of \(organisationName) are read by its own people and the operator's auditors")
                }
                owner = named
            }
            guard let found = try InvestigationCase.numbered(number, organisation: owner.id!, in: db) else {
                throw GovernanceError.notFound("\(owner.name) has no case \(number)")
            }
            return (found, owner)
        }
    }

    /// After a restore that keeps the gallery's audit log: the cases whose authorisation
    /// the log records as rejected lose again what a backup made before the rejection
    /// brought back (their probes and reviews), and their authorisation reads rejected,
    /// so no copy outlives a rejection. Returns the cases, as "organisation/number".
    func reapplyCaseRejections(in db: any MetadataTransaction) throws -> [String] {
        struct Details: Decodable {
            var reference: String
            var decidedOn: String?
            var receipt: String?

            enum CodingKeys: String, CodingKey {
                case reference, receipt
                case decidedOn = "decided_on"
            }
        }
        var reapplied: [String] = []
        for entry in try db.fetchAll(AuditEntry.self, "WHERE action = ? ORDER BY id", [.text(AuditAction.caseAuthorisationReject.rawValue)]) {
            guard let number = entry.caseNumber, let name = entry.organisation,
                let organisation = try Organisation.named(name, in: db),
                let found = try InvestigationCase.numbered(number, organisation: organisation.id!, in: db)
            else { continue }
            let details = try? JSONDecoder().decode(Details.self, from: Data(entry.details.utf8))
            let erased = try eraseProbesAndReviews(ofCase: found.id!, in: db)
            var changed = erased.probes + erased.reviews > 0
            if let details, var request = try authorisations(of: found.id!, in: db).first(where: { $0.reference == details.reference }),
                request.status != .rejected
            {
                request.status = .rejected
                request.decidedOn = details.decidedOn
                request.decidedAt = entry.recordedAt
                request.decidedBy = entry.actor
                request.erasureReceipt = details.receipt.flatMap { $0.isEmpty ? nil : $0 }
                try db.update(request)
                changed = true
            }
            if changed { reapplied.append("\(name)/\(number)") }
        }
        return reapplied
    }

    /// Deletes a case's probes (templates, photos, faces) and its candidates' reviews.
    private func eraseProbesAndReviews(ofCase caseID: Int64, in db: any MetadataTransaction) throws -> (probes: Int, reviews: Int) {
        (try ProbeRecord.delete(ofCase: caseID, in: db), try CandidateReview.delete(ofCase: caseID, in: db))
    }

    /// Erases what a case's searches left, for a rejected authorisation: the probes
    /// (sealed templates, photos, faces) and the reviews of their candidates. The audit
    /// entries stay (the chain cannot lose one): they keep hashes, face ids and scores,
    /// the record of the use the Act asks for, and name the receipt.
    private func eraseSearchData(
        of found: InvestigationCase, rejected: CaseAuthorisation, by actor: Principal, in db: any MetadataTransaction
    ) throws -> ErasureReceipt {
        let (probes, reviews) = try eraseProbesAndReviews(ofCase: found.id!, in: db)
        let searches = try AuditEntry.count(of: .search, caseNumber: found.number, organisation: actor.organisation.name, in: db)
        var receipt = ErasureReceipt(
            reference: Self.newReference(prefix: "ER"), scope: "case", target: "case \(found.number) of \(actor.organisation.name)",
            faces: 0, images: probes, files: 0, sources: 0,
            reason: "authorisation \(rejected.reference) rejected by \(rejected.authority) on \(rejected.decidedOn ?? "?"): "
                + "the probes of \(searches) searches (templates, photos, faces) and \(reviews) candidate reviews erased",
            erasedAt: now(), erasedBy: actor.name)
        receipt.sha256 = Self.receiptHash(receipt)
        try db.insert(&receipt)
        try audit(
            actor, action: .erase, target: "case \(found.number)", caseNumber: found.number,
            details: Self.json([
                "receipt": receipt.reference, "probes": String(probes), "reviews": String(reviews), "sha256": receipt.sha256,
            ]), in: db)
        return receipt
    }
}
