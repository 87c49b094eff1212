/// A pipeline or export file that cannot be used, said with its file, key and what was expected.
public struct DefinitionError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var key: String
    public var expected: String
    public var description: String { "\(file): \(key.isEmpty ? "(top level)" : key): expected \(expected)" }

    public init(file: String, key: String, expected: String) {
        self.file = file
        self.key = key
        self.expected = expected
    }
}
