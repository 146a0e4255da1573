import FaceVision
import Foundation
import Store

/// What the deployer tells the public and its users: the annual report of uses (EU AI
/// Act Art. 26(10), last subparagraph) and the instructions for use with the measured
/// accuracy (Art. 13), generated from the project's own evaluation output.
extension Governance {
    /// The model card: every figure in it is read from the evaluation output shipped
    /// with the model (`lineup-bench calibrate`'s calibration, `lineup-bench eval
    /// identification`'s run), none written by hand.
    public struct ModelCard: Sendable, Codable, Equatable {
        public struct OperatingPoint: Sendable, Codable, Equatable {
            public var falseMatchRate: Double
            public var threshold: Float
            public var falseNonMatchRate: Double
            /// 1 − FNMR: the share of same-person pairs that reach the threshold.
            public var trueMatchRate: Double

            enum CodingKeys: String, CodingKey {
                case threshold
                case falseMatchRate = "false_match_rate"
                case falseNonMatchRate = "false_non_match_rate"
                case trueMatchRate = "true_match_rate"
            }
        }

        public struct Verification: Sendable, Codable, Equatable {
            public var dataset: String
            public var identities: Int
            public var images: Int
            public var genuinePairs: Int
            public var impostorPairs: Int
            public var operatingPoints: [OperatingPoint]

            enum CodingKeys: String, CodingKey {
                case dataset, identities, images
                case genuinePairs = "genuine_pairs"
                case impostorPairs = "impostor_pairs"
                case operatingPoints = "operating_points"
            }
        }

        public struct Band: Sendable, Codable, Equatable {
            public var band: String
            /// The largest chance that an unrelated face scores this high in the search, for the band.
            public var maximumFalsePositiveRate: Double
            public var meaning: String

            enum CodingKeys: String, CodingKey {
                case band, meaning
                case maximumFalsePositiveRate = "maximum_false_positive_rate"
            }
        }

        public struct WeakCondition: Sendable, Codable, Equatable {
            public var warning: String
            public var meaning: String
        }

        public var model: String
        /// The evaluation output the card was generated from.
        public var generatedFrom: [String]
        public var networks: [ModelDirectory.Network]
        public var verification: Verification
        /// Nil when no identification run ships with the model; `identificationNote` says so.
        public var identification: IdentificationFigures?
        public var identificationNote: String?
        public var bands: [Band]
        public var bandRule: String
        public var weakConditions: [WeakCondition]
        public var humanOversight: String

        enum CodingKeys: String, CodingKey {
            case model, networks, verification, identification, bands
            case generatedFrom = "generated_from"
            case identificationNote = "identification_note"
            case bandRule = "band_rule"
            case weakConditions = "weak_conditions"
            case humanOversight = "human_oversight"
        }
    }

    /// The card of the gallery's model, from its calibration and identification run.
    public func modelCard() throws -> ModelCard {
        let figures = IdentificationFigures.bundled(for: calibration.modelID)
        let fileName = calibration.modelID.replacingOccurrences(of: "+", with: "-")
        return ModelCard(
            model: calibration.modelID,
            generatedFrom: ["calibration-\(fileName).json (lineup-bench calibrate)"]
                + (figures == nil ? [] : ["identification-\(fileName).json (lineup-bench eval identification --json)"]),
            networks: ModelDirectory.networks.filter { $0.role.hasPrefix("landmarks") == false || calibration.modelID.contains("ensemble") },
            verification: ModelCard.Verification(
                dataset: calibration.dataset, identities: calibration.identities, images: calibration.images,
                genuinePairs: calibration.genuine.count, impostorPairs: calibration.impostor.count,
                operatingPoints: calibration.operatingPoints.map { point in
                    ModelCard.OperatingPoint(
                        falseMatchRate: point.falseMatchRate, threshold: point.threshold, falseNonMatchRate: point.falseNonMatchRate,
                        trueMatchRate: 1 - point.falseNonMatchRate)
                }),
            identification: figures,
            identificationNote: figures == nil ? "no open-set identification run ships with this model: FNIR at FPIR is not measured" : nil,
            bands: ConfidenceBand.allCases.map { band in
                ModelCard.Band(
                    band: band.rawValue, maximumFalsePositiveRate: band.maximumFalsePositiveRate,
                    meaning: band == .belowThreshold
                        ? "an unrelated face would score this high in more than 1 search in 10: not a lead"
                        : "an unrelated face would score this high in at most \(Self.oneIn(band.maximumFalsePositiveRate)) searches of a gallery this size"
                )
            },
            bandRule: "a search's band depends on the gallery size N: the chance that one of N unrelated faces scores as high, "
                + "1 − (1 − FMR(score))^N; a one-to-one comparison uses N = 1",
            weakConditions: QualityWarning.allCases.map { ModelCard.WeakCondition(warning: $0.rawValue, meaning: $0.explanation) },
            humanOversight: "a candidate list ranks strangers for human review; no candidate may be acted on until two people "
                + "have verified it (a verified lead)")
    }

    static func oneIn(_ rate: Double) -> String { "1 in \(Int((1 / rate).rounded()).formatted())" }

    // MARK: - Annual report

    /// One organisation's year, in counts only: no person, case number or face.
    public struct AnnualFigures: Sendable, Codable, Equatable {
        public var organisation: String
        public var jurisdiction: String
        public var type: String
        /// Cases searched in the year.
        public var uses: Int
        public var searches: Int
        public var searchesRefused: Int
        public var verifiedLeads: Int
        public var disputedCandidates: Int
        public var authorisationsRequested: Int
        public var authorisationsGranted: Int
        public var authorisationsRejected: Int
        public var erasures: Int

        enum CodingKeys: String, CodingKey {
            case organisation, jurisdiction, type, uses, searches, erasures
            case searchesRefused = "searches_refused"
            case verifiedLeads = "verified_leads"
            case disputedCandidates = "disputed_candidates"
            case authorisationsRequested = "authorisations_requested"
            case authorisationsGranted = "authorisations_granted"
            case authorisationsRejected = "authorisations_rejected"
        }
    }

    public struct AnnualReport: Sendable, Codable, Equatable {
        public var year: Int
        public var organisations: [AnnualFigures]
        public var modelCardURL: String

        enum CodingKeys: String, CodingKey {
            case year, organisations
            case modelCardURL = "model_card_url"
        }
    }

    /// The annual report (auditors and admins: the operator's see every organisation,
    /// another's their own), counted from the audit log. Logged.
    public func annualReport(as principal: Principal, year: Int) throws -> AnnualReport {
        let reader = try require(principal, .auditor, .admin, for: "reading the annual report")
        let report = try annualReport(year: year, only: reader.isOperator ? nil : reader.organisation.name)
        try audit(reader, action: .reportAnnual, target: String(year))
        return report
    }

    /// The report as the public transparency page shows it, if the operator turned it on.
    public func publicAnnualReport(year: Int) throws -> AnnualReport {
        guard try database.read({ db in try Setting.value(.transparencyPage, in: db) }) == "on" else {
            throw GovernanceError.notFound("the operator does not publish a transparency report")
        }
        return try annualReport(year: year, only: nil)
    }

    /// Turns the public transparency page on or off (the operator's admins).
    public func setTransparencyPage(as principal: Principal, published: Bool) throws {
        try requireOperator(principal, .admin, for: "publishing the transparency report")
        try database.write { db in
            try Setting.set(.transparencyPage, to: published ? "on" : "off", in: db)
            try audit(principal, action: .settingTransparency, target: published ? "on" : "off", in: db)
        }
    }

    private func annualReport(year: Int, only organisation: String?) throws -> AnnualReport {
        guard (2000...2200).contains(year) else { throw GovernanceError.badInput("year \(year) is not one from 2000 to 2200") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: year, month: 1, day: 1))!
        let end = calendar.date(from: DateComponents(year: year + 1, month: 1, day: 1))!
        let actions: [AuditAction] = [
            .search, .searchRefused, .reviewConfirm, .reviewReject, .caseAuthorisationRequest, .caseAuthorisationGrant,
            .caseAuthorisationReject, .erase,
        ]
        return try database.read { db in
            let counts = try AuditEntry.countsByOrganisation(of: actions, from: start, until: end, in: db)
            let uses = try AuditEntry.casesSearchedByOrganisation(from: start, until: end, in: db)
            let organisations = try db.fetchAll(Organisation.self, "ORDER BY name").filter { organisation == nil || $0.name == organisation }
            return AnnualReport(
                year: year,
                organisations: organisations.map { organisation in
                    let count = counts[organisation.name] ?? [:]
                    return AnnualFigures(
                        organisation: organisation.name, jurisdiction: organisation.jurisdiction, type: organisation.type.rawValue,
                        uses: uses[organisation.name] ?? 0, searches: count[.search] ?? 0, searchesRefused: count[.searchRefused] ?? 0,
                        verifiedLeads: count[.reviewConfirm] ?? 0, disputedCandidates: count[.reviewReject] ?? 0,
                        authorisationsRequested: count[.caseAuthorisationRequest] ?? 0,
                        authorisationsGranted: count[.caseAuthorisationGrant] ?? 0,
                        authorisationsRejected: count[.caseAuthorisationReject] ?? 0, erasures: count[.erase] ?? 0)
                },
                modelCardURL: "/model-card")
        }
    }
}
