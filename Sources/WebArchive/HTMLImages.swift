import Foundation

/// What a web page says about the pictures it shows: its title, and the absolute URL
/// of every image it embeds (`img` `src` and `srcset`, `picture`/`source` `srcset`,
/// the `og:image` and `twitter:image` meta tags), relative URLs resolved against the
/// page's `<base href>` or, without one, its own URL.
///
/// A tolerant scan of the tags, not a full HTML parser: it needs only tags and their
/// attributes, skips comments, scripts and styles, and never fails on broken markup.
public struct HTMLImages: Sendable, Equatable {
    public var title: String?
    public var imageURLs: [String]

    /// Pages longer than this are read only this far.
    public static let maxBytes = 8 << 20
    static let maxTitle = 500

    public init(html bytes: [UInt8], pageURL: String) {
        let text = String(decoding: bytes.prefix(Self.maxBytes), as: UTF8.self)
        var base = URL(string: pageURL)
        var found: [String] = [], seen = Set<String>()
        var title: String?
        func add(_ reference: String) {
            let trimmed = reference.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.lowercased().hasPrefix("data:"),
                let url = URL(string: trimmed, relativeTo: base)?.absoluteURL,
                let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
            else { return }
            let absolute = url.absoluteString
            if seen.insert(absolute).inserted { found.append(absolute) }
        }
        var baseSeen = false
        var scanner = TagScanner(text)
        while let tag = scanner.next() {
            switch tag.name {
            case "base" where !baseSeen:
                if let href = tag.attributes["href"], let url = URL(string: href.trimmingCharacters(in: .whitespaces), relativeTo: base) {
                    base = url.absoluteURL
                    baseSeen = true
                }
            case "img":
                if let src = tag.attributes["src"] { add(src) }
                if let set = tag.attributes["srcset"] { Self.srcsetURLs(set).forEach(add) }
            case "source":
                if let set = tag.attributes["srcset"] { Self.srcsetURLs(set).forEach(add) }
            case "meta":
                let key = (tag.attributes["property"] ?? tag.attributes["name"] ?? "").lowercased()
                if ["og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"].contains(key),
                    let content = tag.attributes["content"]
                {
                    add(content)
                }
            case "title" where title == nil:
                let words = scanner.text(until: "</title").split(whereSeparator: \.isWhitespace).joined(separator: " ")
                let clean = String(Self.decodeEntities(words).unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) })
                title = clean.isEmpty ? nil : String(clean.prefix(Self.maxTitle))
            default:
                break
            }
        }
        self.title = title
        imageURLs = found
    }

    /// The URLs of a `srcset`: comma-separated candidates, each a URL and an optional
    /// width or density descriptor (a URL may itself contain commas, so a candidate
    /// ends at a comma only after its URL and descriptors).
    static func srcsetURLs(_ value: String) -> [String] {
        var urls: [String] = []
        var rest = Substring(value)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == "," }
            guard !rest.isEmpty else { return urls }
            let url = rest.prefix { !$0.isWhitespace }
            rest = rest.dropFirst(url.count)
            var candidate = String(url)
            if candidate.hasSuffix(",") {
                while candidate.hasSuffix(",") { candidate.removeLast() }
            } else {
                // Descriptors, up to the comma that ends the candidate.
                rest = rest.drop { $0 != "," }
            }
            if !candidate.isEmpty { urls.append(candidate) }
        }
    }

    /// The character references attribute values and titles use most.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = "", index = text.startIndex
        let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{a0}"]
        while index < text.endIndex {
            let character = text[index]
            if character == "&", let semicolon = text[index...].prefix(12).firstIndex(of: ";") {
                let name = text[text.index(after: index)..<semicolon]
                var scalar: Unicode.Scalar?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if name.hasPrefix("#") {
                    scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init)
                } else if let value = named[String(name)] {
                    out += value
                    index = text.index(after: semicolon)
                    continue
                }
                if let scalar {
                    out.unicodeScalars.append(scalar)
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(character)
            index = text.index(after: index)
        }
        return out
    }
}

/// Start tags and their attributes, in document order; comments, `<!…>`, end tags and
/// the contents of `script` and `style` skipped.
struct TagScanner {
    struct Tag {
        var name: String
        var attributes: [String: String]
    }

    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    /// The raw text from here up to `end` (case-insensitive), which is then skipped.
    mutating func text(until end: String) -> String {
        let start = index
        let stop = find(end) ?? scalars.count
        index = stop
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<stop])
        return String(text)
    }

    mutating func next() -> Tag? {
        while index < scalars.count {
            guard scalars[index] == "<" else {
                index += 1
                continue
            }
            if starts(with: "<!--") {
                index = (find("-->") ?? scalars.count - 3) + 3
                continue
            }
            let after = index + 1
            guard after < scalars.count, Self.isLetter(scalars[after]) else {
                index += 1  // an end tag, `<!…>`, `<?…>` or a stray `<`
                continue
            }
            index = after
            let name = readName().lowercased()
            var attributes: [String: String] = [:]
            while index < scalars.count {
                skipSpace()
                guard index < scalars.count else { break }
                if scalars[index] == ">" {
                    index += 1
                    break
                }
                if scalars[index] == "/" {
                    index += 1
                    continue
                }
                let key = readName().lowercased()
                if key.isEmpty {
                    index += 1
                    continue
                }
                skipSpace()
                var value = ""
                if index < scalars.count, scalars[index] == "=" {
                    index += 1
                    skipSpace()
                    value = readValue()
                }
                if attributes[key] == nil { attributes[key] = HTMLImages.decodeEntities(value) }
            }
            if name == "script" || name == "style" { index = find("</" + name) ?? scalars.count }
            return Tag(name: name, attributes: attributes)
        }
        return nil
    }

    private static func isLetter(_ s: Unicode.Scalar) -> Bool { (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") }

    private mutating func skipSpace() {
        while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
    }

    private mutating func readName() -> String {
        var name = String.UnicodeScalarView()
        while index < scalars.count {
            let s = scalars[index]
            if s.properties.isWhitespace || s == ">" || s == "/" || s == "=" { break }
            name.append(s)
            index += 1
        }
        return String(name)
    }

    private mutating func readValue() -> String {
        guard index < scalars.count else { return "" }
        var value = String.UnicodeScalarView()
        let quote = scalars[index]
        if quote == "\"" || quote == "'" {
            index += 1
            while index < scalars.count, scalars[index] != quote {
                value.append(scalars[index])
                index += 1
            }
            index += 1
        } else {
            while index < scalars.count, !scalars[index].properties.isWhitespace, scalars[index] != ">" {
                value.append(scalars[index])
                index += 1
            }
        }
        return String(value)
    }

    /// ASCII lower case: tag names and the markers searched for are ASCII.
    private static func lower(_ s: Unicode.Scalar) -> UInt32 { s >= "A" && s <= "Z" ? s.value + 32 : s.value }

    private func matches(_ pattern: [UInt32], at position: Int) -> Bool {
        guard position + pattern.count <= scalars.count else { return false }
        for (offset, value) in pattern.enumerated() where Self.lower(scalars[position + offset]) != value { return false }
        return true
    }

    private func starts(with prefix: String) -> Bool { matches(prefix.unicodeScalars.map(Self.lower), at: index) }

    private func find(_ needle: String) -> Int? {
        let pattern = needle.unicodeScalars.map(Self.lower)
        guard let first = pattern.first else { return nil }
        var i = index
        while i + pattern.count <= scalars.count {
            if Self.lower(scalars[i]) == first, matches(pattern, at: i) { return i }
            i += 1
        }
        return nil
    }
}
