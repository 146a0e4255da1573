import Foundation

/// What a text field may hold. Every text that reaches Governance is checked here
/// before anything is read or written, because most of it ends up in the
/// append-only audit log: a control character there (a NUL cuts SQLite's copy
/// short of the bytes the entry's hash covers) or a megabyte-long name can never
/// be taken back out.
///
/// Two kinds of field:
/// - **names** (accounts, organisations, sources, policy rules) identify someone or
///   something to people reading a log or a list. They are normalised to NFC and
///   refuse every control, format and separator character (zero-width spaces,
///   direction overrides, line breaks), spaces at either end, and letters mixed
///   from the Latin, Greek and Cyrillic scripts (`аdmin` with a Cyrillic `а`), so
///   two names that look the same are the same name.
/// - **lines** (case numbers, purposes, reasons, labels, contacts, paths) are free
///   text on one line: any character but a control character, up to a length.
public struct TextRule: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case name, line
    }

    /// The field as an error names it, as the API spells it (`case_number`).
    public var field: String
    public var kind: Kind
    /// The most characters (extended grapheme clusters) the field takes.
    public var maxLength: Int
    /// The fewest characters, after trimming spaces at either end.
    public var minLength: Int

    public init(_ field: String, _ kind: Kind, max: Int, min: Int = 1) {
        self.field = field
        self.kind = kind
        self.maxLength = max
        self.minLength = min
    }

    public static let accountName = TextRule("name", .name, max: 64)
    public static let organisationName = TextRule("organisation", .name, max: 100)
    public static let sourceName = TextRule("source", .name, max: 100)
    public static let ruleName = TextRule("rule name", .name, max: 100)
    public static let caseNumber = TextRule("case_number", .line, max: 64, min: 2)
    public static let purpose = TextRule("purpose", .line, max: 500, min: 2)
    public static let legalBasis = TextRule("legal_basis", .line, max: 300, min: 2)
    public static let reason = TextRule("reason", .line, max: 1000, min: 2)
    public static let tokenLabel = TextRule("label", .line, max: 100)
    public static let contact = TextRule("contact", .line, max: 254, min: 3)
    public static let licence = TextRule("licence", .line, max: 300)
    /// Paths on the server: a source's root, the files of an ingest.
    public static let path = TextRule("path", .line, max: 4096)
    /// References of requests, receipts and jobs, as looked up.
    public static let reference = TextRule("reference", .line, max: 100)
    /// Free text inside a policy rule (its description, a reason).
    public static let ruleText = TextRule("rule text", .line, max: 1000)
    /// The authority that authorises a case's searches (a court, an administrative body).
    public static let authority = TextRule("authority", .line, max: 300, min: 2)
    /// What an authorisation covers.
    public static let scope = TextRule("scope", .line, max: 1000, min: 2)
    /// How a source's photos were collected, checked further against the methods.
    public static let collection = TextRule("collection", .line, max: 40)
    /// The facts behind an initial identification of a potential suspect.
    public static let facts = TextRule("facts", .line, max: 4000, min: 20)
    /// Jurisdiction codes and other short codes, checked further by their own rules.
    public static let code = TextRule("jurisdiction", .line, max: 16)

    /// The same rule without its minimum length, for a field whose emptiness is
    /// refused elsewhere in words of its own (a search's justification, a contact).
    public var allowingShort: TextRule {
        var rule = self
        rule.minLength = 0
        return rule
    }

    /// The same rule under another field name (for errors).
    public func named(_ field: String) -> TextRule {
        var rule = self
        rule.field = field
        return rule
    }

    /// The value as it is to be stored (NFC for names), or a 400 naming the field and
    /// what is wrong with it.
    public func check(_ value: String) throws(GovernanceError) -> String {
        let text = kind == .name ? value.precomposedStringWithCanonicalMapping : value
        if let bad = text.unicodeScalars.first(where: { Self.isControl($0) || (kind == .name && Self.isInvisible($0)) }) {
            let what = Self.isControl(bad) ? "a control character" : "an invisible or formatting character"
            throw .badInput("\(field) holds \(what) (U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4)))")
        }
        let count = text.count
        if count > maxLength { throw .badInput("\(field) is \(count) characters long; it takes at most \(maxLength)") }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count < minLength {
            throw .badInput(minLength == 1 ? "\(field) is empty" : "\(field) needs at least \(minLength) characters")
        }
        if kind == .name {
            guard trimmed == text else { throw .badInput("\(field) starts or ends with a space") }
            let scripts = Set(text.unicodeScalars.compactMap(Self.confusableScript))
            if scripts.count > 1 {
                throw .badInput(
                    "\(field) mixes letters of the \(scripts.sorted().joined(separator: " and ")) scripts, "
                        + "which can look alike; write it in one")
            }
        }
        return text
    }

    /// The value checked, or nil kept nil.
    public func check(_ value: String?) throws(GovernanceError) -> String? {
        guard let value else { return nil }
        return try check(value)
    }

    /// C0 and C1 controls, DEL, and the line and paragraph separators: none belongs on one line.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// Characters that change how a name shows without showing themselves: format
    /// characters (zero-width space and joiners, direction marks and overrides, the
    /// byte-order mark), spaces other than the plain one, and the variation selectors.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .format,
            .spaceSeparator where scalar != " ", .privateUse, .surrogate, .unassigned:
            return true
        default: return properties.isVariationSelector || properties.isDefaultIgnorableCodePoint
        }
    }

    /// The script of a letter when it is one of the three whose letters are confused
    /// with each other; nil for digits, punctuation and every other script.
    static func confusableScript(_ scalar: Unicode.Scalar) -> String? {
        guard scalar.properties.isAlphabetic else { return nil }
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF: return "Latin"
        case 0x370...0x3FF, 0x1F00...0x1FFF: return "Greek"
        case 0x400...0x52F, 0x1C80...0x1C8F, 0x2DE0...0x2DFF, 0xA640...0xA69F: return "Cyrillic"
        default: return nil
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
