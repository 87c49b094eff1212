import ErrorCodes

/// An error reading a feed: what went wrong (`code`), where (`source`, `line`, `column`,
/// `byteOffset`) and a human-readable `reason`.
public struct FeedError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; extensible like postgres-nio's `PSQLError.Code`, so adding a code is
    /// not a source-breaking change for callers that `switch` with a default.
    public typealias Code = ErrorCode<FeedError>

    /// What went wrong.
    public var code: Code
    /// The input's name (a path, `stdin`, or a name given to an in-memory source).
    public var source: String
    /// 1-based physical line, when the error is about a position in text.
    public var line: Int?
    /// 1-based byte column within `line`.
    public var column: Int?
    /// 0-based byte offset: in the decoded text for parse errors, in the compressed input for gzip
    /// errors.
    public var byteOffset: Int64?
    /// Human-readable detail.
    public var reason: String
    /// The offending record's original bytes, when the error concerns one record and the reader
    /// can go on past it (so a rejects file can reproduce it).
    public var record: [UInt8]?

    /// Creates an error; positions are optional because not every failure has one.
    public init(
        _ code: Code,
        source: String,
        line: Int? = nil,
        column: Int? = nil,
        byteOffset: Int64? = nil,
        reason: String,
        record: [UInt8]? = nil
    ) {
        self.code = code
        self.source = source
        self.line = line
        self.column = column
        self.byteOffset = byteOffset
        self.reason = reason
        self.record = record
    }

    /// `source:line:column: code: reason`, the shape compilers use, so editors can jump to it.
    public var description: String {
        var location = source
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        } else if let byteOffset {
            location += "@\(byteOffset)"
        }
        return "\(location): \(code): \(reason)"
    }
}

extension ErrorCode where Domain == FeedError {
    /// Opening, reading or writing a file failed (the reason carries `strerror`).
    public static let io = Self("io")
    /// A gzip stream ended before its end-of-member marker.
    public static let truncated = Self("truncated")
    /// zlib rejected the compressed data (bad header, bad block, CRC32 or length mismatch).
    public static let corrupt = Self("corrupt")
    /// Bytes after the last complete gzip member that do not start another member.
    public static let trailingGarbage = Self("trailingGarbage")
    /// Decompressed output exceeded `DecompressionLimits` (size or ratio): a likely gzip bomb.
    public static let decompressionLimitExceeded = Self("decompressionLimitExceeded")
    /// zlib failed for a reason that is not the data's fault (out of memory, internal state).
    public static let zlibFailure = Self("zlibFailure")
    /// A quoted CSV field is still open at the end of the input.
    public static let unterminatedQuote = Self("unterminatedQuote")
    /// A CSV quote inside an unquoted field, or something other than a delimiter or line end
    /// right after a closing quote.
    public static let unexpectedQuote = Self("unexpectedQuote")
    /// A CSV field/record or an NDJSON line is longer than the configured maximum.
    public static let recordTooLarge = Self("recordTooLarge")
    /// JSON syntax error (unexpected byte, trailing comma, leading zero, bad escape, …).
    public static let invalidJSON = Self("invalidJSON")
    /// A JSON string contains bytes that are not well-formed UTF-8.
    public static let invalidUTF8 = Self("invalidUTF8")
    /// A JSON object has the same key twice.
    public static let duplicateKey = Self("duplicateKey")
    /// JSON arrays/objects nest deeper than the configured maximum.
    public static let nestingTooDeep = Self("nestingTooDeep")
    /// An NDJSON line holds valid JSON that is not an object.
    public static let notAnObject = Self("notAnObject")
}
