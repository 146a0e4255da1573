import ArgumentParser
import Console
import FaceVision
import Foundation
import Governance
import Store

/// The parts of a public request: one photo and a way to reach the person; nothing else.
struct PublicRequestOptions: ParsableArguments {
    @OptionGroup var pipelineOptions: PipelineOptions
    @OptionGroup var galleryOptions: GalleryOptions

    @Option(help: "How to reach the person (an e-mail or postal address).")
    var contact: String

    @Argument(help: "One photo of the person.")
    var photo: String

    @OptionGroup var outputOptions: OutputOptions

    /// Makes the request and prints its receipt (JSON, or `summary` of it).
    func submit(
        _ make: (Governance, [UInt8], FacePipeline) throws -> Governance.RequestReceipt,
        summary: (Governance.RequestReceipt) -> String
    ) throws {
        let governance = try galleryOptions.governance(pipelineOptions)
        let pipeline = try pipelineOptions.pipeline()
        let receipt = try make(governance, try readPhoto(photo, limits: pipeline.limits), pipeline)
        if outputOptions.json { return try printJSON(receipt) }
        print(summary(receipt))
    }
}

struct OptOutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optout",
        abstract: "Opt-outs: anyone asks with one photo; their faces leave every search and are never ingested again.",
        discussion: """
            Lineup keeps the person's template (sealed) and contact, never the photo. Stored faces \
            that match are withheld from searches at once and listed for a privacy officer, who \
            confirms or rejects the opt-out and can erase those faces.
            """,
        subcommands: [Request.self, Status.self, List.self, Confirm.self, Reject.self, Erase.self])

    struct Request: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask to opt out (no account needed).")
        @OptionGroup var request: PublicRequestOptions

        func run() throws {
            try request.submit(
                { try $0.requestOptOut(photo: $1, contact: request.contact, pipeline: $2) },
                summary: {
                    "opt-out recorded: reference \($0.reference) (keep it to follow the request); "
                        + "any stored face of yours is withheld from searches from now on; the photo was not kept"
                })
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where an opt-out or access request stands (no account needed).")
        @OptionGroup var pipelineOptions: PipelineOptions
        @OptionGroup var galleryOptions: GalleryOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String
        @OptionGroup var outputOptions: OutputOptions

        func run() throws {
            struct Standing: Encodable {
                var reference: String
                var status: ReviewStatus
            }
            let status = try galleryOptions.governance(pipelineOptions).requestStatus(reference: reference)
            try outputOptions.present(Standing(reference: reference, status: status)) { $0.status.rawValue }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The opt-outs and the faces each withholds (privacy officers).")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            struct Listed: Encodable {
                var optOut: Suppression
                var faces: [Int64]
            }
            let (governance, principal) = try options.open()
            let optOuts = try governance.optOuts(as: principal)
            if options.outputOptions.json { return try printJSON(["opt_outs": optOuts.map { Listed(optOut: $0.0, faces: $0.1) }]) }
            for (suppression, faces) in optOuts {
                print(
                    "\(suppression.reference)  \(suppression.status.rawValue)  \(suppression.contact)  "
                        + "faces \(faces.map(String.init).joined(separator: ","))")
            }
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm an opt-out (privacy officers).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.reviewOptOut(as: principal, reference: reference, confirm: true)
            try options.outputOptions.present(Outcome("confirmed", "opt-out \(reference)"))
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject an abusive opt-out: it withholds nothing and its template is erased.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.reviewOptOut(as: principal, reference: reference, confirm: false)
            try options.outputOptions.present(Outcome("rejected", "opt-out \(reference)"))
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Erase the stored faces an opt-out matched, with a receipt.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(governance.eraseOptedOutFaces(as: principal, reference: reference))
        }
    }
}

struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Access requests: anyone asks with one photo what Lineup holds of them; a privacy officer confirms each face before release.",
        subcommands: [Request.self, Review.self, Decide.self, Report.self, Erase.self])

    struct Request: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask what is held (no account needed; no limit on how often).")
        @OptionGroup var request: PublicRequestOptions

        func run() throws {
            try request.submit(
                { try $0.requestAccess(photo: $1, contact: request.contact, pipeline: $2) },
                summary: {
                    "access request recorded: reference \($0.reference) (keep it to follow the request); a privacy officer "
                        + "reviews every possible face before anything is released"
                })
        }
    }

    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The candidates of a request, with provenance (privacy officers).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String
        @Option(help: "Write the requester's photo here, to compare side by side.") var photoOut: String?

        func run() throws {
            let (governance, principal) = try options.open()
            let review = try governance.reviewAccess(as: principal, reference: reference)
            if let photoOut, let photo = review.photo { try photo.write(to: URL(fileURLWithPath: photoOut)) }
            if options.outputOptions.json { return try printJSON(review.candidates) }
            for c in review.candidates {
                let origin = c.provenance.map { "\($0.source): \($0.originURI)" } ?? "(erased)"
                print("face \(c.faceID)  \(format(Double(c.score), 4))  \(c.decision.rawValue)  \(origin)")
                for place in c.provenance?.published ?? [] { print("    published \(place.summary)") }
            }
        }
    }

    struct Decide: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm (it is the requester) or reject (a lookalike) one face.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String
        @Option(help: "The face id.") var face: Int64
        @Flag(exclusivity: .exclusive, help: "The decision.") var decision: Choice

        enum Choice: String, EnumerableFlag { case confirm, reject }

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.decideAccess(as: principal, reference: reference, faceID: face, confirm: decision == .confirm)
            try options.outputOptions.present(Outcome(decision == .confirm ? "confirmed" : "rejected", "face \(face) of \(reference)"))
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release the report of confirmed faces, their provenance and the searches that returned them (JSON).")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(governance.releaseAccessReport(as: principal, reference: reference))
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Erase the confirmed faces of a request, with a receipt.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The request's reference (OO-… or AR-…).") var reference: String

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(governance.eraseAccessRequestFaces(as: principal, reference: reference))
        }
    }
}
