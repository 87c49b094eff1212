/// How `CSVReader` splits its input.
public struct CSVOptions: Sendable, Hashable {
    /// Field separator byte; comma by default.
    public var delimiter: UInt8
    /// Quote byte; double quote by default.
    public var quote: UInt8
    /// Largest field, in raw bytes (between its quotes, if quoted), before `recordTooLarge`.
    public var maxFieldSize: Int
    /// Largest record, in raw bytes, before `recordTooLarge`; bounds memory for inputs without
    /// line breaks.
    public var maxRecordSize: Int
    /// Accept a quote inside an unquoted field (`5'10"`) as a literal character instead of failing
    /// with `unexpectedQuote`; bytes after a closing quote stay an error either way.
    public var allowsQuotesInUnquotedFields: Bool
    /// How many bytes to ask the source for at a time.
    public var readChunkSize: Int

    /// RFC 4180 defaults with 1 MiB fields and 4 MiB records.
    public init(
        delimiter: UInt8 = UInt8(ascii: ","),
        quote: UInt8 = UInt8(ascii: "\""),
        maxFieldSize: Int = 1 << 20,
        maxRecordSize: Int = 4 << 20,
        allowsQuotesInUnquotedFields: Bool = false,
        readChunkSize: Int = 128 * 1024
    ) {
        self.delimiter = delimiter
        self.quote = quote
        self.maxFieldSize = maxFieldSize
        self.maxRecordSize = maxRecordSize
        self.allowsQuotesInUnquotedFields = allowsQuotesInUnquotedFields
        self.readChunkSize = readChunkSize
    }
}
