import Foundation

/// Two photos and whether they show the same person.
public struct FacePair: Sendable, Equatable {
    /// Paths relative to the image folder: `Name/Name_0001.jpg`.
    public var first: String
    public var second: String
    public var sameIdentity: Bool
    /// The fold the pair belongs to (0 when the file has no folds).
    public var fold: Int
}

/// An LFW-style pairs file.
///
/// The first line is either `N` (one set: N same-person pairs, then N
/// different-person pairs) or `F N` (F folds, each N same-person pairs followed by
/// N different-person pairs). A same-person line is `name i j`; a different-person
/// line is `name1 i name2 j`; image i of `name` is `name/name_%04d.jpg`.
public struct PairsProtocol: Sendable {
    public var pairs: [FacePair]
    public var folds: Int

    public enum ParseError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case badHeader(String)
        case badLine(number: Int, text: String)
        case wrongCount(expected: Int, found: Int)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read pairs file \(path): \(reason)"
            case .badHeader(let line): "the first line of a pairs file must be 'N' or 'FOLDS N', not '\(line)'"
            case .badLine(let number, let text): "line \(number) is not 'name i j' or 'name1 i name2 j': '\(text)'"
            case .wrongCount(let expected, let found): "the header announces \(expected) pairs but the file has \(found)"
            }
        }
    }

    public init(contentsOf path: String) throws(ParseError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(text: text)
    }

    public init(text: String) throws(ParseError) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let header = lines.first else { throw .badHeader("") }
        let numbers = header.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (folds, perSide): (Int, Int)
        switch numbers.count {
        case 1: (folds, perSide) = (1, numbers[0])
        case 2: (folds, perSide) = (numbers[0], numbers[1])
        default: throw .badHeader(header)
        }
        guard folds > 0, perSide > 0 else { throw .badHeader(header) }
        let body = lines.dropFirst()
        guard body.count == folds * perSide * 2 else { throw .wrongCount(expected: folds * perSide * 2, found: body.count) }

        var pairs: [FacePair] = []
        for (offset, line) in body.enumerated() {
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            let fold = folds == 1 ? 0 : offset / (2 * perSide)
            switch fields.count {
            case 3:
                guard let i = Int(fields[1]), let j = Int(fields[2]) else { throw .badLine(number: offset + 2, text: line) }
                pairs.append(FacePair(first: Self.path(fields[0], i), second: Self.path(fields[0], j), sameIdentity: true, fold: fold))
            case 4:
                guard let i = Int(fields[1]), let j = Int(fields[3]) else { throw .badLine(number: offset + 2, text: line) }
                pairs.append(FacePair(first: Self.path(fields[0], i), second: Self.path(fields[2], j), sameIdentity: false, fold: fold))
            default:
                throw .badLine(number: offset + 2, text: line)
            }
        }
        self.pairs = pairs
        self.folds = folds
    }

    /// The pairs of `protocols` together, dealt into `folds` folds: the k-th same-person
    /// pair and the k-th different-person pair go to fold k mod `folds`, so every fold
    /// has as many of each kind (give or take one).
    public init(pooling protocols: [PairsProtocol], folds: Int) {
        var counts = [true: 0, false: 0]
        pairs = protocols.flatMap(\.pairs).map { pair in
            var dealt = pair
            dealt.fold = counts[pair.sameIdentity, default: 0] % folds
            counts[pair.sameIdentity, default: 0] += 1
            return dealt
        }
        self.folds = folds
    }

    static func path(_ name: String, _ index: Int) -> String {
        "\(name)/\(name)_\(String(format: "%04d", index)).jpg"
    }

    /// Every image the pairs refer to, once each, in first-seen order.
    public var images: [String] {
        var seen = Set<String>()
        return pairs.flatMap { [$0.first, $0.second] }.filter { seen.insert($0).inserted }
    }
}
