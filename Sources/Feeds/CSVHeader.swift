/// A CSV header row: maps column names to indices, ignoring case and surrounding whitespace.
public struct CSVHeader: Sendable, Hashable {
    /// The names as they appear in the file.
    public let names: [String]
    private let indexByKey: [String: Int]

    /// Builds a header from names; for a repeated name, the first column wins (see `duplicates`).
    public init(names: [String]) {
        self.names = names
        var indexByKey: [String: Int] = [:]
        for (index, name) in names.enumerated() where indexByKey[Self.key(name)] == nil {
            indexByKey[Self.key(name)] = index
        }
        self.indexByKey = indexByKey
    }

    /// Builds a header from a record's fields.
    public init(record: CSVRecord) {
        self.init(names: record.strings)
    }

    /// The column index of `name`, matched case-insensitively and ignoring surrounding spaces.
    public func index(of name: String) -> Int? {
        indexByKey[Self.key(name)]
    }

    /// Whether the header has a column called `name`.
    public func contains(_ name: String) -> Bool {
        index(of: name) != nil
    }

    /// Names (normalized) that occur more than once; a mapping usually rejects such a header.
    public var duplicates: [String] {
        var seen: Set<String> = []
        var repeated: [String] = []
        for name in names {
            let key = Self.key(name)
            if !seen.insert(key).inserted && !repeated.contains(key) {
                repeated.append(key)
            }
        }
        return repeated
    }

    /// The names of `required` that the header lacks, in the order given.
    public func missing(_ required: [String]) -> [String] {
        required.filter { index(of: $0) == nil }
    }

    private static func key(_ name: String) -> String {
        var scalars = Substring(name).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace {
            scalars.removeFirst()
        }
        while let last = scalars.last, last.properties.isWhitespace {
            scalars.removeLast()
        }
        return String(Substring(scalars)).lowercased()
    }
}
