import FaceVision
import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// The EU AI Act's duties for post-remote biometric identification as engine rules:
/// two-person verification (Art. 14(5)), the log of each use (Art. 12(3)), the
/// authorisation of a case's searches (Art. 26(10)), the annual report, the model card
/// (Art. 13) and no scraped sources (Art. 5(1)(e)). On real photos, the clock moved.
@Suite struct EUAIActTests {
    /// A French police force (its cases need authorisations under the default rule), a
    /// British one (they do not), each with investigators and a verifier.
    struct Forces {
        var admin: Principal
        var supervisor: Principal
        var investigator: Principal
        var colleague: Principal
        var verifier: Principal
        var britishInvestigator: Principal
        var britishVerifier: Principal
    }

    static func forces(_ world: GovernedWorld) throws -> Forces {
        let cast = try world.cast()
        let g = world.governance
        _ = try g.addOrganisation(as: cast.admin, name: "Gendarmerie", type: .lawEnforcement, jurisdiction: "FR")
        let supervisor = try g.authenticate(
            token: g.addAccount(as: cast.admin, name: "sup-fr", organisation: "Gendarmerie", roles: [.supervisor]).1.token)
        func investigator(_ name: String, organisation: String, approver: Principal) throws -> Principal {
            let token = try g.addAccount(as: approver, name: name, organisation: organisation, roles: [.investigator]).1.token
            _ = try g.approve(as: approver, account: name)
            return try g.authenticate(token: token)
        }
        let verifier = try investigator("verif-fr", organisation: "Gendarmerie", approver: supervisor)
        _ = try g.grantRole(as: cast.admin, account: "verif-fr", role: .verifier)
        let britishVerifier = try g.authenticate(
            token: g.addAccount(as: cast.admin, name: "verif-gb", organisation: "Met", roles: [.verifier]).1.token)
        return Forces(
            admin: cast.admin, supervisor: supervisor, investigator: try investigator("enq", organisation: "Gendarmerie", approver: supervisor),
            colleague: try investigator("enq2", organisation: "Gendarmerie", approver: supervisor),
            verifier: try g.authenticate(token: g.issueToken(as: verifier, label: "t", days: 1).token),
            britishInvestigator: cast.investigator, britishVerifier: britishVerifier)
    }

    static func search(_ world: GovernedWorld, _ who: Principal, case number: String, _ photo: String = "obama2.jpg") throws
        -> Governance.JustifiedSearch
    {
        try world.governance.search(
            as: who, justification: Justification(caseNumber: number, purpose: "identify a robbery suspect", legalBasis: "CPP art. 230-6"),
            photo: GovernedWorld.photo(photo), pipeline: GovernedWorld.pipeline, .init(top: 4, belowThreshold: true))
    }

    @Test func onlyTwoPeopleMakeAVerifiedLead() throws {
        let world = try GovernedWorld()
        let g = world.governance, people = try Self.forces(world)
        let found = try Self.search(world, people.investigator, case: "FR-2026-1")
        let obama = try #require(found.result.candidates.first { $0.originURI.contains("obama") })
        let biden = try #require(found.result.candidates.first { $0.originURI.contains("biden") })

        // Only the searcher proposes, only faces the search returned.
        #expect(throws: GovernanceError.self) {
            _ = try g.proposeCandidate(as: people.colleague, search: found.auditEntry, face: obama.faceID, reason: "same man")
        }
        #expect(throws: GovernanceError.notFound("search \(found.auditEntry) did not return face 999999")) {
            _ = try g.proposeCandidate(as: people.investigator, search: found.auditEntry, face: 999_999, reason: "same man")
        }
        let proposed = try g.proposeCandidate(
            as: people.investigator, search: found.auditEntry, face: obama.faceID, reason: "same ears and hairline")
        #expect(proposed.state == .possibleMatch)
        #expect(throws: GovernanceError.invalid("face \(obama.faceID) of search \(found.auditEntry) is already proposed")) {
            _ = try g.proposeCandidate(as: people.investigator, search: found.auditEntry, face: obama.faceID, reason: "again")
        }
        let disputed = try g.proposeCandidate(as: people.investigator, search: found.auditEntry, face: biden.faceID, reason: "similar")

        // A possible match is not a lead: nothing is exported yet.
        #expect(try g.verifiedLeads(as: people.investigator, case: "FR-2026-1").isEmpty)

        // No self-verification, even holding the role; no verifier of another
        // organisation; no one without the role.
        _ = try g.grantRole(as: people.admin, account: "enq", role: .verifier)
        let selfVerifier = try g.authenticate(token: g.issueToken(as: people.investigator, label: "v", days: 1).token)
        #expect(try g.verificationQueue(as: selfVerifier).isEmpty, "one's own proposals never queue for oneself")
        #expect(throws: GovernanceError.self) {
            _ = try g.verifyCandidate(as: selfVerifier, review: proposed.review, confirm: true, reason: "mine")
        }
        #expect(throws: GovernanceError.self) {
            _ = try g.verifyCandidate(as: people.britishVerifier, review: proposed.review, confirm: true, reason: "looks right")
        }
        #expect(throws: GovernanceError.self) {
            _ = try g.verifyCandidate(as: people.colleague, review: proposed.review, confirm: true, reason: "looks right")
        }

        // The verifier sees the probe face beside the candidate, not the reason.
        let queue = try g.verificationQueue(as: people.verifier)
        #expect(queue.map(\.review) == [proposed.review, disputed.review])
        #expect(queue.allSatisfy { $0.proposalReason == nil })
        let item = try g.verificationItem(as: people.verifier, review: proposed.review)
        let probeFace = try #require(item.probeFace)
        #expect(probeFace.starts(with: [0xFF, 0xD8]), "the probe face is a JPEG")
        #expect(item.candidate?.faceID == obama.faceID && item.candidate?.originURI == obama.originURI)

        let confirmed = try g.verifyCandidate(as: people.verifier, review: proposed.review, confirm: true, reason: "same person")
        #expect(confirmed.state == .verifiedLead && confirmed.proposalReason == "same ears and hairline")
        #expect(throws: GovernanceError.invalid("review \(proposed.review) is already decided")) {
            _ = try g.verifyCandidate(as: people.verifier, review: proposed.review, confirm: false, reason: "changed my mind")
        }
        let rejected = try g.verifyCandidate(as: people.verifier, review: disputed.review, confirm: false, reason: "different man")
        #expect(rejected.state == .disputed)

        // Only the verified lead leaves; the disagreement stays on record.
        let leads = try g.verifiedLeads(as: people.investigator, case: "FR-2026-1")
        #expect(leads.map(\.review.faceID) == [obama.faceID])
        #expect(leads.first?.candidate?.originURI == obama.originURI)
        #expect(try g.reviews(as: people.supervisor, case: "FR-2026-1").map(\.state) == [.verifiedLead, .disputed])

        // An opted-out face and an erased one can be neither proposed nor verified.
        let other = try Self.search(world, people.investigator, case: "FR-2026-1", "obama.jpg")
        let lookalike = try #require(other.result.candidates.first { $0.originURI.contains("obama") })
        let pending = try g.proposeCandidate(as: people.investigator, search: other.auditEntry, face: lookalike.faceID, reason: "same")
        _ = try g.requestOptOut(photo: GovernedWorld.photo("obama3.jpg"), contact: "b.obama@example.org", pipeline: GovernedWorld.pipeline)
        #expect(throws: GovernanceError.self) {
            _ = try g.verifyCandidate(as: people.verifier, review: pending.review, confirm: true, reason: "same")
        }
        let bidenAgain = try Self.search(world, people.investigator, case: "FR-2026-1", "biden.jpg")
        let bidenFace = try #require(bidenAgain.result.candidates.first).faceID
        let toErase = try g.proposeCandidate(as: people.investigator, search: bidenAgain.auditEntry, face: bidenFace, reason: "him")
        _ = try g.erase(as: people.admin, .faces([bidenFace], scope: "face", label: "\(bidenFace)"), reason: "test erasure")
        #expect(throws: GovernanceError.notFound("face \(bidenFace) is no longer held (erased)")) {
            _ = try g.verifyCandidate(as: people.verifier, review: toErase.review, confirm: true, reason: "him")
        }
    }

    @Test func aCaseWithoutAnAuthorisationRequestStops48HoursAfterItsFirstSearch() throws {
        let world = try GovernedWorld()
        let g = world.governance, people = try Self.forces(world)
        _ = try Self.search(world, people.investigator, case: "FR-2026-2")
        _ = try Self.search(world, people.britishInvestigator, case: "GB-2026-2")
        world.advance(days: 47.0 / 24)
        _ = try Self.search(world, people.investigator, case: "FR-2026-2")
        #expect(try g.caseStatus(as: people.investigator, number: "FR-2026-2").authorisationRequiredBy == "eu-ai-act-authorisation")
        world.advance(days: 2.0 / 24)
        do {
            _ = try Self.search(world, people.investigator, case: "FR-2026-2")
            Issue.record("a search past 48 hours without a request went through")
        } catch GovernanceError.deniedByPolicy(let rule, let reason) {
            #expect(rule == "eu-ai-act-authorisation" && reason.contains("48 hours"))
        }
        let refusal = try g.database.read { db in try db.fetchAll(AuditEntry.self, "ORDER BY id DESC LIMIT 1") }.first
        #expect(refusal?.knownAction == .searchRefused && refusal?.caseNumber == "FR-2026-2")
        #expect(try !g.caseStatus(as: people.investigator, number: "FR-2026-2").searchesAllowed)
        // A jurisdiction the rule does not cover goes on; so does a new case.
        _ = try Self.search(world, people.britishInvestigator, case: "GB-2026-2")
        _ = try Self.search(world, people.investigator, case: "FR-2026-3")

        // A late request does not lift the stop; the grant does.
        _ = try g.requestAuthorisation(
            as: people.investigator, case: "FR-2026-2", authorityKind: .judicial, authority: "Tribunal judiciaire de Lyon",
            reference: "TJ-LY-77", scope: "the robbery of 3 March")
        #expect(throws: GovernanceError.self) { _ = try Self.search(world, people.investigator, case: "FR-2026-2") }
        #expect(throws: GovernanceError.self) {
            _ = try g.recordAuthorisationDecision(as: people.investigator, case: "FR-2026-2", granted: true, decidedOn: "2026-01-01")
        }
        let day = PolicyRule.dayString(world.clock.now())
        _ = try g.recordAuthorisationDecision(as: people.supervisor, case: "FR-2026-2", granted: true, decidedOn: day)
        _ = try Self.search(world, people.investigator, case: "FR-2026-2")

        // A request within the 48 hours keeps the searches going while it is decided.
        _ = try g.requestAuthorisation(
            as: people.investigator, case: "FR-2026-3", authorityKind: .administrative, authority: "CNIL", reference: "A-1",
            scope: "one suspect")
        world.advance(days: 3)
        _ = try Self.search(world, people.investigator, case: "FR-2026-3")

        // The initial identification of a suspect needs none, with its facts written down.
        _ = try Self.search(world, people.investigator, case: "FR-2026-4")
        world.advance(days: 3)
        #expect(throws: GovernanceError.self) { _ = try Self.search(world, people.investigator, case: "FR-2026-4") }
        #expect(throws: GovernanceError.self) {
            _ = try g.markInitialIdentification(as: people.investigator, case: "FR-2026-4", facts: "short")
        }
        _ = try g.markInitialIdentification(
            as: people.investigator, case: "FR-2026-4",
            facts: "the suspect was filmed leaving the bank at 10:42 by its own camera; the photo is that recording's frame")
        _ = try Self.search(world, people.investigator, case: "FR-2026-4")

        // A closed case takes no more searches; a search without a case never ran.
        _ = try g.closeCase(as: people.investigator, case: "FR-2026-4")
        #expect(throws: GovernanceError.self) { _ = try Self.search(world, people.investigator, case: "FR-2026-4") }
        #expect(throws: GovernanceError.unjustified("every search must state a case number")) {
            _ = try Self.search(world, people.investigator, case: " ")
        }
    }

    @Test(arguments: MetadataEngine.available) func aRejectedAuthorisationErasesItsCaseSearchesAndNoOtherCases(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance, people = try Self.forces(world)
        _ = try g.requestAuthorisation(
            as: people.investigator, case: "FR-A", authorityKind: .judicial, authority: "Tribunal judiciaire de Paris",
            reference: "TJ-75-1", scope: "one suspect")
        let rejectedSearch = try Self.search(world, people.investigator, case: "FR-A")
        let keptSearch = try Self.search(world, people.investigator, case: "FR-B")
        let face = try #require(rejectedSearch.result.candidates.first).faceID
        _ = try g.proposeCandidate(as: people.investigator, search: rejectedSearch.auditEntry, face: face, reason: "same")
        _ = try g.proposeCandidate(as: people.investigator, search: keptSearch.auditEntry, face: face, reason: "same")
        let probes = { try g.database.read { db in try db.fetchAll(ProbeRecord.self, "ORDER BY id") } }
        #expect(try probes().count == 2 && probes().allSatisfy { $0.crop != nil })
        let backup = world.folder + "/before-the-rejection.lineup-backup"
        _ = try g.backup(as: people.admin, to: backup)

        let (status, receipt) = try g.recordAuthorisationDecision(
            as: people.supervisor, case: "FR-A", granted: false, decidedOn: PolicyRule.dayString(world.clock.now()))
        let erasure = try #require(receipt)
        #expect(erasure.scope == "case" && erasure.images == 1 && erasure.sha256 == Governance.receiptHash(erasure))
        #expect(status.authorisations.first?.erasureReceipt == erasure.reference && !status.searchesAllowed)
        #expect(try g.receipt(reference: erasure.reference)?.sha256 == erasure.sha256)

        // The case's probe (template, photo, face) and reviews are gone; the other case keeps its own.
        let left = try probes()
        let kept = try g.database.read { db in
            try InvestigationCase.numbered("FR-B", organisation: people.investigator.organisation.id!, in: db)?.id
        }
        #expect(left.count == 1 && left.first?.caseID == kept)
        #expect(try g.reviews(as: people.supervisor, case: "FR-A").isEmpty)
        #expect(try g.reviews(as: people.supervisor, case: "FR-B").count == 1)
        #expect(throws: GovernanceError.self) {
            _ = try g.reviewCandidate(as: people.investigator, search: rejectedSearch.auditEntry, face: face)
        }
        _ = try g.reviewCandidate(as: people.investigator, search: keptSearch.auditEntry, face: face)
        // Its searches stop at once, whatever the policy; and the rejection cannot be undone.
        #expect(throws: GovernanceError.self) { _ = try Self.search(world, people.investigator, case: "FR-A") }
        #expect(throws: GovernanceError.self) {
            _ = try g.markInitialIdentification(
                as: people.investigator, case: "FR-A", facts: "facts written only after the authority said no, which cannot count")
        }
        // The log keeps the use: the search, its hashes and scores, marked erased.
        let log = try g.caseLog(as: people.supervisor, case: "FR-A")
        #expect(log.searches.count == 1 && log.searches[0].erased && log.searches[0].sealedTemplate == nil)
        #expect(log.searches[0].probePhotoSHA256?.count == 64)
        #expect(try AuditLog.verify(g.database).isIntact)

        // A backup made before the rejection brings nothing of the case back.
        _ = try g.restore(as: people.admin, from: backup)
        #expect(try probes().count == 1 && probes().first?.caseID == kept)
        #expect(try g.reviews(as: people.supervisor, case: "FR-A").isEmpty)
        #expect(try g.caseStatus(as: people.supervisor, number: "FR-A").authorisations.map(\.status) == [.rejected])
        #expect(throws: GovernanceError.self) { _ = try Self.search(world, people.investigator, case: "FR-A") }
        #expect(try g.reviews(as: people.supervisor, case: "FR-B").count == 1)
    }

    @Test(arguments: MetadataEngine.available) func theCaseLogRestsOnTheAuditChainAndTheReportCountsWhatHappened(engine: MetadataEngine) throws {
        let world = try GovernedWorld(engine: engine)
        let g = world.governance, people = try Self.forces(world)
        let first = try Self.search(world, people.investigator, case: "FR-LOG")
        world.advance(days: 0.5)
        let second = try Self.search(world, people.investigator, case: "FR-LOG", "obama.jpg")
        let face = try #require(first.result.candidates.first { $0.originURI.contains("obama") }).faceID
        let review = try g.proposeCandidate(as: people.investigator, search: first.auditEntry, face: face, reason: "same man")
        _ = try g.verifyCandidate(as: people.verifier, review: review.review, confirm: true, reason: "agreed")
        _ = try g.verifiedLeads(as: people.investigator, case: "FR-LOG")
        _ = try g.closeCase(as: people.investigator, case: "FR-LOG")

        #expect(throws: GovernanceError.self) { _ = try g.caseLog(as: people.investigator, case: "FR-LOG") }
        #expect(throws: GovernanceError.self) { _ = try g.caseLog(as: people.britishInvestigator, case: "FR-LOG") }
        let log = try g.caseLog(as: people.supervisor, case: "FR-LOG")
        #expect(log.useStartedAt != nil && log.useStartedAt == log.case.firstSearchAt)
        #expect(log.useEndedAt == log.case.closedAt && !log.useOpen && log.useStartedAt! < log.useEndedAt!)
        #expect(log.searches.map(\.auditEntry) == [first.auditEntry, second.auditEntry])
        let database = try #require(log.searches.first?.referenceDatabase)
        #expect(database.sources.map(\.name) == ["portraits"] && database.sources.first?.jurisdiction == "GB")
        #expect(
            database.faces == 4 && database.model == GovernedWorld.pipeline.modelID && database.index == (engine == .cluster ? "shared" : "exact"))
        #expect(database.bandThresholds["strong"]! > database.bandThresholds["possible"]!)
        #expect(log.searches[0].sealedTemplate != nil && log.searches[0].probeTemplateSHA256?.count == 64)
        #expect(log.searches[0].matches.contains { $0.face == face })
        #expect(log.verifiers == ["verif-fr"] && log.proposers == ["enq"])
        #expect(log.reviews.first?.state == .verifiedLead)
        #expect(log.modelCard.model == GovernedWorld.pipeline.modelID)
        // Every entry cited is the chain's own, hash for hash.
        let chain = Dictionary(uniqueKeysWithValues: try g.exportAudit(as: people.admin).map { ($0.id!, AuditLog.hex($0.hash)) })
        #expect(log.auditEntries.allSatisfy { chain[$0.id] == $0.hash })
        let actions = Set(log.auditEntries.map(\.action))
        for action in [AuditAction.search, .reviewPropose, .reviewConfirm, .caseExport, .caseClose] {
            #expect(actions.contains(action.rawValue), "the log cites \(action.rawValue)")
        }

        // The annual report counts what happened, and names no one.
        _ = try g.requestAuthorisation(
            as: people.investigator, case: "FR-R", authorityKind: .judicial, authority: "TJ Paris", reference: "R-1", scope: "one")
        _ = try Self.search(world, people.investigator, case: "FR-R")
        _ = try g.recordAuthorisationDecision(
            as: people.supervisor, case: "FR-R", granted: false, decidedOn: PolicyRule.dayString(world.clock.now()))
        let year = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: world.clock.now()).year!
        let report = try g.annualReport(as: people.admin, year: year)
        let french = try #require(report.organisations.first { $0.organisation == "Gendarmerie" })
        #expect(french.uses == 2 && french.searches == 3 && french.verifiedLeads == 1)
        #expect(french.authorisationsRequested == 1 && french.authorisationsRejected == 1 && french.authorisationsGranted == 0)
        #expect(french.erasures == 1)
        let encoded = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!encoded.contains("enq") && !encoded.contains("FR-LOG") && !encoded.contains("obama"))
        #expect(throws: GovernanceError.self) { _ = try g.annualReport(as: people.investigator, year: year) }
        #expect(throws: GovernanceError.self) { _ = try g.publicAnnualReport(year: year) }
        try g.setTransparencyPage(as: people.admin, published: true)
        #expect(try g.publicAnnualReport(year: year) == report)
    }

    @Test func theModelCardComesFromTheEvaluationOutput() throws {
        let world = try GovernedWorld()
        let card = try world.governance.modelCard()
        let calibration = world.governance.calibration
        #expect(card.model == calibration.modelID && card.verification.dataset == calibration.dataset)
        #expect(card.verification.operatingPoints.map(\.threshold) == calibration.operatingPoints.map(\.threshold))
        #expect(card.verification.operatingPoints.allSatisfy { abs($0.trueMatchRate + $0.falseNonMatchRate - 1) < 1e-12 })
        #expect(card.networks.map(\.licence).allSatisfy { ["MIT", "Apache-2.0"].contains($0) })
        #expect(Set(card.weakConditions.map(\.warning)) == Set(QualityWarning.allCases.map(\.rawValue)))
        #expect(card.bands.map(\.band) == ConfidenceBand.allCases.map(\.rawValue))
        if let figures = card.identification {
            #expect(figures.model == calibration.modelID && figures.rank1 > 0.9)
        } else {
            #expect(card.identificationNote != nil)
        }
    }

    @Test func aSourceStatesHowItsPhotosWereCollectedAndScrapingIsNoChoice() throws {
        let world = try GovernedWorld()
        let g = world.governance
        let cast = try world.cast(ingest: false)
        for prohibited in ["scraping", "web-scraping", "CCTV", "social-media"] {
            do {
                _ = try g.collectionMethod(prohibited)
                Issue.record("\(prohibited) was accepted")
            } catch GovernanceError.badInput(let message) {
                #expect(message.contains("prohibited (EU AI Act Art. 5(1)(e))"))
            }
        }
        #expect(throws: GovernanceError.self) { _ = try g.collectionMethod("whatever") }
        var unstated = world.source(name: "unstated", root: world.folder + "/photos", jurisdiction: "GB")
        unstated.collectionMethod = nil
        #expect(throws: GovernanceError.self) { _ = try g.registerSource(as: cast.admin, unstated) }
        #expect(try g.sources(as: cast.admin).isEmpty, "nothing was registered")

        // A source from before sources stated it takes nothing until its admin states it.
        unstated.organisationID = cast.admin.organisation.id
        _ = try g.gallery.store.addSource(unstated)
        #expect(throws: GovernanceError.self) {
            _ = try g.ingest(as: cast.admin, source: "unstated", paths: [], pipelines: [GovernedWorld.pipeline])
        }
        #expect(throws: GovernanceError.self) { _ = try g.stateCollection(as: cast.admin, source: "unstated", method: "cctv") }
        let stated = try g.stateCollection(as: cast.admin, source: "unstated", method: "court-order")
        #expect(stated.collectionMethod == .courtOrder)
        #expect(throws: GovernanceError.self) { _ = try g.stateCollection(as: cast.admin, source: "unstated", method: "consent") }
        #expect(try g.ingest(as: cast.admin, source: "unstated", paths: [], pipelines: [GovernedWorld.pipeline]).faces == 4)
    }
}
