import Foundation
import Index
import Store

/// Index snapshots sealed with the gallery's keyring, chunk by chunk (AES-256-GCM,
/// see `SnapshotStream`); the file's header names the key. The store's current
/// keyring is read when a file is begun or opened, so a rotation applies to the
/// next save, and a file saved before it opens with the key it names.
struct SealedSnapshot: SnapshotSealing {
    let store: GalleryStore

    /// One file's chunks, all sealed with the key that was current when it began.
    private struct Sealer: SnapshotChunkSealer {
        let keyring: TemplateKeyring
        var header: Data { Data(keyring.currentKeyID.utf8) }

        func seal(_ chunk: Data, authenticating associatedData: Data) throws -> Data {
            try keyring.seal(chunk, authenticating: associatedData)
        }
    }

    private struct Opener: SnapshotChunkOpener {
        let keyring: TemplateKeyring
        let keyID: String

        func open(_ box: Data, authenticating associatedData: Data) throws -> Data {
            try keyring.open(box, keyID: keyID, authenticating: associatedData)
        }
    }

    func sealerForNewFile() -> any SnapshotChunkSealer { Sealer(keyring: store.keyring) }

    func opener(forHeader header: Data) throws -> any SnapshotChunkOpener {
        let keyring = store.keyring
        let keyID = String(decoding: header, as: UTF8.self)
        guard keyring.keyIDs.contains(keyID) else { throw TemplateKeyring.KeyringError.unknownKey(keyID) }
        return Opener(keyring: keyring, keyID: keyID)
    }

    /// A whole sealed snapshot file opened into its stream, in memory: for inspecting
    /// what a (small) snapshot holds. Loading reads the file chunk by chunk instead.
    func open(_ file: Data) throws -> Data {
        try IndexSnapshot.contents(ofFile: file, sealing: self)
    }
}
