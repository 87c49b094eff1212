import Feeds
import Testing

/// An input and the records it must produce: line, fields and raw bytes.
struct CSVCase: Sendable, CustomTestStringConvertible {
    struct Expected: Sendable {
        var line: Int
        var fields: [String]
        var raw: String
    }

    var name: String
    var input: [UInt8]
    var options = CSVOptions()
    var expected: [Expected]

    var testDescription: String { name }

    init(_ name: String, _ input: String, options: CSVOptions = CSVOptions(), _ expected: [(Int, [String], String)]) {
        self.init(name, Array(input.utf8), options: options, expected)
    }

    init(_ name: String, _ input: [UInt8], options: CSVOptions = CSVOptions(), _ expected: [(Int, [String], String)]) {
        self.name = name
        self.input = input
        self.options = options
        self.expected = expected.map { Expected(line: $0.0, fields: $0.1, raw: $0.2) }
    }

    static let all: [CSVCase] = [
        CSVCase("LF", "a,b,c\n1,2,3\n", [(1, ["a", "b", "c"], "a,b,c"), (2, ["1", "2", "3"], "1,2,3")]),
        CSVCase("CRLF", "a,b\r\n1,2\r\n", [(1, ["a", "b"], "a,b"), (2, ["1", "2"], "1,2")]),
        CSVCase("lone CR", "a,b\r1,2\r", [(1, ["a", "b"], "a,b"), (2, ["1", "2"], "1,2")]),
        CSVCase("mixed terminators", "a\nb\r\nc\rd", [(1, ["a"], "a"), (2, ["b"], "b"), (3, ["c"], "c"), (4, ["d"], "d")]),
        CSVCase("no final newline", "a,b\n1,2", [(1, ["a", "b"], "a,b"), (2, ["1", "2"], "1,2")]),
        CSVCase("final CR only", "a\r", [(1, ["a"], "a")]),
        CSVCase("empty input", "", []),
        CSVCase("byte order mark", [0xEF, 0xBB, 0xBF] + Array("id,name\n1,x\n".utf8), [(1, ["id", "name"], "id,name"), (2, ["1", "x"], "1,x")]),
        CSVCase("byte order mark only", [0xEF, 0xBB, 0xBF], []),
        CSVCase("BOM bytes later are data", "a\n\u{FEFF}b\n", [(1, ["a"], "a"), (2, ["\u{FEFF}b"], "\u{FEFF}b")]),
        CSVCase("blank lines are records with one empty field", "a\n\nb\r\n\r\nc\r\rd\n",
                [(1, ["a"], "a"), (2, [""], ""), (3, ["b"], "b"), (4, [""], ""), (5, ["c"], "c"), (6, [""], ""), (7, ["d"], "d")]),
        CSVCase("only a newline", "\n", [(1, [""], "")]),
        CSVCase("empty fields", ",\na,\n,b\n,,\n", [(1, ["", ""], ","), (2, ["a", ""], "a,"), (3, ["", "b"], ",b"), (4, ["", "", ""], ",,")]),
        CSVCase("trailing delimiter at EOF", "a,", [(1, ["a", ""], "a,")]),
        CSVCase("quoted fields", "\"a\",\"b,c\",\"\"\n", [(1, ["a", "b,c", ""], "\"a\",\"b,c\",\"\"")]),
        CSVCase("doubled quotes", "\"say \"\"hi\"\"\",\"\"\"\"\n\"\"\"x\",y", [(1, ["say \"hi\"", "\""], "\"say \"\"hi\"\"\",\"\"\"\""), (2, ["\"x", "y"], "\"\"\"x\",y")]),
        CSVCase("line breaks inside quotes count as lines", "id,note\n1,\"two\nlines\"\n2,\"cr\rand\r\ncrlf\"\n3,x\n",
                [(1, ["id", "note"], "id,note"), (2, ["1", "two\nlines"], "1,\"two\nlines\""),
                 (4, ["2", "cr\rand\r\ncrlf"], "2,\"cr\rand\r\ncrlf\""), (7, ["3", "x"], "3,x")]),
        CSVCase("quoted field at EOF", "a,\"b\nc\"", [(1, ["a", "b\nc"], "a,\"b\nc\"")]),
        CSVCase("spaces are kept", " a , b \n", [(1, [" a ", " b "], " a , b ")]),
        CSVCase("UTF-8 content", "naïve,日本,😀\n", [(1, ["naïve", "日本", "😀"], "naïve,日本,😀")]),
        CSVCase("semicolon and single quote", "a;'b;c';'it''s'\n", options: CSVOptions(delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "'")),
                [(1, ["a", "b;c", "it's"], "a;'b;c';'it''s'")]),
        CSVCase("tab delimited, double quotes literal with single-quote quoting", "a\tb\"\n", options: CSVOptions(delimiter: 0x09, quote: UInt8(ascii: "'")),
                [(1, ["a", "b\""], "a\tb\"")]),
        CSVCase("quotes allowed in unquoted fields", "a,b\"c\nx\"y\",\"q\"\"\"\n", options: CSVOptions(allowsQuotesInUnquotedFields: true),
                [(1, ["a", "b\"c"], "a,b\"c"), (2, ["x\"y\"", "q\""], "x\"y\",\"q\"\"\"")]),
    ]
}

@Suite("CSVReader")
struct CSVReaderTests {
    @Test("records, line numbers and raw bytes", arguments: CSVCase.all, chunkSizes)
    func records(testCase: CSVCase, chunkSize: Int) throws {
        let records = try readCSV(testCase.input, chunkSize: chunkSize, options: testCase.options)
        #expect(records.map(\.strings) == testCase.expected.map(\.fields))
        #expect(records.map(\.line) == testCase.expected.map(\.line))
        #expect(records.map { Array($0.raw) } == testCase.expected.map { Array($0.raw.utf8) })
        for record in records {
            #expect(record.isBlank == (record.raw.isEmpty))
        }
    }

    @Test("byte offsets point at each record's first byte", arguments: chunkSizes)
    func byteOffsets(chunkSize: Int) throws {
        let input = "\u{FEFF}a,b\r\n\"x\ny\",z\n\nlast"
        let bytes = Array(input.utf8)
        let records = try readCSV(bytes, chunkSize: chunkSize)
        for record in records {
            let start = Int(record.byteOffset)
            #expect(Array(bytes[start..<(start + record.raw.count)]) == Array(record.raw))
        }
        #expect(records.map(\.byteOffset) == [3, 8, 16, 17])
    }

    @Test("an unterminated quote reports the record's line and the quote's position", arguments: chunkSizes)
    func unterminatedQuote(chunkSize: Int) throws {
        let error = expectFeedError(.unterminatedQuote) { () throws(FeedError) in
            try readCSV("id,name\n1,\"abc\n2,def\n", chunkSize: chunkSize)
        }
        #expect(error?.line == 2)
        #expect(error?.column == 3)
        #expect(error?.source == "test.csv")

        let later = expectFeedError(.unterminatedQuote) { () throws(FeedError) in
            try readCSV("h\nx,\"a\nb\",\"c\n", chunkSize: chunkSize)
        }
        #expect(later?.line == 2)
        #expect(later?.column == nil)
        #expect(later?.reason.contains("line 3, column 4") == true)
    }

    @Test("a quote inside an unquoted field is an error; reading goes on at the next line", arguments: chunkSizes)
    func quoteInUnquotedField(chunkSize: Int) throws {
        let reader = CSVReader(source: BufferByteSource(string: "a,b\nc,d\"e,f\n1,2\n", chunkSize: chunkSize))
        #expect(try reader.next()?.strings == ["a", "b"])
        let error = expectFeedError(.unexpectedQuote) { () throws(FeedError) in try reader.next() }
        #expect(error?.line == 2)
        #expect(error?.column == 4)
        #expect(error?.byteOffset == 7)
        #expect(error?.record == Array("c,d\"e,f".utf8))
        let next = try reader.next()
        #expect(next?.strings == ["1", "2"])
        #expect(next?.line == 3)
        #expect(try reader.next() == nil)
    }

    @Test("anything but a delimiter or line break after a closing quote is an error", arguments: chunkSizes)
    func garbageAfterClosingQuote(chunkSize: Int) throws {
        let reader = CSVReader(source: BufferByteSource(string: "\"multi\nline\"x,1\r\nok,2", chunkSize: chunkSize))
        let error = expectFeedError(.unexpectedQuote) { () throws(FeedError) in try reader.next() }
        #expect(error?.line == 2)
        #expect(error?.column == 6)
        #expect(error?.record == Array("\"multi\nline\"x,1".utf8))
        let next = try reader.next()
        #expect(next?.strings == ["ok", "2"])
        #expect(next?.line == 3)
        #expect(try reader.next() == nil)

        let atEnd = CSVReader(source: BufferByteSource(string: "\"a\" ", chunkSize: chunkSize))
        let endError = expectFeedError(.unexpectedQuote) { () throws(FeedError) in try atEnd.next() }
        #expect(endError?.record == Array("\"a\" ".utf8))
        #expect(try atEnd.next() == nil)

        let lenient = CSVReader(source: BufferByteSource(string: "\"a\"b\n", chunkSize: chunkSize), options: CSVOptions(allowsQuotesInUnquotedFields: true))
        _ = expectFeedError(.unexpectedQuote) { () throws(FeedError) in try lenient.next() }
    }

    @Test("records and fields above the limits fail with recordTooLarge", arguments: chunkSizes)
    func sizeLimits(chunkSize: Int) throws {
        let options = CSVOptions(maxFieldSize: 8, maxRecordSize: 20)
        #expect(try readCSV("12345678,12345678\n", chunkSize: chunkSize, options: options).count == 1)
        let field = expectFeedError(.recordTooLarge) { () throws(FeedError) in
            try readCSV("ok\n123456789\n", chunkSize: chunkSize, options: options)
        }
        #expect(field?.line == 2)
        let quoted = expectFeedError(.recordTooLarge) { () throws(FeedError) in
            try readCSV("\"12345678\"\n\"12\"\"345\"\n\"123456789\"", chunkSize: chunkSize, options: options)
        }
        #expect(quoted?.line == 3)
        let record = expectFeedError(.recordTooLarge) { () throws(FeedError) in
            try readCSV("a\nb\n1234,1234,1234,1234,1234\n", chunkSize: chunkSize, options: options)
        }
        #expect(record?.line == 3)
    }

    @Test("a huge input without line breaks fails instead of buffering it all")
    func noLineBreaks() throws {
        let options = CSVOptions(maxRecordSize: 64 * 1024, readChunkSize: 4096)
        let reader = CSVReader(source: BufferByteSource(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: 50 << 20), chunkSize: 4096), options: options)
        let error = expectFeedError(.recordTooLarge) { () throws(FeedError) in try reader.next() }
        #expect(error?.line == 1)
        // Errors other than unexpectedQuote are final.
        _ = expectFeedError(.recordTooLarge) { () throws(FeedError) in try reader.next() }
    }

    @Test("random records round-trip through quoting, all terminators and chunkings", arguments: chunkSizes)
    func randomRoundTrip(chunkSize: Int) throws {
        var generator = SplitMix64(seed: UInt64(chunkSize))
        let alphabet: [String] = ["a", "b", "é", "😀", ",", "\"", "\n", "\r", "\r\n", " ", "x1"]
        let terminators = ["\n", "\r\n", "\r"]
        var text = ""
        var expected: [(line: Int, fields: [String], raw: String)] = []
        var line = 1
        for index in 0..<300 {
            let fieldCount = Int(generator.next() % 5) + 1
            let fields = (0..<fieldCount).map { _ in
                (0..<Int(generator.next() % 6)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            }
            let raw = fields.map { field in
                let needsQuotes = field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
                    || generator.next() % 4 == 0
                return needsQuotes ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }.joined(separator: ",")
            expected.append((line, fields, raw))
            line += lineBreaks(in: raw) + 1
            text += raw
            // A blank record ending in LF right after a CR-terminated one would read as CRLF.
            if raw.isEmpty {
                text += ["\r\n", "\r"][Int(generator.next() % 2)]
            } else if index < 299 || generator.next() % 2 == 0 {
                text += terminators[Int(generator.next() % 3)]
            }
        }
        let records = try readCSV(text, chunkSize: chunkSize)
        #expect(records.count == expected.count)
        for (record, expectation) in zip(records, expected) {
            #expect(record.strings == expectation.fields)
            #expect(record.line == expectation.line)
            #expect(Array(record.raw) == Array(expectation.raw.utf8))
        }
    }

    @Test("fields are available as bytes without copying")
    func fieldBytes() throws {
        let record = try #require(try readCSV("\"a\"\"b\",cd\n", chunkSize: 64).first)
        #expect(record.count == 2)
        #expect(Array(record[0]) == Array("a\"b".utf8))
        #expect(record.withField(at: 1) { Array($0) } == Array("cd".utf8))
        #expect(record.string(atIfPresent: 1) == "cd")
        #expect(record.string(atIfPresent: 2) == nil)
        #expect(record.map { $0.count } == [3, 2])
    }

    @Test("a record kept by the caller is not overwritten by later reads")
    func recordsAreValues() throws {
        let reader = CSVReader(source: BufferByteSource(string: "\"x\"\"1\",a\n\"y\"\"2\",b\n"))
        let first = try #require(try reader.next())
        let second = try #require(try reader.next())
        #expect(first.strings == ["x\"1", "a"])
        #expect(second.strings == ["y\"2", "b"])
    }

    private func lineBreaks(in text: String) -> Int {
        var count = 0
        var previousCR = false
        for byte in text.utf8 {
            if byte == 0x0D || (byte == 0x0A && !previousCR) { count += 1 }
            previousCR = byte == 0x0D
        }
        return count
    }
}

@Suite("CSVHeader")
struct CSVHeaderTests {
    @Test("names match case-insensitively, ignoring surrounding spaces")
    func lookup() throws {
        let record = try #require(try readCSV("Order_ID , customer_id,\" Status\",Ünïcode\n", chunkSize: 64).first)
        let header = CSVHeader(record: record)
        #expect(header.names == ["Order_ID ", " customer_id", " Status", "Ünïcode"])
        #expect(header.index(of: "order_id") == 0)
        #expect(header.index(of: "  CUSTOMER_ID") == 1)
        #expect(header.index(of: "status") == 2)
        #expect(header.index(of: "ünïcode") == 3)
        #expect(header.index(of: "order id") == nil)
        #expect(header.missing(["status", "amount", "order_id"]) == ["amount"])
        #expect(header.duplicates.isEmpty)
    }

    @Test("repeated names: the first wins and they are reported")
    func duplicates() {
        let header = CSVHeader(names: ["id", "ID ", "name", "Id"])
        #expect(header.index(of: "id") == 0)
        #expect(header.duplicates == ["id"])
    }
}

@Suite("CSVReader record loop helpers")
struct CSVReaderLoopTests {
    @Test func headerSkipsBlankLinesAndMalformedRecordsComeBackAsFailuresThenReadingGoesOn() throws {
        let text = "\n\na,b\n1,2\nx\"y,3\n\n4,5\n"
        let reader = CSVReader(source: BufferByteSource(string: text, chunkSize: 3), options: CSVOptions())
        let header = try #require(try reader.nextNonBlank())
        #expect(header.line == 3 && header.count == 2)
        var seen: [String] = []
        while let next = try reader.nextOrMalformed() {
            switch next {
            case .success(let r): seen.append("\(r.line):" + (0..<r.count).map { String(decoding: r[$0], as: UTF8.self) }.joined(separator: "|"))
            case .failure(let e): seen.append("\(e.line ?? -1):\(e.code)")
            }
        }
        #expect(seen == ["4:1|2", "5:unexpectedQuote", "7:4|5"])
        #expect(try CSVReader(source: BufferByteSource(string: "\n\n"), options: CSVOptions()).nextNonBlank() == nil)
    }
}
