import Crypto
import FaceVision
import Foundation
import Gallery
import Index
import Store

extension Governance {

    /// A search's candidates and the account of how they were chosen.
    public struct JustifiedSearch: Sendable, Codable {
        public var result: Gallery.SearchResult
        /// The audit entry that records this search.
        public var auditEntry: Int64
        /// Sources left out by policy, each with the rule that left it out.
        public var excludedSources: [String: String]
        /// Candidates left out because the person opted out.
        public var optedOutFacesWithheld: Int
        /// The least band shown unless the investigator asked for lower ones.
        public var credibleThreshold: CredibleThreshold
        /// Whether the investigator asked to see the candidates below it (logged).
        public var belowThresholdShown: Bool
        /// Candidates among the top asked for that scored below the credible threshold
        /// and are not shown (0 when they were asked for).
        public var belowThresholdNotShown: Int
        /// Every band with its scores at this gallery size: the legend of the results.
        public var bands: [BandRule]
    }

    /// How a search chooses and shows its candidates, beside its justification.
    public struct SearchRequest: Sendable {
        /// Which face of a single photo, numbered from 1 (default: the most prominent).
        public var faceNumber: Int?
        /// The most candidates looked at.
        public var top: Int
        /// Leave out candidates scoring below this, on top of the credible threshold.
        public var minScore: Float?
        /// Also show the candidates below the credible threshold (the audit entry says so).
        public var belowThreshold: Bool

        public init(faceNumber: Int? = nil, top: Int = 10, minScore: Float? = nil, belowThreshold: Bool = false) {
            (self.faceNumber, self.top, self.minScore, self.belowThreshold) = (faceNumber, top, minScore, belowThreshold)
        }
    }

    /// A search by an approved investigator, for a stated case, purpose and legal
    /// basis, within the policy and the rate limits. Faces of opted-out people and of
    /// sources the policy excludes are never candidates. The probe's template and the
    /// photo's hash are kept with the audit entry; the photo itself only for the
    /// configured keeping time (default: not at all).
    public func search(
        as principal: Principal, justification: Justification, photo: [UInt8], pipeline: FacePipeline,
        _ request: SearchRequest = .init()
    ) throws -> JustifiedSearch {
        try search(as: principal, justification: justification, photos: [photo], pipeline: pipeline, request)
    }

    /// Most photos one fused search takes.
    public static let maxProbePhotos = 10

    /// A search with several photos of the same person (`Gallery.Probe.fused`): the
    /// most prominent face of each, their templates averaged. Every photo's hash goes
    /// into the audit entry. A face number picks a face only when there is one photo.
    public func search(
        as principal: Principal, justification: Justification, photos: [[UInt8]], pipeline: FacePipeline,
        _ request: SearchRequest = .init()
    ) throws -> JustifiedSearch {
        guard (1...Self.maxProbePhotos).contains(photos.count) else {
            throw GovernanceError.invalid("search with 1 to \(Self.maxProbePhotos) photos of the same person, not \(photos.count)")
        }
        guard request.faceNumber == nil || photos.count == 1 else {
            throw GovernanceError.invalid(
                "a face of a photo is picked only in a search with one photo; with several, each photo's most prominent face is used")
        }
        let (investigator, decision) = try admitSearch(as: principal, justification: justification, top: request.top)
        let images = try photos.map { photo in try Image(data: photo, limits: pipeline.limits) }
        let probes = try images.map { image in try gallery.probe(image: image, pipeline: pipeline, faceNumber: request.faceNumber) }
        return try search(
            investigator, decision, justification: justification, photos: photos, probe: try Gallery.Probe.fused(probes),
            probeImage: images[0], request)
    }

    /// The same search with the probe already made from `photo` by `Gallery.probe`:
    /// the same checks, policy, rate limits and audit entry (which records the photo's
    /// hash and the template's). For measuring what a search costs beyond detection
    /// and embedding; entry points take the photo.
    public func search(
        as principal: Principal, justification: Justification, photo: [UInt8], probe: Gallery.Probe,
        _ request: SearchRequest = .init()
    ) throws -> JustifiedSearch {
        let (investigator, decision) = try admitSearch(as: principal, justification: justification, top: request.top)
        return try search(
            investigator, decision, justification: justification, photos: [photo], probe: probe,
            probeImage: try? Image(data: photo), request)
    }

    /// Who searches and what the policy leaves out, once the account, the
    /// justification, the policy and the rate limits admit the search (before any work on the photo).
    private func admitSearch(as principal: Principal, justification: Justification, top: Int) throws -> (Principal, PolicyDecision) {
        let investigator = try require(principal, .investigator, for: "searching")
        do {
            try justification.validate()
        } catch {
            // Text the log cannot keep (a control character, too long) is left out of
            // the refusal's entry; the reason says what was wrong with it.
            let keep = if case .unjustified = error { true } else { false }
            try audit(
                investigator, action: .searchRefused, target: "gallery", justification: keep ? justification : nil,
                details: Self.json(["reason": error.description]))
            throw error
        }
        guard (1...1000).contains(top) else { throw GovernanceError.invalid("ask for 1 to 1000 candidates") }
        let decision = try enforce(
            PolicyAct(action: .search, organisation: investigator.organisation, date: now()),
            principal: investigator, target: "gallery", justification: justification)
        try checkRateLimits(investigator, justification: justification)
        let refusal = try database.read { db in
            try caseRefusal(
                number: justification.caseNumber, organisation: investigator.organisation,
                requiredBy: decision.authorisationRequiredBy, in: db)
        }
        if let refusal { try refuseForCase(investigator, refusal, justification: justification) }
        return (investigator, decision)
    }

    /// Logs and throws a case's refusal of a search.
    func refuseForCase(_ investigator: Principal, _ refusal: CaseRefusal, justification: Justification) throws -> Never {
        var details = ["reason": refusal.reason]
        if let rule = refusal.rule { details["rule"] = rule }
        try audit(investigator, action: .searchRefused, target: "gallery", justification: justification, details: Self.json(details))
        throw refusal.error
    }

    private func search(
        _ investigator: Principal, _ decision: PolicyDecision, justification: Justification, photos: [[UInt8]],
        probe: Gallery.Probe, probeImage: Image?, _ request: SearchRequest
    ) throws -> JustifiedSearch {
        let photo = photos[0]
        let (top, minScore) = (request.top, request.minScore)
        let optOuts = try optOutState()
        // Read once: the sources the policy leaves out, and those the audit entry names as searched.
        let sources = try gallery.store.sources()
        let exclusion = SearchExclusion(
            sources: Set(sources.filter { decision.excludedSources[$0.name] != nil }.map { $0.id! }),
            faces: optOuts.faces,
            organisations: decision.ownOrganisationOnly == true ? [investigator.organisation.id!] : nil)
        var result = try gallery.search(probe: probe, top: top, minScore: minScore, calibration: calibration, excluding: exclusion)
        // Defence in depth: a candidate that matches an opt-out is dropped even if it
        // escaped the list made when the opt-out was recorded.
        let suppressions = optOuts.templates
        let templates = suppressions.isEmpty ? [:] : try gallery.store.templates(faceIDs: result.candidates.map(\.faceID))
        let before = result.candidates.count
        result.candidates.removeAll { candidate in
            guard let template = templates[candidate.faceID] else { return false }
            return suppressions.contains { dot($0, template) >= optOutThreshold }
        }
        let withheld =
            before - result.candidates.count
            + optOuts.facesThatWouldRank(
                probe: probe.template.vector, excludedSources: exclusion.sources,
                floor: result.candidates.count >= top ? (result.candidates.last?.score ?? -.infinity) : (minScore ?? -.infinity))
        // Strangers do not fill the screen: what scores below the credible band is
        // counted, and shown only when asked for.
        let threshold = try credibleThreshold(galleryFaces: result.galleryFaces)
        let credible = result.candidates.filter { candidate in
            candidate.band.map { $0.isAtLeast(threshold.band) } ?? true
        }
        let belowNotShown = request.belowThreshold ? 0 : result.candidates.count - credible.count
        if !request.belowThreshold { result.candidates = credible }
        for index in result.candidates.indices { result.candidates[index].rank = index + 1 }

        let keepHours = try database.read { db in Int(try Setting.value(.probeKeepHours, in: db) ?? "0") ?? 0 }
        let keyring = gallery.store.keyring
        let templateBytes = probe.template.vector.withUnsafeBytes { Data($0) }
        // The face searched with, for the second person who verifies a candidate.
        let crop = try probeImage.map { image in
            try keyring.seal(Data(try Gallery.faceCrop(probe.face.box, in: image).jpegData(quality: 90)))
        }
        let referenceDatabase = referenceDatabase(searched: result, among: sources, excluding: exclusion)
        let entry: AuditEntry
        do {
            entry = try database.write { db -> AuditEntry in
                if let refusal = try rateLimitRefusal(investigator, in: db) { throw GovernanceError.rateLimited(refusal) }
                let searchedCase = try caseForSearch(
                    justification.caseNumber, by: investigator, requiredBy: decision.authorisationRequiredBy, in: db)
                var record = ProbeRecord(
                    photoSHA256: Data(SHA256.hash(data: photo)), template: try keyring.seal(templateBytes),
                    photo: keepHours > 0 ? try keyring.seal(Data(photo)) : nil, keyID: keyring.currentKeyID,
                    photoKeptUntil: keepHours > 0 ? now().addingTimeInterval(Double(keepHours) * 3600) : nil,
                    createdAt: now(), caseID: searchedCase.id, crop: crop)
                try db.insert(&record)
                struct Details: Encodable {
                    var faces: [Int64]
                    var scores: [Float]
                    var probe: Int64
                    var photoSHA256: String
                    var templateSHA256: String
                    var excludedSources: [String: String]
                    var optedOutWithheld: Int
                    var top: Int
                    /// Every photo's hash, for a search with several.
                    var photosSHA256: [String]?
                    /// What was searched, as it stood (EU AI Act Art. 12(3)(b)).
                    var referenceDatabase: ReferenceDatabase
                    /// The least band shown, and whether the investigator asked for lower ones.
                    var credibleBand: String
                    var credibleScore: Float
                    var belowThresholdShown: Bool
                    var belowThresholdNotShown: Int

                    // The audit entry's keys, as every entry already logged has them.
                    enum CodingKeys: String, CodingKey {
                        case faces, scores, probe, top
                        case photoSHA256 = "photo_sha256"
                        case templateSHA256 = "template_sha256"
                        case excludedSources = "excluded_sources"
                        case optedOutWithheld = "opted_out_withheld"
                        case photosSHA256 = "photos_sha256"
                        case referenceDatabase = "reference_database"
                        case credibleBand = "credible_band"
                        case credibleScore = "credible_score"
                        case belowThresholdShown = "below_threshold_shown"
                        case belowThresholdNotShown = "below_threshold_not_shown"
                    }
                }
                return try audit(
                    investigator, action: .search, target: "gallery", justification: justification,
                    details: Self.json(
                        Details(
                            faces: result.candidates.map(\.faceID),
                            scores: result.candidates.map(\.score), probe: record.id!,
                            photoSHA256: AuditLog.hex(record.photoSHA256),
                            templateSHA256: AuditLog.hex(Data(SHA256.hash(data: templateBytes))),
                            excludedSources: decision.excludedSources,
                            optedOutWithheld: withheld, top: top,
                            photosSHA256: photos.count > 1 ? photos.map { AuditLog.hex(Data(SHA256.hash(data: $0))) } : nil,
                            referenceDatabase: referenceDatabase, credibleBand: threshold.band.rawValue,
                            credibleScore: threshold.score, belowThresholdShown: request.belowThreshold,
                            belowThresholdNotShown: belowNotShown)),
                    in: db)
            }
        } catch GovernanceError.rateLimited(let refusal) {
            // Another search took the last one while this one ran: nothing of it is kept.
            try refuseRateLimited(investigator, refusal, justification: justification)
        } catch let refusal as CaseRefusal {
            try refuseForCase(investigator, refusal, justification: justification)
        }
        return JustifiedSearch(
            result: result, auditEntry: entry.id!, excludedSources: decision.excludedSources,
            optedOutFacesWithheld: withheld, credibleThreshold: threshold, belowThresholdShown: request.belowThreshold,
            belowThresholdNotShown: belowNotShown, bands: bandRules(comparisons: result.galleryFaces))
    }

    /// Sets how long search photos are kept (hours; 0 keeps none). Admins.
    public func setProbeKeepHours(as principal: Principal, _ hours: Int) throws {
        try requireOperator(principal, .admin, for: "setting how long search photos are kept")
        guard (0...720).contains(hours) else { throw GovernanceError.invalid("keep search photos 0 to 720 hours") }
        try database.write { db in
            try Setting.set(.probeKeepHours, to: String(hours), in: db)
            try audit(principal, action: .settingProbeKeepHours, target: String(hours), in: db)
        }
    }

    /// Refuses a search past the account's or the organisation's searches for this
    /// UTC day, logging the refusal. Asked before the work of a search, and again in
    /// the transaction that records it, so concurrent searches cannot overshoot.
    func checkRateLimits(_ principal: Principal, justification: Justification) throws {
        guard let refusal = try database.read({ db in try rateLimitRefusal(principal, in: db) }) else { return }
        try refuseRateLimited(principal, refusal, justification: justification)
    }

    func rateLimitRefusal(_ principal: Principal, in db: any MetadataTransaction) throws -> String? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.startOfDay(for: now())
        let mine = try AuditEntry.count(of: .search, since: start, actor: principal.name, in: db)
        if mine >= principal.account.searchesPerDay {
            return "\(principal.name) has run \(mine) of \(principal.account.searchesPerDay) searches allowed today"
        }
        let ours = try AuditEntry.count(of: .search, since: start, organisation: principal.organisation.name, in: db)
        if ours >= principal.organisation.searchesPerDay {
            return "\(principal.organisation.name) has run \(ours) of \(principal.organisation.searchesPerDay) searches allowed today"
        }
        return nil
    }

    func refuseRateLimited(_ principal: Principal, _ refusal: String, justification: Justification) throws -> Never {
        try audit(
            principal, action: .searchRefused, target: "gallery", justification: justification,
            details: Self.json(["reason": refusal]))
        throw GovernanceError.rateLimited(refusal)
    }

    /// Changes the searches per day of an organisation (admins) or an account (admins,
    /// or a supervisor of its organisation).
    public func setSearchesPerDay(as principal: Principal, organisation: String? = nil, account: String? = nil, to limit: Int) throws {
        guard limit >= 0 else { throw GovernanceError.invalid("searches per day cannot be negative") }
        try database.write { db in
            if let organisation {
                try requireOperator(principal, .admin, for: "changing an organisation's limit")
                guard var record = try Organisation.named(organisation, in: db) else {
                    throw GovernanceError.notFound("no organisation named '\(organisation)'")
                }
                record.searchesPerDay = limit
                try db.update(record)
                try audit(principal, action: .limitOrganisation, target: organisation, details: Self.json(["searches_per_day": limit]), in: db)
            }
            if let account {
                let actor = try require(principal, .admin, .supervisor, for: "changing an account's limit")
                var record = try fetchAccount(named: account, in: db)
                if actor.has(.admin) {
                    try requireReach(actor, organisation: record.organisationID, "account \(account)")
                } else if record.organisationID != actor.organisation.id {
                    throw GovernanceError.forbidden("a supervisor changes accounts of their own organisation only")
                }
                record.searchesPerDay = limit
                try db.update(record)
                try audit(principal, action: .limitAccount, target: account, details: Self.json(["searches_per_day": limit]), in: db)
            }
        }
    }

    /// Whether a confirmed or pending opt-out withholds this face.
    func isOptedOut(faceID: Int64) throws -> Bool {
        try database.read { db in try SuppressedFace.isInForce(faceID: faceID, in: db) }
    }
}
