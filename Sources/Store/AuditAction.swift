import Foundation

/// What an audit entry records, one case per kind of act Lineup logs. Entries keep
/// the raw value as text (`AuditEntry.action`), so the log reads and verifies the same
/// whatever version wrote it; new code names its acts only through these cases.
public enum AuditAction: String, Codable, Sendable, CaseIterable {
    case accessConfirm = "access.confirm"
    case accessReject = "access.reject"
    case accessRelease = "access.release"
    case accessRequest = "access.request"
    case accessReview = "access.review"
    case accountAdd = "account.add"
    case accountApprove = "account.approve"
    case accountGrant = "account.grant"
    case accountSuspend = "account.suspend"
    case auditExport = "audit.export"
    case auditVerify = "audit.verify"
    case backupCreate = "backup.create"
    case backupRestore = "backup.restore"
    case bootstrap
    case caseAuthorisationGrant = "case.authorisation-grant"
    case caseAuthorisationReject = "case.authorisation-reject"
    case caseAuthorisationRequest = "case.authorisation-request"
    case caseClose = "case.close"
    /// The verified leads of a case handed out (the only results that may be acted on).
    case caseExport = "case.export"
    case caseInitialIdentification = "case.initial-identification"
    /// A case's log of use read (EU AI Act Art. 12(3)).
    case caseLog = "case.log"
    case caseOpen = "case.open"
    case erase
    case eraseIndexPending = "erase.index-pending"
    /// An erasure of the key vault's journal finished in a gallery that did not hold
    /// its receipt (a restored backup, or an erasure whose commit was cut short).
    case eraseReplay = "erase.replay"
    case indexReconcile = "index.reconcile"
    case ingest
    case ingestFile = "ingest.file"
    case ingestFileWithdrawn = "ingest.file-withdrawn"
    case ingestInterrupted = "ingest.interrupted"
    /// A stored file's places of publication changed (a corrected manifest, more pages
    /// of an archive that showed it).
    case ingestProvenance = "ingest.provenance"
    case ingestRefused = "ingest.refused"
    case keysRotate = "keys.rotate"
    case limitAccount = "limit.account"
    case limitOrganisation = "limit.organisation"
    case migrateFromEmbedded = "migrate.from-embedded"
    case migrateToCluster = "migrate.to-cluster"
    case optoutConfirm = "optout.confirm"
    case optoutReject = "optout.reject"
    case optoutRequest = "optout.request"
    case organisationAdd = "organisation.add"
    case policyAdd = "policy.add"
    case policyDefault = "policy.default"
    case policyRemove = "policy.remove"
    case policyReplace = "policy.replace"
    case reportAnnual = "report.annual"
    /// A verifier confirmed a proposed candidate: it is a verified lead.
    case reviewConfirm = "review.confirm"
    case reviewPropose = "review.propose"
    /// A verifier rejected a proposed candidate: the disagreement stays on record.
    case reviewReject = "review.reject"
    case retentionRun = "retention.run"
    case retemplate
    case search
    case searchRefused = "search.refused"
    case sessionEnd = "session.end"
    case sessionStart = "session.start"
    case settingCredibleBand = "setting.credible-band"
    case settingProbeKeepHours = "setting.probe-keep-hours"
    case settingTransparency = "setting.transparency"
    case sourceAdd = "source.add"
    case sourceCollection = "source.collection"
    case sourceUpload = "source.upload"
    case tokenIssue = "token.issue"
    case tokenRevoke = "token.revoke"
    case viewCandidate = "view.candidate"
    case viewCrops = "view.crops"
    /// A verifier opened a proposed candidate beside its probe.
    case viewVerification = "view.verification"
}

extension AuditEntry {
    public init(
        recordedAt: Date, actor: String, organisation: String?, action: AuditAction, target: String,
        caseNumber: String? = nil, purpose: String? = nil, legalBasis: String? = nil, details: String = "{}"
    ) {
        self.init(
            recordedAt: recordedAt, actor: actor, organisation: organisation, action: action.rawValue, target: target,
            caseNumber: caseNumber, purpose: purpose, legalBasis: legalBasis, details: details)
    }

    /// The act as Lineup names it today; nil for one this version does not know.
    public var knownAction: AuditAction? { AuditAction(rawValue: action) }
}
