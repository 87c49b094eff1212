/// A JSON value, parsed strictly; numbers keep their exact source text so money and identifiers
/// never pass through a binary floating point value.
public enum JSONValue: Sendable, Hashable {
    /// An object's members in source order (keys are unique: duplicates are a parse error).
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number exactly as written, e.g. `"-12.50"` or `"1e3"`.
    case number(text: String)
    case bool(Bool)
    case null

    /// The member named `key` of an object; `nil` for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The members, if this is an object.
    public var objectMembers: [JSONMember]? {
        if case .object(let members) = self { members } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayElements: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The number's source text, if this is a number.
    public var numberText: String? {
        if case .number(let text) = self { text } else { nil }
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// Parses one JSON text (RFC 8259, no extensions); whitespace may surround it, nothing else.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64, source: String = "<memory>") throws(FeedError) -> JSONValue {
        var result: Result<JSONValue, FeedError>!
        bytes.withUnsafeBufferPointer { buffer in
            result = Result { () throws(FeedError) in
                try JSONParser.parse(buffer, maxDepth: maxDepth, source: source)
            }
        }
        return try result.get()
    }

    /// Parses the UTF-8 bytes of `text`.
    public static func parse(_ text: String, maxDepth: Int = 64, source: String = "<memory>") throws(FeedError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, source: source)
    }
}

/// One key/value pair of a JSON object.
public struct JSONMember: Sendable, Hashable {
    /// The key, unescaped.
    public var key: String
    /// The value.
    public var value: JSONValue

    /// Creates a member.
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
