import ArgumentParser
import Console
import Foundation
import Governance
import Store

extension CaseAuthorisation.AuthorityKind: ExpressibleByArgument {}

/// The case number every case command names.
struct CaseArgument: ParsableArguments {
    @Argument(help: "The case number, as its searches state it.") var number: String
}

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "Cases: authorisations, two-person verification of candidates, verified leads and the log of use.",
        discussion: """
            A search always names its case; the first search with a new number opens it. Where the \
            policy asks for it (rule eu-ai-act-authorisation, for organisations in EU member states), \
            a case's searches stop 48 hours after its first search unless an authorisation by a \
            judicial or binding administrative authority was requested, or the case is marked as the \
            initial identification of a potential suspect. A rejected authorisation stops the case and \
            erases its searches' probes and reviews, with a receipt. A candidate is acted on only once \
            two people have confirmed it: the investigator proposes it, a verifier of the same \
            organisation confirms it; only such verified leads are exported.
            """,
        subcommands: [
            Open.self, Show.self, Close.self, Authorisation.self, Initial.self, Propose.self, Queue.self, Verify.self, Reviews.self,
            Leads.self, Log.self,
        ])

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a case before its first search, so its authorisation can be requested first (investigators, supervisors).")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument

        func run() throws {
            let (governance, principal) = try options.open()
            try present(try governance.openCase(as: principal, number: item.number), options.outputOptions)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where a case stands: its authorisations, deadline, and whether it may search.")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument
        @Option(name: .customLong("org"), help: "Another organisation's case (the operator's auditors and admins).")
        var organisation: String?

        func run() throws {
            let (governance, principal) = try options.open()
            try present(try governance.caseStatus(as: principal, number: item.number, organisation: organisation), options.outputOptions)
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a case: its use ends, it takes no more searches, its probe faces kept for verification are dropped.")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument

        func run() throws {
            let (governance, principal) = try options.open()
            try present(try governance.closeCase(as: principal, case: item.number), options.outputOptions)
        }
    }

    struct Authorisation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A case's authorisation: record its request, then the authority's decision.",
            subcommands: [Request.self, Decide.self])

        struct Request: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record the request for an authorisation (investigators, supervisors); opens the case if needed.")
            @OptionGroup var options: GovernedOptions
            @OptionGroup var item: CaseArgument
            @Option(help: "Who decides: judicial or administrative (a binding administrative authority).")
            var authorityKind: CaseAuthorisation.AuthorityKind
            @Option(help: "The authority, e.g. 'Tribunal judiciaire de Paris'.") var authority: String
            @Option(help: "The authority's reference for the request.") var reference: String
            @Option(help: "What the authorisation is to cover: the person sought, the offence, the period.") var scope: String

            func run() throws {
                let (governance, principal) = try options.open()
                try present(
                    try governance.requestAuthorisation(
                        as: principal, case: item.number, authorityKind: authorityKind, authority: authority, reference: reference,
                        scope: scope), options.outputOptions)
            }
        }

        struct Decide: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Record the authority's decision (supervisors). A rejection stops the case and erases its searches' data, printing the receipt.")
            @OptionGroup var options: GovernedOptions
            @OptionGroup var item: CaseArgument
            @Flag(help: "The authority granted it.") var granted = false
            @Flag(help: "The authority rejected it.") var rejected = false
            @Option(help: "The day of the decision, YYYY-MM-DD.") var decidedOn: String

            func validate() throws {
                guard granted != rejected else { throw ValidationError("give exactly one of --granted or --rejected") }
            }

            func run() throws {
                let (governance, principal) = try options.open()
                let (status, receipt) = try governance.recordAuthorisationDecision(
                    as: principal, case: item.number, granted: granted, decidedOn: decidedOn)
                struct Decided: Encodable {
                    var `case`: Governance.CaseStatus
                    var receipt: ErasureReceipt?
                }
                try options.outputOptions.present(Decided(case: status, receipt: receipt)) { decided in
                    "case \(decided.case.number): authorisation \(granted ? "granted" : "rejected")"
                        + (decided.receipt.map { "; its searches' data erased, receipt \($0.reference) (sha256 \($0.sha256))" } ?? "")
                }
            }
        }
    }

    struct Initial: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a case as the initial identification of a potential suspect, stating the facts (no authorisation is then needed).")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument
        @Option(help: "The objective and verifiable facts, directly linked to the offence, that make it one.") var facts: String

        func run() throws {
            let (governance, principal) = try options.open()
            try present(try governance.markInitialIdentification(as: principal, case: item.number, facts: facts), options.outputOptions)
        }
    }

    struct Propose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose a candidate of your search as a possible match, with your reason, for a verifier to examine.")
        @OptionGroup var options: GovernedOptions
        @Option(help: "The search's audit entry (its 'audit_entry').") var search: Int64
        @Option(help: "The candidate's face id.") var face: Int64
        @Option(help: "Why you think it a possible match (hidden from the verifier until they decide).") var reason: String

        func run() throws {
            let (governance, principal) = try options.open()
            let review = try governance.proposeCandidate(as: principal, search: search, face: face, reason: reason)
            try options.outputOptions.present(review) { "review \($0.review): face \($0.faceID) of case \($0.caseNumber) proposed" }
        }
    }

    struct Queue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The proposals awaiting your verification, oldest first (verifiers).")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let (governance, principal) = try options.open()
            let queue = try governance.verificationQueue(as: principal)
            try options.outputOptions.present(["reviews": queue]) { listed in
                let reviews = listed["reviews"] ?? []
                if reviews.isEmpty { return "no proposal awaits your verification" }
                return reviews.map { "review \($0.review)  case \($0.caseNumber)  face \($0.faceID)  score \($0.score)  by \($0.proposedBy)" }
                    .joined(separator: "\n")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm or reject a proposed candidate (verifiers; never your own proposal or search).",
            discussion:
                "Write the candidate's face out with --crops first and compare it with the probe; the proposer's reason shows once you decide.")
        @OptionGroup var options: GovernedOptions
        @Argument(help: "The review number (from 'lineup case queue').") var review: Int64
        @Flag(help: "You confirm it is the person sought.") var confirm = false
        @Flag(help: "You find it is not.") var reject = false
        @Option(help: "Why (kept with the decision).") var reason: String
        @Option(help: "Write the probe face and the candidate's face, as JPEG, into this folder before deciding.") var crops: String?

        func validate() throws {
            guard confirm != reject else { throw ValidationError("give exactly one of --confirm or --reject") }
        }

        func run() throws {
            let (governance, principal) = try options.open()
            if let crops {
                let item = try governance.verificationItem(as: principal, review: review)
                try FileManager.default.createDirectory(atPath: crops, withIntermediateDirectories: true)
                if let probe = item.probeFace { try probe.write(to: URL(fileURLWithPath: crops + "/review-\(review)-probe.jpg")) }
                if let candidate = item.candidate, let face = try governance.gallery.reviewCrop(of: candidate) {
                    try Data(face.jpegData()).write(to: URL(fileURLWithPath: crops + "/review-\(review)-candidate.jpg"))
                }
            }
            let decided = try governance.verifyCandidate(as: principal, review: review, confirm: confirm, reason: reason)
            try options.outputOptions.present(decided) {
                "review \($0.review): \($0.state.rawValue); the proposer's reason: \($0.proposalReason ?? "-")"
            }
        }
    }

    struct Reviews: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A case's reviews in every state: possible match, verified lead, disputed.")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument

        func run() throws {
            let (governance, principal) = try options.open()
            let reviews = try governance.reviews(as: principal, case: item.number)
            try options.outputOptions.present(["reviews": reviews]) { listed in
                (listed["reviews"] ?? []).map {
                    "review \($0.review)  face \($0.faceID)  \($0.state.rawValue)  by \($0.proposedBy)/\($0.verifiedBy ?? "-")"
                }
                .joined(separator: "\n")
            }
        }
    }

    struct Leads: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a case's verified leads as JSON: the only results confirmed by two people (investigators, supervisors).")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument

        func run() throws {
            let (governance, principal) = try options.open()
            struct Export: Encodable {
                var `case`: String
                var verifiedLeads: [Governance.VerifiedLead]
            }
            try printJSON(Export(case: item.number, verifiedLeads: try governance.verifiedLeads(as: principal, case: item.number)))
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A case's log of use as JSON (EU AI Act Art. 12(3)), with the audit entries it rests on and their chain hashes.",
            discussion: "Check each entry's hash against 'lineup audit verify' and 'lineup audit export'.")
        @OptionGroup var options: GovernedOptions
        @OptionGroup var item: CaseArgument
        @Option(name: .customLong("org"), help: "Another organisation's case (the operator's auditors and admins).")
        var organisation: String?

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(governance.caseLog(as: principal, case: item.number, organisation: organisation))
        }
    }
}

/// A case's status, as JSON or a line.
private func present(_ status: Governance.CaseStatus, _ output: OutputOptions) throws {
    try output.present(status) { status in
        var line = "case \(status.number) of \(status.organisation): " + (status.searchesAllowed ? "searches allowed" : "searches refused")
        if let refusal = status.refusal { line += " (\(refusal))" }
        if let deadline = status.requestDeadline, status.authorisations.isEmpty, status.initialIdentificationFacts == nil {
            line += "; request its authorisation before \(deadline.formatted(.iso8601))"
        }
        for authorisation in status.authorisations {
            line += "\n  authorisation \(authorisation.reference) (\(authorisation.authority)): \(authorisation.status.rawValue)"
        }
        return line
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "What the deployer reports: the annual report of uses and the model card.",
        subcommands: [Annual.self, Publish.self, ModelCard.self])

    struct Annual: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The annual report per organisation (EU AI Act Art. 26(10)): uses, searches, verified leads, authorisations, erasures; no personal data."
        )
        @OptionGroup var options: GovernedOptions
        @Option(help: "The year, e.g. 2026.") var year: Int

        func run() throws {
            let (governance, principal) = try options.open()
            try printJSON(governance.annualReport(as: principal, year: year))
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish the annual report on the public transparency page of 'lineup serve', or stop (the operator's admins).")
        @OptionGroup var options: GovernedOptions
        @Flag(inversion: .prefixedNo, help: "Publish (--publish) or withdraw (--no-publish).") var publish: Bool

        func run() throws {
            let (governance, principal) = try options.open()
            try governance.setTransparencyPage(as: principal, published: publish)
            try options.outputOptions.present(Outcome(publish ? "published" : "withdrew", "the transparency page"))
        }
    }

    struct ModelCard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model-card",
            abstract: "The model card: models and licences, measured accuracy, thresholds, bands and weak conditions, from the evaluation output.")
        @OptionGroup var options: GovernedOptions

        func run() throws {
            let governance = try options.galleryOptions.governance(options.pipelineOptions)
            try printJSON(governance.modelCard())
        }
    }
}
