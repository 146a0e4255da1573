import Crypto
import Foundation
import Index
import Store
import Synchronization

/// Index snapshots sealed chunk by chunk (AES-256-GCM, see `SnapshotStream`), each
/// file with a key of its own kept in the key vault; the file's header names it
/// (`vault:` and the key's id). The gallery retires a file's key when the next
/// snapshot replaces it (`Gallery.saveIndex`), so a copy of an old snapshot, which may
/// hold faces erased since, no longer opens. Files an earlier version sealed with the
/// keyring itself (the header names a keyring key) still open with it.
final class SealedSnapshot: SnapshotSealing {
    let store: GalleryStore
    /// The id of the key this sealing gave the last file it began.
    private let lastIssued = Mutex<String?>(nil)

    init(store: GalleryStore) { self.store = store }

    static let vaultPrefix = "vault:"

    /// The id of the key of the last file begun.
    var lastIssuedKeyID: String? { lastIssued.withLock { $0 } }

    /// One file's chunks, all sealed with its own key.
    private struct Sealer: SnapshotChunkSealer {
        let key: SymmetricKey
        let header: Data

        func seal(_ chunk: Data, authenticating associatedData: Data) throws -> Data {
            try AES.GCM.seal(chunk, using: key, authenticating: associatedData).combined!
        }
    }

    private struct Opener: SnapshotChunkOpener {
        let open: (Data, Data) throws -> Data

        func open(_ box: Data, authenticating associatedData: Data) throws -> Data { try open(box, associatedData) }
    }

    func sealerForNewFile() throws -> any SnapshotChunkSealer {
        let (id, key) = try store.vault.newSnapshotKey(keyring: store.keyring)
        lastIssued.withLock { $0 = id }
        return Sealer(key: key, header: Data((Self.vaultPrefix + id).utf8))
    }

    func opener(forHeader header: Data) throws -> any SnapshotChunkOpener {
        let keyring = store.keyring
        let name = String(decoding: header, as: UTF8.self)
        if name.hasPrefix(Self.vaultPrefix) {
            guard let key = try store.vault.snapshotKey(id: String(name.dropFirst(Self.vaultPrefix.count)), keyring: keyring) else {
                throw StoreError.invalid("the snapshot's key was retired: a newer snapshot replaced it")
            }
            return Opener { box, associatedData in
                do {
                    return try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: key, authenticating: associatedData)
                } catch {
                    throw TemplateKeyring.KeyringError.sealedValueDamaged
                }
            }
        }
        guard keyring.keyIDs.contains(name) else { throw TemplateKeyring.KeyringError.unknownKey(name) }
        return Opener { box, associatedData in try keyring.open(box, keyID: name, authenticating: associatedData) }
    }

    /// A whole sealed snapshot file opened into its stream, in memory: for inspecting
    /// what a (small) snapshot holds. Loading reads the file chunk by chunk instead.
    func open(_ file: Data) throws -> Data {
        try IndexSnapshot.contents(ofFile: file, sealing: self)
    }
}
