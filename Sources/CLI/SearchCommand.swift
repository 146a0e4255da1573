import ArgumentParser
import Console
import FaceVision
import Foundation
import Gallery
import Governance

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the gallery with a photo: ranked candidates for human review, with where each came from.",
        discussion: """
            Each candidate has a score and a confidence band that accounts for the gallery size \
            (a bigger gallery gives a stranger more chances to score high). Only candidates at or \
            above the operator's credible band are shown (default: possible, at most 1 chance in \
            100 that an unrelated face scores as high in a search of this gallery); the rest are \
            counted, and shown with --below-threshold, which the audit log records. Candidates are \
            leads for a reviewer, never an identification. Only approved investigators search, and every \
            search states a case number, a purpose and a legal basis, which go into the audit log \
            with the faces returned. Faces of people who opted out, and of sources the policy rules \
            exclude for your organisation, are never candidates.
            """
    )

    @Option(name: .customLong("case"), help: "The case number the search is for.")
    var caseNumber: String

    @Option(help: "Why the search is made.")
    var purpose: String

    @Option(help: "The law or authority the search relies on.")
    var basis: String

    @Option(help: "The most candidates to look at (1 to 1000); only credible ones are shown unless --below-threshold.")
    var top = 10

    @Flag(help: "Also show the candidates below the credible band (the audit log records that you asked).")
    var belowThreshold = false

    @Option(help: "Leave out candidates scoring below this.")
    var minScore: Float?

    @Option(help: "Which face of the photo, from 1, as 'lineup detect' numbers them (default: the most prominent).")
    var face: Int?

    @Option(help: "Write each candidate's face, cut from its original, as JPEG into this folder.")
    var crops: String?

    @Argument(
        help: ArgumentHelp(
            "The probe photo, or several photos of the same person (up to 10).",
            discussion: "Several photos are searched as one: the mean of their most prominent faces' templates."))
    var photos: [String]

    // After the search's own options, so `search --help` lists those first.
    @OptionGroup var options: GovernedOptions

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard !photos.isEmpty else { throw ValidationError("give the probe photo") }
        guard face == nil || photos.count == 1 else {
            throw ValidationError("--face picks a face of one photo; with several photos each one's most prominent face is used")
        }
    }

    func run() throws {
        let (governance, principal) = try options.open()
        let gallery = governance.gallery
        let pipeline = try options.pipelineOptions.pipeline()
        let search = try governance.search(
            as: principal,
            justification: Justification(
                caseNumber: caseNumber, purpose: purpose,
                legalBasis: basis),
            photos: photos.map { try readPhoto($0, limits: pipeline.limits) }, pipeline: pipeline,
            .init(faceNumber: face, top: top, minScore: minScore, belowThreshold: belowThreshold))
        let result = search.result
        if let crops {
            try FileManager.default.createDirectory(atPath: crops, withIntermediateDirectories: true)
            for candidate in result.candidates {
                guard let crop = try gallery.reviewCrop(of: candidate, limits: pipeline.limits) else { continue }
                try Data(crop.jpegData()).write(to: URL(fileURLWithPath: crops + "/candidate-\(candidate.rank)-face-\(candidate.faceID).jpg"))
            }
            try governance.recordView(as: principal, search: search.auditEntry, faces: result.candidates.map(\.faceID), kind: .crops)
        }
        if options.outputOptions.json {
            try printJSON(search)
            return
        }
        let threshold = search.credibleThreshold
        print(
            "\(result.candidates.count) candidates for human review from \(result.galleryFaces) faces (\(result.modelID)"
                + (result.probePhotos > 1 ? ", \(result.probePhotos) photos fused" : "") + "); "
                + "audit entry \(search.auditEntry)")
        print(
            "shown: \(search.belowThresholdShown ? "every candidate, below the threshold too (as asked; logged)" : "candidates \(threshold.band.rawValue) or stronger")"
                + " — the credible threshold is \(format(Double(threshold.score), 4)) in a search of \(threshold.galleryFaces) faces")
        if result.candidates.isEmpty { print("no credible candidate: no face you may search scored at or above the threshold") }
        if search.belowThresholdNotShown > 0 {
            print("\(search.belowThresholdNotShown) lower-scoring faces not shown (search again with --below-threshold to see them; logged)")
        }
        if search.optedOutFacesWithheld > 0 { print("\(search.optedOutFacesWithheld) faces withheld: those people opted out") }
        for (source, rule) in search.excludedSources.sorted(by: { $0.key < $1.key }) {
            print("left out by policy rule '\(rule)': source \(source)")
        }
        for warning in result.warnings { print("warning: \(warning)") }
        for c in result.candidates {
            let video = c.frameSeconds.map { " at \(format($0, 1)) s" } ?? ""
            let captured = c.capturedAt.map { "  captured \(ISO8601DateFormatter().string(from: $0))" } ?? ""
            print(
                "\(String(c.rank).leftPad(3)). \(format(Double(c.score), 4))  \((c.band?.rawValue ?? "uncalibrated").padding(toLength: 15, withPad: " ", startingAt: 0))"
                    + "\(c.source): \(c.originURI)\(video)  [\(c.jurisdiction), \(c.legalBasis.rawValue)]\(captured)")
            for place in c.published { print("       published \(place.summary)") }
        }
        print("bands in a search of \(result.galleryFaces) faces:")
        for rule in search.bands { print("  " + bandLegendLine(rule)) }
    }
}
