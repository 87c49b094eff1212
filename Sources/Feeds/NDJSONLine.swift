/// One non-blank line of an NDJSON feed: where it is and its bytes, parsed on demand so that a
/// malformed line can become a reject instead of stopping the feed.
public struct NDJSONLine: Sendable, Equatable {
    /// The feed's name, for errors.
    public let source: String
    /// 1-based line number.
    public let line: Int
    /// 0-based offset of the line's first byte in the decoded input.
    public let byteOffset: Int64
    /// The line without its LF or CRLF terminator.
    public let raw: [UInt8]

    /// Creates a line; the reader does this, tests may too.
    public init(source: String, line: Int, byteOffset: Int64, raw: [UInt8]) {
        self.source = source
        self.line = line
        self.byteOffset = byteOffset
        self.raw = raw
    }

    /// Parses the line as JSON; errors carry this line's number, column and bytes.
    public func parse(maxDepth: Int = 64) throws(FeedError) -> JSONValue {
        var result: Result<JSONValue, FeedError>!
        raw.withUnsafeBufferPointer { buffer in
            result = Result { () throws(FeedError) in
                try JSONParser.parse(buffer, maxDepth: maxDepth, source: source, firstLine: line, baseOffset: byteOffset)
            }
        }
        do {
            return try result.get()
        } catch {
            var error = error
            error.record = raw
            throw error
        }
    }

    /// Parses the line and requires a JSON object, returning its members in order.
    public func parseObject(maxDepth: Int = 64) throws(FeedError) -> [JSONMember] {
        let value = try parse(maxDepth: maxDepth)
        guard case .object(let members) = value else {
            var column = 1
            while column <= raw.count && [0x20, 0x09, 0x0D].contains(raw[column - 1]) { column += 1 }
            throw FeedError(
                .notAnObject, source: source, line: line, column: column, byteOffset: byteOffset + Int64(column - 1),
                reason: "each line must be a JSON object", record: raw
            )
        }
        return members
    }
}
