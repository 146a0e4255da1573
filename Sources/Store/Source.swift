import Foundation

/// A collection of photos or videos the operator lawfully holds, with the legal
/// facts that make holding faces from it lawful. No source, no ingest: every image
/// and face in Lineup belongs to exactly one source, and erasure, retention and
/// jurisdiction rules work through it.
public struct Source: Codable, Sendable, Equatable, StoredRecord {
    public var id: Int64?
    public var name: String
    public var kind: Kind
    /// The folder the source's files live under; origin paths are relative to it.
    public var root: String?
    public var legalBasis: LegalBasis
    /// The GDPR Art. 9(2) condition that lifts the ban on processing biometric data.
    public var specialCategoryCondition: SpecialCategoryCondition
    /// ISO 3166-1 alpha-2 or ISO 3166-2 code of where the data was collected: `FR`, `US-IL`.
    public var jurisdiction: String
    public var retentionDays: Int
    /// Licence, contract or consent record that covers the material.
    public var licenceReference: String?
    public var createdAt: Date
    public var createdBy: String
    /// The organisation that registered the source and answers for it.
    public var organisationID: Int64?
    /// How the photos were collected. Nil only for a source registered before sources
    /// stated it; such a source takes no more photos until an admin states it.
    public var collectionMethod: CollectionMethod?

    public static let tableName = "source"

    /// Where the files come from. (Earlier versions also had `url-list`, a kind that
    /// could be registered and never ingested, since Lineup fetches nothing from the
    /// web; migration v8 removes such sources, see `urlListRefusal`.)
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case folder, upload, video
        /// WARC files (`.warc`, `.warc.gz`) under the root: the images their records
        /// hold, with the archived pages that showed them.
        case webArchive = "web-archive"
    }

    /// Why a store cannot open while `url-list` sources hold pictures (uploaded into
    /// them): they are named, so that nothing is dropped unseen.
    public static func urlListRefusal(_ held: String) -> String {
        "sources of the removed kind url-list hold pictures: \(held). Lineup fetches nothing from the web and no longer "
            + "has that kind; erase those pictures with the version that stored them (lineup erase), then open the store again"
    }

    /// How a source's photos came to be held. Untargeted scraping of facial images from
    /// the internet or from CCTV footage to build a face database is prohibited (EU AI Act
    /// Art. 5(1)(e)) and is not one of them: Lineup takes no such source.
    public enum CollectionMethod: String, Codable, Sendable, CaseIterable {
        /// Records the operator made in its own work (custody photos, staff badges).
        case ownRecords = "own-records"
        /// Each person photographed agreed, and the agreement is on record.
        case consent
        /// Material obtained under a court order or warrant.
        case courtOrder = "court-order"
        /// A press or picture agency's archive, under its licence.
        case pressArchive = "press-archive"
        /// Web archives (WARC) the operator lawfully holds, made for a purpose of their own.
        case webArchive = "web-archive"
        /// Material licensed from its rights holder for this use.
        case licensed

        /// What people type for the prohibited ways, and why each is refused.
        public static let prohibited: [String: String] = [
            "scraping": "untargeted scraping of facial images",
            "web-scraping": "untargeted scraping of facial images from the internet",
            "internet-scraping": "untargeted scraping of facial images from the internet",
            "social-media": "untargeted scraping of facial images from social networks",
            "cctv": "untargeted scraping of facial images from CCTV footage",
            "cctv-scraping": "untargeted scraping of facial images from CCTV footage",
        ]

        /// The method named `text`, or an error saying why it is not one.
        public static func parse(_ text: String) throws(StoreError) -> CollectionMethod {
            if let method = CollectionMethod(rawValue: text) { return method }
            let choices = allCases.map(\.rawValue).joined(separator: ", ")
            if let what = prohibited[text.lowercased()] {
                throw .invalid(
                    "\(what) to build a face database is prohibited (EU AI Act Art. 5(1)(e)); Lineup takes no such source. "
                        + "A source's photos are collected as one of: \(choices)")
            }
            throw .invalid("'\(text)' is not a collection method; one of: \(choices)")
        }
    }

    /// GDPR Art. 6(1) lawful bases.
    public enum LegalBasis: String, Codable, Sendable, CaseIterable {
        case consent, contract
        case legalObligation = "legal-obligation"
        case vitalInterest = "vital-interest"
        case publicTask = "public-task"
        case legitimateInterest = "legitimate-interest"
    }

    /// GDPR Art. 9(2) conditions, (a) to (j).
    public enum SpecialCategoryCondition: String, Codable, Sendable, CaseIterable {
        case explicitConsent = "explicit-consent"
        case employment
        case vitalInterest = "vital-interest"
        case notForProfit = "not-for-profit"
        case madePublic = "made-public"
        case legalClaims = "legal-claims"
        case substantialPublicInterest = "substantial-public-interest"
        case healthCare = "health-care"
        case publicHealth = "public-health"
        case archivingOrResearch = "archiving-or-research"
    }

    public init(
        name: String, kind: Kind, root: String?, legalBasis: LegalBasis,
        specialCategoryCondition: SpecialCategoryCondition, jurisdiction: String, retentionDays: Int,
        licenceReference: String? = nil, createdAt: Date = Date(), createdBy: String, organisationID: Int64? = nil,
        collectionMethod: CollectionMethod? = nil
    ) {
        self.collectionMethod = collectionMethod
        self.name = name
        self.kind = kind
        self.root = root
        self.legalBasis = legalBasis
        self.specialCategoryCondition = specialCategoryCondition
        self.jurisdiction = jurisdiction
        self.retentionDays = retentionDays
        self.licenceReference = licenceReference
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.organisationID = organisationID
    }

    /// Checks what the database's constraints cannot say in words.
    public func validate() throws(StoreError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("a source needs a name") }
        guard Self.isJurisdictionCode(jurisdiction) else {
            throw .invalid("jurisdiction '\(jurisdiction)' is not an ISO 3166-1 alpha-2 or ISO 3166-2 code such as FR or US-IL")
        }
        guard retentionDays > 0 else { throw .invalid("the retention period must be at least one day") }
    }

    public static func isJurisdictionCode(_ code: String) -> Bool {
        let parts = code.split(separator: "-", omittingEmptySubsequences: false)
        guard let country = parts.first, country.count == 2, country.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            return false
        }
        if parts.count == 1 { return true }
        return parts.count == 2 && (1...3).contains(parts[1].count)
            && parts[1].allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
    }
}
