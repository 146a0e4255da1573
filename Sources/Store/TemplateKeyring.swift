import Crypto
import Foundation

/// The keys that seal face templates at rest with AES-256-GCM.
///
/// A template is biometric data: a copied database file must not give it away.
/// Every sealed value is stored with the id of the key that sealed it, so keys can
/// be rotated: a new key becomes current, everything is re-sealed with it, and only
/// then are the old keys dropped. Templates are opened into memory only, on the
/// search path; they are never written back in the clear.
///
/// The keyring is JSON (`{"current": "k…", "keys": {"k…": "<base64>"}}`): a file
/// (mode 0600) from `LINEUP_KEYRING_FILE` or the gallery folder's `keyring.json`, or
/// the `LINEUP_KEYRING` environment variable itself.
/// Keep it away from the database in production, on a separate volume or a secrets
/// mount: whoever holds both holds the templates.
public struct TemplateKeyring: Sendable {
    public let currentKeyID: String
    /// Raw key bytes by key id.
    private let keys: [String: Data]
    /// Where the keyring was read from, and is written to when rotated.
    public let path: String?

    public enum KeyringError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case unknownKey(String)
        case sealedValueDamaged
        case notRotatable

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot use the template keyring \(path): \(reason)"
            case .unknownKey(let id): "a template is sealed with key '\(id)', which the keyring does not hold"
            case .sealedValueDamaged: "a sealed template failed its authentication check (damaged or altered)"
            case .notRotatable: "a keyring given without a file (LINEUP_KEYRING) cannot be rotated: the new key would be lost; use a keyring file"
            }
        }
    }

    private init(current: String, keys: [String: Data], path: String?) {
        currentKeyID = current
        self.keys = keys
        self.path = path
    }

    /// A keyring with one fresh key that lives in memory only (scratch galleries of
    /// benchmarks and evaluations, which are deleted when they finish).
    public static func ephemeral() -> TemplateKeyring { withOneNewKey(path: nil) }

    /// Reads the keyring at `path`, creating it with one new key when there is no file.
    public static func openOrCreate(path: String) throws -> TemplateKeyring {
        if FileManager.default.fileExists(atPath: path) { return try open(path: path) }
        let keyring = withOneNewKey(path: path)
        try keyring.save()
        return keyring
    }

    public static func open(path: String) throws -> TemplateKeyring {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyringError.unreadable(path: path, reason: "cannot read the file")
        }
        return try parse(data, path: path)
    }

    /// A keyring given as JSON (the `LINEUP_KEYRING` environment variable, or a
    /// file's content). Without a path it cannot be rotated: a new key would be lost.
    public static func parse(_ data: Data, path: String?) throws -> TemplateKeyring {
        struct File: Decodable {
            var current: String
            var keys: [String: String]
        }
        let file: File
        let origin = path ?? "from LINEUP_KEYRING"
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw KeyringError.unreadable(path: origin, reason: "not a keyring (\(error.localizedDescription))")
        }
        var keys: [String: Data] = [:]
        for (id, encoded) in file.keys {
            guard let bytes = Data(base64Encoded: encoded), bytes.count == 32 else {
                throw KeyringError.unreadable(path: origin, reason: "key '\(id)' is not 32 bytes of base64")
            }
            keys[id] = bytes
        }
        guard keys[file.current] != nil else {
            throw KeyringError.unreadable(path: origin, reason: "the current key '\(file.current)' is not in the file")
        }
        return TemplateKeyring(current: file.current, keys: keys, path: path)
    }

    /// Writes the keyring atomically, readable by its owner only.
    public func save() throws {
        guard let path else { throw KeyringError.notRotatable }
        var object: [String: Any] = ["current": currentKeyID]
        object["keys"] = keys.mapValues { $0.base64EncodedString() }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary, path) == 0
        else {
            throw KeyringError.unreadable(path: path, reason: "cannot write it")
        }
    }

    /// A keyring whose current key is new; the old keys stay until `retiringOldKeys()`.
    public func addingKey() -> TemplateKeyring {
        let key = Self.newKey()
        var keys = self.keys
        keys[Self.keyID(of: key)] = key
        return TemplateKeyring(current: Self.keyID(of: key), keys: keys, path: path)
    }

    /// The keyring with only its current key, once nothing is sealed with the others.
    public func retiringOldKeys() -> TemplateKeyring {
        TemplateKeyring(current: currentKeyID, keys: [currentKeyID: keys[currentKeyID]!], path: path)
    }

    static func newKey() -> Data { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }

    private static func withOneNewKey(path: String?) -> TemplateKeyring {
        let key = newKey()
        return TemplateKeyring(current: keyID(of: key), keys: [keyID(of: key): key], path: path)
    }

    public var keyIDs: [String] { keys.keys.sorted() }

    /// Seals with the current key: nonce, ciphertext and tag in one value.
    public func seal(_ plaintext: Data) throws -> Data {
        try AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[currentKeyID]!)).combined!
    }

    public func open(_ sealed: Data, keyID: String) throws(KeyringError) -> Data {
        guard let key = keys[keyID] else { throw .unknownKey(keyID) }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: key))
        } catch {
            throw .sealedValueDamaged
        }
    }

    /// Seals with the current key, authenticating `associatedData` too (which is not
    /// stored: the same data must be given to open it).
    public func seal(_ plaintext: Data, authenticating associatedData: Data) throws -> Data {
        try AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[currentKeyID]!), authenticating: associatedData).combined!
    }

    public func open(_ sealed: Data, keyID: String, authenticating associatedData: Data) throws(KeyringError) -> Data {
        guard let key = keys[keyID] else { throw .unknownKey(keyID) }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: key), authenticating: associatedData)
        } catch {
            throw .sealedValueDamaged
        }
    }

    /// The key `keyID` names, for a caller that opens many values with it (the key
    /// vault unwrapping a batch of faces' keys).
    func symmetricKey(_ keyID: String) throws(KeyringError) -> SymmetricKey {
        guard let key = keys[keyID] else { throw .unknownKey(keyID) }
        return SymmetricKey(data: key)
    }

    /// A sealed template opened into its floats.
    public func openTemplate(_ sealed: Data, keyID: String) throws(KeyringError) -> [Float] {
        try open(sealed, keyID: keyID).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// A key's public name: derived from the key, so the same key always has the same id.
    static func keyID(of key: Data) -> String {
        let digest = SHA256.hash(data: Data("lineup key id".utf8) + key)
        return "k" + digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }
}
