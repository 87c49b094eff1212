// Written here, not taken from SwiftCSV or CSV.swift: those decode into Strings from a whole file or
// a character stream; this parses bytes in place, streams with bounded memory and keeps each
// record's line number and raw bytes for the rejects file.

/// Streams RFC 4180 records out of a `ByteSource` with memory bounded by `CSVOptions`.
///
/// Records end in LF, CRLF or a lone CR; quoted fields may hold delimiters, quotes (doubled) and
/// line breaks; a UTF-8 byte order mark at the start is skipped; the last record needs no line
/// break. `unexpectedQuote` errors carry the record's bytes and the reader continues with the next
/// line; every other error is final and repeated by later calls.
public final class CSVReader<Source: ByteSource> {
    /// The source's name, used in errors.
    public var name: String { source.name }
    /// The options this reader was created with.
    public var options: CSVOptions { scanner.options }

    private var source: Source
    // The parser state lives in a non-generic struct: it is compiled once, fully specialized, and
    // a mutating call on it is one exclusivity check instead of one per property access.
    private var scanner: CSVScanner
    private var failure: FeedError?

    /// Reads records from `source`.
    public init(source: Source, options: CSVOptions = CSVOptions()) {
        self.source = source
        self.scanner = CSVScanner(options: options, sourceName: source.name)
    }

    deinit {
        scanner.deallocate()
    }

    /// The next record, or `nil` at the end of the input.
    public func next() throws(FeedError) -> CSVRecord? {
        if let failure { throw failure }
        do throws(FeedError) {
            while true {
                switch try scanner.nextRecord() {
                case .record(let record):
                    return record
                case .end:
                    return nil
                case .needInput:
                    let space = try scanner.prepareForInput()
                    scanner.didRead(try source.read(into: space))
                }
            }
        } catch {
            if error.code != .unexpectedQuote { failure = error }
            throw error
        }
    }
}

/// The byte-level CSV state machine, fed by `CSVReader`.
struct CSVScanner {
    enum Step {
        case record(CSVRecord)
        case needInput
        case end
    }

    private enum State {
        case beforeRecord
        case fieldStart
        case unquoted
        case quoted
        case afterQuote
        case skippingLine
    }

    let options: CSVOptions
    private let name: String
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var end = 0
    private var scanPosition = 0
    private var recordStart = 0
    private var recordEnd = 0
    private var fieldStart = 0
    private var fieldNeedsUnescape = false
    private var state = State.beforeRecord
    // Offsets relative to `recordStart`, two per field.
    private var bounds: [Int] = []
    private var unescapedFields: [Int] = []
    private var storage: [UInt8] = []
    // Bytes dropped from the front of `buffer` so far, to report absolute offsets.
    private var discarded: Int64 = 0
    private var line = 1
    private var lineStart: Int64 = 0
    private var recordLine = 1
    private var recordLineStart: Int64 = 0
    private var skipLineFeed = false
    private var checkedByteOrderMark = false
    private var atEnd = false
    private var pendingError: FeedError?
    // Bytes that end an unquoted run: delimiter, quote, CR, LF.
    private let stops: UnsafeMutablePointer<Bool>

    init(options: CSVOptions, sourceName: String) {
        precondition(options.delimiter != options.quote, "delimiter and quote must differ")
        precondition(![0x0A, 0x0D].contains(options.delimiter) && ![0x0A, 0x0D].contains(options.quote), "CR and LF cannot be delimiter or quote")
        precondition(options.maxFieldSize > 0 && options.maxRecordSize > 0 && options.readChunkSize > 0, "sizes must be positive")
        self.options = options
        self.name = sourceName
        self.capacity = max(options.readChunkSize, 16)
        self.buffer = .allocate(capacity: capacity)
        self.stops = .allocate(capacity: 256)
        stops.initialize(repeating: false, count: 256)
        stops[Int(options.delimiter)] = true
        stops[Int(options.quote)] = true
        stops[0x0A] = true
        stops[0x0D] = true
    }

    /// Frees the buffers; the owner calls this exactly once, from its deinit.
    func deallocate() {
        buffer.deallocate()
        stops.deallocate()
    }

    mutating func nextRecord() throws(FeedError) -> Step {
        if !checkedByteOrderMark {
            if end < 3 && !atEnd { return .needInput }
            if end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
                scanPosition = 3
                lineStart = 3
            }
            checkedByteOrderMark = true
        }
        while true {
            switch state {
            case .beforeRecord:
                if scanPosition == end {
                    return atEnd ? .end : .needInput
                }
                if skipLineFeed {
                    skipLineFeed = false
                    if buffer[scanPosition] == 0x0A {
                        scanPosition += 1
                        lineStart = absolute(scanPosition)
                        continue
                    }
                }
                beginRecord()
            case .skippingLine:
                if try skipRestOfLine() {
                    throw pendingError!
                }
                return .needInput
            default:
                if try scan() {
                    return .record(makeRecord())
                }
                if state == .skippingLine { continue }
                if atEnd {
                    return try finishAtEnd().map(Step.record) ?? .end
                }
                return .needInput
            }
        }
    }

    private mutating func beginRecord() {
        recordStart = scanPosition
        fieldStart = scanPosition
        recordLine = line
        recordLineStart = lineStart
        fieldNeedsUnescape = false
        bounds.removeAll(keepingCapacity: true)
        unescapedFields.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    @inline(__always)
    private func absolute(_ index: Int) -> Int64 {
        discarded + Int64(index)
    }

    /// Advances over buffered bytes; true when a record ended at a line break.
    private mutating func scan() throws(FeedError) -> Bool {
        let p = buffer
        let end = self.end
        let stops = self.stops
        let delimiter = options.delimiter
        let quote = options.quote
        var i = scanPosition
        var state = self.state
        defer {
            scanPosition = i
            self.state = state
        }
        while i < end {
            switch state {
            case .fieldStart:
                fieldStart = i
                if p[i] == quote {
                    state = .quoted
                    fieldNeedsUnescape = false
                    i += 1
                } else {
                    state = .unquoted
                }
            case .unquoted:
                while i < end && !stops[Int(p[i])] {
                    i += 1
                }
                if i == end { return false }
                let byte = p[i]
                if byte == delimiter {
                    try closeField(from: fieldStart, to: i, quoted: false)
                    state = .fieldStart
                    i += 1
                } else if byte == quote {
                    if !options.allowsQuotesInUnquotedFields {
                        state = .skippingLine
                        pendingError = unexpectedQuote(at: i, reason: "quote inside an unquoted field")
                        i += 1
                        return false
                    }
                    i += 1
                } else {
                    try closeField(from: fieldStart, to: i, quoted: false)
                    try endRecord(at: i, terminator: byte)
                    i += 1
                    state = .beforeRecord
                    return true
                }
            case .quoted:
                var line = self.line
                var lineStart = self.lineStart
                while i < end {
                    let byte = p[i]
                    if byte == quote { break }
                    if byte == 0x0A {
                        // The quote before any field content guarantees p[i - 1] is in the buffer.
                        if p[i - 1] != 0x0D { line += 1 }
                        lineStart = absolute(i + 1)
                    } else if byte == 0x0D {
                        line += 1
                        lineStart = absolute(i + 1)
                    }
                    i += 1
                }
                self.line = line
                self.lineStart = lineStart
                if i == end { return false }
                state = .afterQuote
                i += 1
            case .afterQuote:
                let byte = p[i]
                if byte == quote {
                    fieldNeedsUnescape = true
                    state = .quoted
                    i += 1
                } else if byte == delimiter {
                    try closeField(from: fieldStart, to: i, quoted: true)
                    state = .fieldStart
                    i += 1
                } else if byte == 0x0A || byte == 0x0D {
                    try closeField(from: fieldStart, to: i, quoted: true)
                    try endRecord(at: i, terminator: byte)
                    i += 1
                    state = .beforeRecord
                    return true
                } else {
                    state = .skippingLine
                    pendingError = unexpectedQuote(at: i, reason: "expected a delimiter or line break after the closing quote")
                    return false
                }
            case .beforeRecord, .skippingLine:
                preconditionFailure("scan called in state \(state)")
            }
        }
        return false
    }

    private func unexpectedQuote(at index: Int, reason: String) -> FeedError {
        FeedError(
            .unexpectedQuote, source: name, line: line, column: Int(absolute(index) - lineStart) + 1,
            byteOffset: absolute(index), reason: reason
        )
    }

    /// After a malformed record, consumes up to the end of the physical line so the caller can go
    /// on with the next record; true once the line (or input) ended.
    private mutating func skipRestOfLine() throws(FeedError) -> Bool {
        var i = scanPosition
        while i < end && buffer[i] != 0x0A && buffer[i] != 0x0D {
            i += 1
        }
        scanPosition = i
        if i == end && !atEnd {
            try checkRecordSize()
            return false
        }
        pendingError!.record = Array(UnsafeBufferPointer(start: buffer + recordStart, count: i - recordStart))
        if i < end {
            skipLineFeed = buffer[i] == 0x0D
            scanPosition = i + 1
            line += 1
            lineStart = absolute(i + 1)
        }
        state = .beforeRecord
        return true
    }

    private mutating func closeField(from start: Int, to end: Int, quoted: Bool) throws(FeedError) {
        let contentStart = quoted ? start + 1 : start
        let contentEnd = quoted ? end - 1 : end
        if contentEnd - contentStart > options.maxFieldSize {
            throw tooLarge("field \(bounds.count / 2 + 1) is longer than \(options.maxFieldSize) bytes")
        }
        if quoted && fieldNeedsUnescape {
            unescapedFields.append(bounds.count / 2)
        }
        bounds.append(contentStart - recordStart)
        bounds.append(contentEnd - recordStart)
    }

    private mutating func endRecord(at index: Int, terminator: UInt8) throws(FeedError) {
        recordEnd = index
        if index - recordStart > options.maxRecordSize {
            throw tooLarge("record is longer than \(options.maxRecordSize) bytes")
        }
        skipLineFeed = terminator == 0x0D
        line += 1
        lineStart = absolute(index + 1)
    }

    private mutating func finishAtEnd() throws(FeedError) -> CSVRecord? {
        switch state {
        case .quoted:
            // Report where the quote opened: that is where the user has to look.
            var quoteLine = recordLine
            var quoteLineStart = recordLineStart
            var i = recordStart
            while i < fieldStart {
                if buffer[i] == 0x0D || (buffer[i] == 0x0A && (i == recordStart || buffer[i - 1] != 0x0D)) {
                    quoteLine += 1
                }
                if buffer[i] == 0x0D || buffer[i] == 0x0A {
                    quoteLineStart = absolute(i + 1)
                }
                i += 1
            }
            let quoteColumn = Int(absolute(fieldStart) - quoteLineStart) + 1
            throw FeedError(
                .unterminatedQuote, source: name, line: recordLine, column: quoteLine == recordLine ? quoteColumn : nil,
                byteOffset: absolute(fieldStart),
                reason: "the quoted field opened at line \(quoteLine), column \(quoteColumn) is not closed before the end of the input"
            )
        case .fieldStart:
            try closeField(from: end, to: end, quoted: false)
        case .unquoted:
            try closeField(from: fieldStart, to: end, quoted: false)
        case .afterQuote:
            try closeField(from: fieldStart, to: end, quoted: true)
        case .beforeRecord, .skippingLine:
            return nil
        }
        recordEnd = end
        if end - recordStart > options.maxRecordSize {
            throw tooLarge("record is longer than \(options.maxRecordSize) bytes")
        }
        scanPosition = end
        state = .beforeRecord
        return makeRecord()
    }

    private func tooLarge(_ reason: String) -> FeedError {
        FeedError(.recordTooLarge, source: name, line: recordLine, byteOffset: absolute(recordStart), reason: reason)
    }

    private mutating func makeRecord() -> CSVRecord {
        let rawCount = recordEnd - recordStart
        storage.removeAll(keepingCapacity: true)
        storage.append(contentsOf: UnsafeBufferPointer(start: buffer + recordStart, count: rawCount))
        if !unescapedFields.isEmpty {
            let quote = options.quote
            for field in unescapedFields {
                let start = bounds[2 * field]
                let end = bounds[2 * field + 1]
                let newStart = storage.count
                var i = start
                while i < end {
                    let byte = storage[i]
                    storage.append(byte)
                    i += byte == quote && i + 1 < end && storage[i + 1] == quote ? 2 : 1
                }
                bounds[2 * field] = newStart
                bounds[2 * field + 1] = storage.count
            }
        }
        return CSVRecord(line: recordLine, byteOffset: absolute(recordStart), storage: storage, rawCount: rawCount, bounds: bounds)
    }

    private func checkRecordSize() throws(FeedError) {
        if end - recordStart > options.maxRecordSize {
            throw tooLarge("record is longer than \(options.maxRecordSize) bytes")
        }
        if (state == .unquoted || state == .quoted || state == .afterQuote) && end - fieldStart > options.maxFieldSize + 2 {
            throw tooLarge("field \(bounds.count / 2 + 1) is longer than \(options.maxFieldSize) bytes")
        }
    }

    /// Keeps the unfinished record, drops what came before it, and returns free space to read into.
    mutating func prepareForInput() throws(FeedError) -> UnsafeMutableRawBufferPointer {
        let keep = state == .beforeRecord ? scanPosition : recordStart
        if state != .beforeRecord {
            try checkRecordSize()
        }
        scanPosition -= keep
        recordStart -= keep
        fieldStart -= keep
        return SlidingBuffer.prepare(&buffer, capacity: &capacity, end: &end, discarded: &discarded,
                                     dropping: keep, readChunkSize: options.readChunkSize)
    }

    /// Accounts for `count` bytes read into the space from `prepareForInput`; 0 means end of input.
    mutating func didRead(_ count: Int) {
        if count == 0 {
            atEnd = true
        } else {
            end += count
        }
    }
}

extension CSVReader {
    /// The first record that is not blank (a feed's header); `nil` for an empty file.
    public func nextNonBlank() throws(FeedError) -> CSVRecord? {
        while let record = try next() {
            if !record.isBlank { return record }
        }
        return nil
    }

    /// The next non-blank record, or `.failure` for a record with a stray quote (the reader has
    /// already resynchronized at the next line, so the caller rejects it and goes on); other
    /// errors throw; `nil` at the end.
    public func nextOrMalformed() throws(FeedError) -> Result<CSVRecord, FeedError>? {
        while true {
            do {
                guard let record = try next() else { return nil }
                if !record.isBlank { return .success(record) }
            } catch where error.code == .unexpectedQuote {
                return .failure(error)
            }
        }
    }
}
