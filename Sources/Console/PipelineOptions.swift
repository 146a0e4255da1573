import ArgumentParser
import Evaluation
import FaceVision
import Foundation

extension AlignmentMode: ExpressibleByArgument {}
extension InferenceEngine: ExpressibleByArgument {}

/// Options every command that looks at photos shares.
public struct PipelineOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(help: "Folder with the model files (default: LINEUP_MODELS, or .lineup/models found from here upwards).")
    public var models: String?

    @Flag(inversion: .prefixedNo, help: "Add the template of the mirrored face (more accurate, twice the embedding work).")
    public var flip = true

    @Option(help: "Largest image to decode, in pixels (defence against decompression bombs).")
    public var maxPixels = ImageLimits.default.maxPixels

    @Option(help: "Minimum detector confidence for a face, 0...1.")
    public var detectorThreshold = YuNetDetector.Configuration().scoreThreshold

    @Option(help: "Photos longer than this on their long side are scaled down for detection.")
    public var detectSize = YuNetDetector.Configuration().maxInputSide

    @Option(
        help: ArgumentHelp(
            "How the landmarks that align each face are found: ensemble (most accurate), mirrored or detector (one pass, the templates of earlier versions); default LINEUP_ALIGNMENT or detector.",
            discussion: "A gallery holds templates of one alignment and refuses the others."))
    public var alignment: AlignmentMode?

    @Option(
        help: ArgumentHelp(
            "What runs the networks: openvino (fastest) or opencv (OpenCV's dnn); default LINEUP_ENGINE or openvino.",
            discussion: "Both give the same templates to within rounding."))
    public var engine: InferenceEngine?

    /// The engine asked for, by option or environment, or the default.
    public var inferenceEngine: InferenceEngine {
        get throws {
            try engine ?? GalleryOptions.choice(named: "LINEUP_ENGINE", default: .openVINO)
        }
    }

    /// The alignment asked for, by option or environment, or the default.
    public var alignmentMode: AlignmentMode {
        get throws {
            try alignment ?? GalleryOptions.choice(named: "LINEUP_ALIGNMENT", default: .ingestDefault)
        }
    }

    public func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        guard (0...1).contains(detectorThreshold) else { throw ValidationError("--detector-threshold must be between 0 and 1") }
        guard detectSize >= 32 else { throw ValidationError("--detect-size must be at least 32") }
    }

    public var limits: ImageLimits { ImageLimits(maxPixels: maxPixels) }

    /// The id of the templates these options make.
    public var modelID: String {
        get throws { SFaceEmbedder.modelID(flipAugmentation: flip, alignment: try alignmentMode) }
    }

    public var detectorConfiguration: YuNetDetector.Configuration {
        YuNetDetector.Configuration(scoreThreshold: detectorThreshold, maxInputSide: detectSize)
    }

    public func modelDirectory() throws -> ModelDirectory { try ModelDirectory.locate(explicit: models) }

    /// A pipeline with these options; `limits`, when given, replaces the options' image limits.
    public func pipeline(limits override: ImageLimits? = nil) throws -> FacePipeline {
        try FacePipeline(
            models: modelDirectory(), flipAugmentation: flip, alignment: alignmentMode, detector: detectorConfiguration,
            limits: override ?? limits, engine: try inferenceEngine)
    }

    /// Names everything that changes a template, for caches: the settings, the engine, and the
    /// model files' sizes and modification times (so a re-converted model is not
    /// answered from templates of the old one).
    public func cacheKey() throws -> String {
        let models = try modelDirectory()
        let alignment = try alignmentMode
        let files = [models.detectorPath, models.embedderPath] + (alignment == .ensemble ? [models.landmarkPath] : [])
        let stamps = try files.map { path -> String in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let size = attributes[.size] as? Int ?? 0
            let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
            return "\(size).\(modified)"
        }
        // The engine too: its templates agree with the other's only to within rounding.
        return "\(try modelID)-yunet-t\(detectorThreshold)-s\(detectSize)-\(try inferenceEngine.rawValue)-"
            + stamps.joined(separator: "-")
    }
}

/// Options of commands that process many photos.
public struct BatchOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(help: "Worker threads (default: one per core).")
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Folder for cached templates (default: XDG_CACHE_HOME/lineup or ~/.cache/lineup).")
    public var cache: String?

    @Flag(help: "Do not read or write the template cache.")
    public var noCache = false

    public func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    public func extractor(_ pipelineOptions: PipelineOptions) throws -> TemplateExtractor {
        let first = try pipelineOptions.pipeline()
        let templateCache =
            noCache
            ? nil
            : TemplateCache(
                directory: cache ?? TemplateCache.defaultDirectory, pipelineKey: try pipelineOptions.cacheKey(),
                modelID: first.modelID, dimension: first.embedder.dimension)
        var made = false
        return try TemplateExtractor(workers: threads, cache: templateCache) {
            if !made {
                made = true
                return first
            }
            return try pipelineOptions.pipeline()
        }
    }
}

/// The calibration for a model: a file given by the user, or the one Lineup ships.
public func loadCalibration(path: String?, modelID: String) throws -> ScoreCalibration {
    if let path {
        let calibration: ScoreCalibration
        do { calibration = try ScoreCalibration.load(from: path) } catch let error as DecodingError {
            throw ValidationError("\(path) is not a Lineup calibration file (\(error))")
        } catch {
            throw ValidationError("cannot read the calibration file \(path): \(error.localizedDescription)")
        }
        guard calibration.modelID == modelID else {
            throw ValidationError("the calibration in \(path) is for \(calibration.modelID), not \(modelID)")
        }
        return calibration
    }
    guard let bundled = ScoreCalibration.bundled(for: modelID) else {
        throw ValidationError("Lineup ships no calibration for \(modelID); make one with 'lineup-bench calibrate' and pass --calibration")
    }
    return bundled
}
