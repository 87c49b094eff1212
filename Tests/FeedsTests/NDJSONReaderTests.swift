import Feeds
import Testing

private func readLines(_ text: String, chunkSize: Int, maxLineSize: Int = 4 << 20) throws(FeedError) -> [NDJSONLine] {
    try readLines(Array(text.utf8), chunkSize: chunkSize, maxLineSize: maxLineSize)
}

private func readLines(_ bytes: [UInt8], chunkSize: Int, maxLineSize: Int = 4 << 20) throws(FeedError) -> [NDJSONLine] {
    let reader = NDJSONReader(
        source: BufferByteSource(bytes: bytes, chunkSize: chunkSize, name: "feed.ndjson"),
        maxLineSize: maxLineSize, readChunkSize: chunkSize
    )
    var lines: [NDJSONLine] = []
    while let line = try reader.next() {
        lines.append(line)
    }
    return lines
}

@Suite("NDJSONReader")
struct NDJSONReaderTests {
    @Test("lines split on LF and CRLF; blank and whitespace-only lines are skipped", arguments: chunkSizes)
    func splitting(chunkSize: Int) throws {
        let text = "{\"a\":1}\n{\"b\":\"x\\ny\"}\r\n\n   \n\t\r\n \r{\"c\":[true,null]}\n\n{\"d\":\"\r\"}"
        let lines = try readLines(text, chunkSize: chunkSize)
        #expect(lines.map(\.line) == [1, 2, 6, 8])
        #expect(lines.map { String(decoding: $0.raw, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":\"x\\ny\"}", " \r{\"c\":[true,null]}", "{\"d\":\"\r\"}"])
        #expect(lines.map(\.byteOffset) == [0, 8, 30, 51])
        #expect(try lines[0].parse() == .object([JSONMember(key: "a", value: .number(text: "1"))]))
        #expect(try lines[1].parseObject().first?.value == .string("x\ny"))
        #expect(try lines[2].parse()["c"] == .array([.bool(true), .null]))
        // A raw CR inside a string is a control character: JSON requires it escaped.
        let error = expectFeedError(.invalidJSON) { () throws(FeedError) in try lines[3].parse() }
        #expect(error?.line == 8)
        #expect(error?.column == 7)
    }

    @Test("a byte order mark, a missing final newline, empty input", arguments: chunkSizes)
    func edges(chunkSize: Int) throws {
        let withBOM = try readLines([0xEF, 0xBB, 0xBF] + Array("{}\n{}".utf8), chunkSize: chunkSize)
        #expect(withBOM.map(\.line) == [1, 2])
        #expect(withBOM.map(\.raw) == [Array("{}".utf8), Array("{}".utf8)])
        #expect(try readLines("", chunkSize: chunkSize).isEmpty)
        #expect(try readLines("\n\r\n  \n", chunkSize: chunkSize).isEmpty)
        #expect(try readLines("{}\n", chunkSize: chunkSize).count == 1)
        #expect(try readLines("{}\r", chunkSize: chunkSize).map(\.raw) == [Array("{}".utf8)])
    }

    @Test("parse errors carry the line, column, offset and the line's bytes", arguments: chunkSizes)
    func parseErrors(chunkSize: Int) throws {
        let lines = try readLines("{\"ok\":1}\n\n{\"amount\":01}\n[1,2]\n{\"a\":1,\"a\":2}\n", chunkSize: chunkSize)
        let leadingZero = expectFeedError(.invalidJSON) { () throws(FeedError) in try lines[1].parse() }
        #expect(leadingZero?.line == 3)
        #expect(leadingZero?.column == 11)
        #expect(leadingZero?.byteOffset == 20)
        #expect(leadingZero?.source == "feed.ndjson")
        #expect(leadingZero?.record == Array("{\"amount\":01}".utf8))
        #expect(try lines[2].parse() == .array([.number(text: "1"), .number(text: "2")]))
        let notObject = expectFeedError(.notAnObject) { () throws(FeedError) in try lines[2].parseObject() }
        #expect(notObject?.line == 4)
        let duplicate = expectFeedError(.duplicateKey) { () throws(FeedError) in try lines[3].parseObject() }
        #expect(duplicate?.line == 5)
        #expect(duplicate?.column == 8)
    }

    @Test("a line longer than the limit fails with its line number", arguments: chunkSizes)
    func lineTooLong(chunkSize: Int) throws {
        #expect(try readLines("{\"a\":\"12\"}\r\n", chunkSize: chunkSize, maxLineSize: 10).count == 1)
        let error = expectFeedError(.recordTooLarge) { () throws(FeedError) in
            try readLines("{}\n\n{\"a\":\"123\"}\n{}\n", chunkSize: chunkSize, maxLineSize: 10)
        }
        #expect(error?.line == 3)
        let endless = expectFeedError(.recordTooLarge) { () throws(FeedError) in
            try readLines([UInt8](repeating: 0x20, count: 100_000), chunkSize: max(chunkSize, 1024), maxLineSize: 1000)
        }
        #expect(endless?.line == 1)
    }
}
