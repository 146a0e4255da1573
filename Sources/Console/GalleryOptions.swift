import ArgumentParser
import FaceVision
import Foundation
import Gallery
import Governance
import Milvus
import PostgresStore
import Store

/// How a deployment keeps its gallery.
public enum DeploymentMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// SQLite and Lineup's own index in the gallery folder: one machine.
    case embedded
    /// PostgreSQL for the records and Milvus for the templates, shared by any number
    /// of `lineup serve` processes (the gallery folder keeps only the keyring).
    case cluster
}

/// What an embedded gallery of a million faces or more is searched with.
public enum LargeGalleryIndex: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Every face's 4-bit codes scanned, the best re-scored: recall that does not
    /// depend on how the templates lie, time that grows with the gallery.
    case scan
    /// A graph walk (HNSW): faster at tens of millions, recall that depends on the data.
    case graph

    public var kind: Gallery.IndexKind { self == .scan ? .scan : .graph }
}

/// The index a new Milvus collection is built with (an existing one keeps its own).
public enum MilvusIndexChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// A graph in the query nodes' memory: the most recall for its effort.
    case hnsw
    /// 8-bit codes in inverted lists: a quarter of HNSW's memory, less recall for the effort.
    case ivfSQ8 = "ivf_sq8"
    /// The graph on the query nodes' local disks, for templates past their memory.
    case diskann

    public var layout: MilvusIndexLayout { MilvusIndexLayout(name: rawValue)! }
}

/// Where the gallery lives, and the keyring its templates are sealed with.
public struct GalleryOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(help: "Gallery folder (default: LINEUP_STORE, or ./lineup-store).")
    public var store: String?

    @Option(
        help:
            "embedded (SQLite and Lineup's index in the gallery folder) or cluster (PostgreSQL and Milvus, shared by every process) (default: LINEUP_MODE, or embedded)."
    )
    public var mode: DeploymentMode?

    @Option(
        help:
            "Cluster mode: the PostgreSQL database, postgres://user[:password]@host:port/database (default: LINEUP_POSTGRES_URL, or postgres://lineup@127.0.0.1:54329/lineup)."
    )
    public var postgresURL: String?

    @Option(help: "Cluster mode: Milvus's address (default: LINEUP_MILVUS_URL, or http://127.0.0.1:19530).")
    public var milvusURL: String?

    @Option(help: "Cluster mode: the Milvus collection (default: LINEUP_MILVUS_COLLECTION, or lineup_ and the model id).")
    public var milvusCollection: String?

    @Option(
        help:
            "Cluster mode: the recall@10 against exact search each Milvus search is given effort for, 0.5 to 0.999 (default: LINEUP_RECALL_TARGET, or 0.95). Higher costs time: see docs/scaling.md."
    )
    public var recallTarget: Double?

    @Option(
        help:
            "Cluster mode: the index a new Milvus collection is built with, hnsw, ivf_sq8 or diskann (default: LINEUP_MILVUS_INDEX, or hnsw); an existing collection keeps its own."
    )
    public var milvusIndex: MilvusIndexChoice?

    @Option(
        help:
            "Template keyring file (default: LINEUP_KEYRING_FILE, the keyring JSON in LINEUP_KEYRING, or keyring.json in the gallery folder, made on first use)."
    )
    public var keyring: String?

    @Option(
        help:
            "The key vault holding each face's own key (default: LINEUP_KEY_VAULT, or keys.sqlite beside the keyring file). Never restore it from a copy: see README, Backups and erasure."
    )
    public var keyVault: String?

    /// The key vault asked for by option or environment; nil: beside the keyring.
    public var keyVaultPath: String? { keyVault ?? environment("LINEUP_KEY_VAULT") }

    @Option(
        help:
            "Embedded mode: what a gallery of a million faces or more is searched with, scan or graph (default: LINEUP_LARGE_INDEX, or scan). Every process opening the gallery should use the same."
    )
    public var largeIndex: LargeGalleryIndex?

    public var directory: String { store ?? environment("LINEUP_STORE") ?? "lineup-store" }

    /// The large-gallery index asked for, by option or environment.
    public func largeGalleryIndex() throws -> LargeGalleryIndex {
        try largeIndex ?? Self.choice(named: "LINEUP_LARGE_INDEX", default: .scan)
    }

    /// A choice of `T`'s values from the environment variable `variable`, or `fallback`
    /// when it is unset; a value that names none is refused, listing the choices.
    static func choice<T: RawRepresentable & CaseIterable>(named variable: String, default fallback: T) throws -> T
    where T.RawValue == String {
        guard let name = environment(variable) else { return fallback }
        guard let value = T(rawValue: name) else {
            throw ValidationError("\(variable) is '\(name)': it is " + T.allCases.map(\.rawValue).joined(separator: " or "))
        }
        return value
    }

    /// Opens the gallery for the model the pipeline options select.
    /// `rebuildingIndex`: cluster mode's collection is not opened (nor its layout
    /// checked), because it is about to be made again.
    /// `restoring`: a database lost and made again may open with the key vault's
    /// gallery id, to be restored from a backup (see `lineup restore`).
    /// `retemplating`: opened to make its templates again as the pipeline options'
    /// model (see `lineup retemplate`).
    public func open(
        _ pipelineOptions: PipelineOptions, rebuildingIndex: Bool = false, restoring: Bool = false, retemplating: Bool = false
    ) throws -> Gallery {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let keys: TemplateKeyring
        if keyring == nil, environment("LINEUP_KEYRING_FILE") == nil, let json = environment("LINEUP_KEYRING") {
            keys = try TemplateKeyring.parse(Data(json.utf8), path: nil)
        } else {
            keys = try TemplateKeyring.openOrCreate(path: keyring ?? environment("LINEUP_KEYRING_FILE") ?? directory + "/keyring.json")
        }
        switch try deploymentMode() {
        case .embedded:
            return try Gallery(
                directory: directory, modelID: pipelineOptions.modelID, dimension: SFaceEmbedder.templateDimension,
                largeGalleryIndex: try largeGalleryIndex().kind, keyring: keys, keyVault: keyVaultPath, adoptingKeyVault: restoring,
                retemplating: retemplating)
        case .cluster:
            let (database, index) = try clusterEngines(modelID: pipelineOptions.modelID, openIndex: !rebuildingIndex)
            return try Gallery(
                directory: directory, modelID: pipelineOptions.modelID, dimension: SFaceEmbedder.templateDimension,
                keyring: keys, keyVault: keyVaultPath, database: database, sharedIndex: index, adoptingKeyVault: restoring,
                retemplating: retemplating)
        }
    }

    public func deploymentMode() throws -> DeploymentMode {
        try mode ?? Self.choice(named: "LINEUP_MODE", default: .embedded)
    }

    public var postgres: String { postgresURL ?? environment("LINEUP_POSTGRES_URL") ?? "postgres://lineup@127.0.0.1:54329/lineup" }
    public var milvus: String { milvusURL ?? environment("LINEUP_MILVUS_URL") ?? "http://127.0.0.1:19530" }

    /// The recall target asked for, by option or environment, within 0.5…0.999.
    public func recallTargetAsked() throws -> Double {
        let text = recallTarget.map { String($0) } ?? environment("LINEUP_RECALL_TARGET")
        guard let text else { return MilvusSearchEffort.defaultRecallTarget }
        guard let value = Double(text), (0.5...0.999).contains(value) else {
            throw ValidationError("the recall target '\(text)' is not a number from 0.5 to 0.999")
        }
        return value
    }

    /// The cluster's metadata store and the model's collection, opened (made when
    /// missing) unless `openIndex` is false.
    public func clusterEngines(modelID: String, openIndex: Bool = true) throws -> (PostgresMetadataStore, MilvusIndex) {
        let index = try sharedIndex(modelID: modelID)
        let database = try PostgresMetadataStore(url: postgres)
        if openIndex { try index.open() }
        return (database, index)
    }

    /// The model's Milvus collection as the options name it, not opened.
    public func sharedIndex(modelID: String) throws -> MilvusIndex {
        guard let url = URL(string: milvus), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("the Milvus address '\(milvus)' is not an http(s) URL")
        }
        let collection = milvusCollection ?? environment("LINEUP_MILVUS_COLLECTION")
        if let collection,
            collection.isEmpty || collection.count > 255
                || !collection.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) || collection.first!.isNumber
        {
            throw ValidationError("the Milvus collection '\(collection)' is not a name of letters, digits and _ starting with a letter or _")
        }
        return MilvusIndex(
            client: try MilvusClient(address: url), modelID: modelID, dimension: SFaceEmbedder.templateDimension,
            collection: collection, layout: try (milvusIndex ?? Self.choice(named: "LINEUP_MILVUS_INDEX", default: MilvusIndexChoice.hnsw)).layout,
            recallTarget: try recallTargetAsked())
    }

    /// The gallery under its rules.
    public func governance(
        _ pipelineOptions: PipelineOptions, rebuildingIndex: Bool = false, restoring: Bool = false, retemplating: Bool = false
    ) throws -> Governance {
        try Governance(
            gallery: open(pipelineOptions, rebuildingIndex: rebuildingIndex, restoring: restoring, retemplating: retemplating),
            now: governanceClock())
    }
}

/// The engine's clock. Debug builds only: `LINEUP_TEST_CLOCK_HOURS` moves it forward by
/// that many hours, so a scenario test can reach a deadline (a case's 48 hours) through
/// the real command line; release builds have no such switch and read the system clock.
public func governanceClock() -> @Sendable () -> Date {
    #if DEBUG
        if let hours = environment("LINEUP_TEST_CLOCK_HOURS").flatMap(Double.init) {
            return { Date().addingTimeInterval(hours * 3600) }
        }
    #endif
    return Date.init
}

/// Who is acting: the account behind an API token.
public struct AccountOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(help: "API token of the account acting (default: LINEUP_TOKEN).")
    public var token: String?

    public func principal(_ governance: Governance) throws -> Principal {
        guard let token = token ?? environment("LINEUP_TOKEN") else {
            throw ValidationError(
                "this command acts as an account: give --token or set LINEUP_TOKEN "
                    + "(a fresh store starts with 'lineup bootstrap')")
        }
        return try governance.authenticate(token: token)
    }
}

/// Everything a governed command needs: the pipeline, the gallery and the acting account.
public struct GovernedOptions: ParsableArguments, Sendable {
    public init() {}

    @OptionGroup public var pipelineOptions: PipelineOptions
    @OptionGroup public var galleryOptions: GalleryOptions
    @OptionGroup public var accountOptions: AccountOptions
    @OptionGroup public var outputOptions: OutputOptions

    public func open(rebuildingIndex: Bool = false, retemplating: Bool = false) throws -> (Governance, Principal) {
        let governance = try galleryOptions.governance(pipelineOptions, rebuildingIndex: rebuildingIndex, retemplating: retemplating)
        return (governance, try accountOptions.principal(governance))
    }
}

public func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

/// A photo's bytes, with the path in the error when it cannot be read.
public func readPhoto(_ path: String, limits: ImageLimits) throws -> [UInt8] {
    try Image.readFile(path, limits: limits)
}

/// A day given as YYYY-MM-DD (midnight UTC), or a usage error naming the option.
public func parseDay(_ text: String, option: String) throws -> Date {
    guard let day = PolicyRule.day(text) else { throw ValidationError("\(option) \(text) is not a date YYYY-MM-DD") }
    return day
}
