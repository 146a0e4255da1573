import FaceVision
import Foundation
import Gallery
import Store
import Testing

@testable import Governance

/// Who reaches whose data. The operator's organisation (made at bootstrap) holds the
/// store-wide roles; every other organisation's admins, auditors and privacy
/// officers reach only their own organisation's data. Each act is tried by each
/// role of each organisation, and the outcome is compared with the model.
@Suite struct OrganisationScopeTests {
    /// The operator ("Lineup operations") and another organisation ("Met") with a source
    /// each, and an admin, auditor and privacy officer in both.
    struct Scene {
        let world: GovernedWorld
        let cast: GovernedWorld.Cast
        /// Role → organisation ("operator", "met") → principal.
        let people: [Role: [String: Principal]]

        init(engine: MetadataEngine = .sqlite) throws {
            let world = try GovernedWorld(engine: engine)
            let cast = try world.cast()
            self.world = world
            self.cast = cast
            let g = world.governance
            func make(_ name: String, _ organisation: String, _ role: Role) throws -> Principal {
                try g.authenticate(token: g.addAccount(as: cast.admin, name: name, organisation: organisation, roles: [role]).1.token)
            }
            let metAdmin = try make("met-admin", "Met", .admin)
            people = [
                .admin: ["operator": cast.admin, "met": metAdmin],
                .auditor: ["operator": cast.auditor, "met": try make("met-auditor", "Met", .auditor)],
                .privacyOfficer: ["operator": cast.officer, "met": try make("met-dpo", "Met", .privacyOfficer)],
            ]
            try FileManager.default.createDirectory(atPath: world.folder + "/met", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: GovernedWorld.samples + "/obama3.jpg", toPath: world.folder + "/met/obama3.jpg")
            _ = try g.registerSource(as: metAdmin, world.source(name: "met-photos", root: world.folder + "/met", jurisdiction: "GB"))
            _ = try g.ingest(as: metAdmin, source: "met-photos", paths: [], pipelines: [GovernedWorld.pipeline])
            _ = try world.search(cast.investigator, "obama2.jpg")
        }

        func faces(of source: String) throws -> [Int64] {
            try world.governance.database.read { db in
                try db.ids(
                    "SELECT face.id FROM face JOIN image ON image.id = face.imageID JOIN source ON source.id = image.sourceID "
                        + "WHERE source.name = ?", [.text(source)])
            }
        }
    }

    /// Whether `act` was allowed; a refusal must be `forbidden`, not some other failure.
    static func allowed(_ act: () throws -> Void) throws -> Bool {
        do {
            try act()
            return true
        } catch GovernanceError.forbidden {
            return false
        }
    }

    @Test func storeWideActsAreTheOperatorsAlone() throws {
        let scene = try Scene()
        let g = scene.world.governance
        let acts: [(String, Role, (Principal) throws -> Void)] = [
            (
                "add an organisation", .admin,
                { _ = try g.addOrganisation(as: $0, name: "New \(UUID().uuidString.prefix(4))", type: .ngo, jurisdiction: "FR") }
            ),
            ("edit the policy", .admin, { try g.setPolicyDefault(as: $0, .allow) }),
            ("rotate keys", .admin, { _ = try g.rotateKeys(as: $0) }),
            ("keep search photos", .admin, { try g.setProbeKeepHours(as: $0, 0) }),
            ("an organisation's limit", .admin, { try g.setSearchesPerDay(as: $0, organisation: "Met", to: 100) }),
            ("run retention", .privacyOfficer, { _ = try g.runRetention(as: $0) }),
            ("list opt-outs", .privacyOfficer, { _ = try g.optOuts(as: $0) }),
            ("list access requests", .privacyOfficer, { _ = try g.accessRequests(as: $0) }),
            ("erase a jurisdiction", .privacyOfficer, { _ = try g.erase(as: $0, .jurisdiction("ZZ"), reason: "scope test") }),
        ]
        for (name, role, act) in acts {
            #expect(try Self.allowed { try act(scene.people[role]!["operator"]!) }, "the operator's \(role.rawValue) may \(name)")
            #expect(try !Self.allowed { try act(scene.people[role]!["met"]!) }, "Met's \(role.rawValue) may not \(name)")
        }
    }

    @Test func eachOrganisationsRolesReachItsOwnData() throws {
        let scene = try Scene()
        let g = scene.world.governance
        let operatorFaces = try scene.faces(of: "portraits"), metFaces = try scene.faces(of: "met-photos")
        #expect(!operatorFaces.isEmpty && !metFaces.isEmpty)

        // Audit entries: the operator's auditors read all; Met's, Met's own.
        let all = try g.exportAudit(as: scene.people[.auditor]!["operator"]!)
        let mets = try g.exportAudit(as: scene.people[.auditor]!["met"]!)
        #expect(mets.allSatisfy { $0.organisation == "Met" } && !mets.isEmpty)
        #expect(all.count > mets.count && all.contains { $0.organisation == "Lineup operations" })
        #expect(mets.contains { $0.caseNumber == GovernedWorld.justification.caseNumber }, "Met's own searches")

        // Accounts and sources.
        #expect(try g.accounts(as: scene.people[.admin]!["met"]!).allSatisfy { $0.1.name == "Met" })
        #expect(try g.accounts(as: scene.people[.admin]!["operator"]!).contains { $0.1.name == "Met" })
        // Registrations are listed to every account; acting on a source is decided per act.
        #expect(try Set(g.sources(as: scene.people[.auditor]!["met"]!).map(\.name)) == ["portraits", "met-photos"])
        #expect(
            try !Self.allowed {
                _ = try g.addAccount(as: scene.people[.admin]!["met"]!, name: "intruder", organisation: "Lineup operations", roles: [.admin])
            })
        #expect(try !Self.allowed { try g.suspend(as: scene.people[.admin]!["met"]!, account: "aud", reason: "scope test") })

        // Ingest: an admin ingests their own organisation's sources only, like uploads.
        #expect(
            try !Self.allowed {
                _ = try g.ingest(as: scene.people[.admin]!["operator"]!, source: "met-photos", paths: [], pipelines: [GovernedWorld.pipeline])
            })
        #expect(
            try !Self.allowed {
                _ = try g.ingest(as: scene.people[.admin]!["met"]!, source: "portraits", paths: [], pipelines: [GovernedWorld.pipeline])
            })

        // Erasure: Met's privacy officer erases Met's faces, never the operator's.
        let metOfficer = scene.people[.privacyOfficer]!["met"]!
        #expect(try !Self.allowed { _ = try g.erase(as: metOfficer, .faces(operatorFaces, scope: "face", label: "x"), reason: "scope test") })
        #expect(try !Self.allowed { _ = try g.erase(as: metOfficer, .source("portraits"), reason: "scope test") })
        #expect(try scene.faces(of: "portraits") == operatorFaces, "nothing of the operator's was erased")
        _ = try g.erase(as: metOfficer, .faces(metFaces, scope: "face", label: "met"), reason: "scope test")
        #expect(try scene.faces(of: "met-photos").isEmpty)
        // The operator's privacy officer erases anything.
        _ = try g.erase(as: scene.people[.privacyOfficer]!["operator"]!, .source("met-photos"), reason: "scope test")
        #expect(try g.verifyAudit(as: scene.people[.auditor]!["met"]!).isIntact, "every auditor may check the chain")
    }
}
