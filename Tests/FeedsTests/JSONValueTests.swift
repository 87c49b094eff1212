import Feeds
import Testing

struct InvalidJSON: Sendable, CustomTestStringConvertible {
    var input: [UInt8]
    var code: FeedError.Code
    var column: Int
    var testDescription: String { String(decoding: input, as: UTF8.self).debugDescription }

    init(_ text: String, _ code: FeedError.Code = .invalidJSON, column: Int) {
        self.init(Array(text.utf8), code, column: column)
    }

    init(_ bytes: [UInt8], _ code: FeedError.Code = .invalidJSON, column: Int) {
        self.input = bytes
        self.code = code
        self.column = column
    }

    static let all: [InvalidJSON] = [
        InvalidJSON("", column: 1),
        InvalidJSON("   ", column: 4),
        InvalidJSON("{", column: 2),
        InvalidJSON("[1,]", column: 4),
        InvalidJSON("[,1]", column: 2),
        InvalidJSON("{\"a\":1,}", column: 8),
        InvalidJSON("{\"a\":1,,\"b\":2}", column: 8),
        InvalidJSON("{\"a\" 1}", column: 6),
        InvalidJSON("{a:1}", column: 2),
        InvalidJSON("[1 2]", column: 4),
        InvalidJSON("01", column: 1),
        InvalidJSON("-01", column: 1),
        InvalidJSON("00.5", column: 1),
        InvalidJSON("-", column: 2),
        InvalidJSON("1.", column: 3),
        InvalidJSON(".5", column: 1),
        InvalidJSON("1e", column: 3),
        InvalidJSON("1e+", column: 4),
        InvalidJSON("+1", column: 1),
        InvalidJSON("NaN", column: 1),
        InvalidJSON("Infinity", column: 1),
        InvalidJSON("tru", column: 1),
        InvalidJSON("nul", column: 1),
        InvalidJSON("True", column: 1),
        InvalidJSON("'a'", column: 1),
        InvalidJSON("\"abc", column: 1),
        InvalidJSON("\"a\\x\"", column: 3),
        InvalidJSON("\"\\u12\"", column: 2),
        InvalidJSON("\"\\u12G4\"", column: 2),
        InvalidJSON("\"\\ud800\"", column: 2),
        InvalidJSON("\"\\udc00\"", column: 2),
        InvalidJSON("\"\\ud800\\u0041\"", column: 2),
        InvalidJSON("\"a\tb\"", column: 3),
        InvalidJSON("\"a\nb\"", column: 3),
        InvalidJSON([0x22, 0x00, 0x22], column: 2),
        InvalidJSON("1 2", column: 3),
        InvalidJSON("[] x", column: 4),
        InvalidJSON("{} {}", column: 4),
        InvalidJSON("[1]]", column: 4),
        InvalidJSON([0x22, 0xC0, 0xAF, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0xE0, 0x80, 0xAF, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0x61, 0xE2, 0x82, 0x22], .invalidUTF8, column: 3),
        InvalidJSON([0x22, 0x80, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0xFF, 0x22], .invalidUTF8, column: 2),
        InvalidJSON([0x22, 0xF0, 0x9F, 0x98, 0x22], .invalidUTF8, column: 2),
        InvalidJSON("{\"id\":1,\"id\":2}", .duplicateKey, column: 9),
        InvalidJSON("{\"a\":{\"b\":1,\"b\":1}}", .duplicateKey, column: 13),
        InvalidJSON("{\"\\u0061\":1,\"a\":2}", .duplicateKey, column: 13),
    ]
}

@Suite("JSONValue")
struct JSONValueTests {
    @Test("objects keep their order; numbers keep their source text")
    func structure() throws {
        let value = try JSONValue.parse(" {\"z\": 1, \"a\": [-0, 0.50, 1e10, -1.25E-3, 12345678901234567890123, 19.99], \"m\": {\"t\": true, \"f\": false, \"n\": null}} \r\n")
        #expect(value.objectMembers?.map(\.key) == ["z", "a", "m"])
        #expect(value["a"]?.arrayElements?.compactMap(\.numberText) == ["-0", "0.50", "1e10", "-1.25E-3", "12345678901234567890123", "19.99"])
        #expect(value["m"]?["t"]?.boolValue == true)
        #expect(value["m"]?["f"]?.boolValue == false)
        #expect(value["m"]?["n"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(try JSONValue.parse("\"top\"") == .string("top"))
        #expect(try JSONValue.parse("7") == .number(text: "7"))
        #expect(try JSONValue.parse("[]") == .array([]))
        #expect(try JSONValue.parse("{}") == .object([]))
    }

    @Test("string escapes, surrogate pairs and raw UTF-8")
    func strings() throws {
        let value = try JSONValue.parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "é€😀", "a\u0000b", ""]"#)
        #expect(value.arrayElements?.compactMap(\.stringValue) == ["\"\\/\u{8}\u{C}\n\r\t", "é€", "😀", "é€😀", "a\u{0}b", ""])
    }

    @Test("invalid documents fail with the right code and column", arguments: InvalidJSON.all)
    func invalid(testCase: InvalidJSON) {
        let error = expectFeedError(testCase.code) { () throws(FeedError) in try JSONValue.parse(testCase.input, source: "doc.json") }
        #expect(error?.line == 1)
        #expect(error?.column == testCase.column)
        #expect(error?.source == "doc.json")
    }

    @Test("errors on later lines report line and column")
    func multilinePosition() {
        let error = expectFeedError(.invalidJSON) { () throws(FeedError) in
            try JSONValue.parse("{\r\n  \"a\": 1,\n  \"b\": x\n}")
        }
        #expect(error?.line == 3)
        #expect(error?.column == 8)
        #expect(error?.description == "<memory>:3:8: invalidJSON: unexpected 'x', expected a value")
    }

    @Test("nesting deeper than the limit is refused")
    func depth() throws {
        let deep = { (levels: Int) in String(repeating: "[", count: levels) + String(repeating: "]", count: levels) }
        #expect(throws: Never.self) { try JSONValue.parse(deep(64)) }
        _ = expectFeedError(.nestingTooDeep) { () throws(FeedError) in try JSONValue.parse(deep(65)) }
        _ = expectFeedError(.nestingTooDeep) { () throws(FeedError) in try JSONValue.parse("{\"a\":{\"b\":[1]}}", maxDepth: 2) }
        #expect(throws: Never.self) { try JSONValue.parse("{\"a\":{\"b\":1}}", maxDepth: 2) }
        // 100k brackets must fail fast, not overflow the stack.
        _ = expectFeedError(.nestingTooDeep) { () throws(FeedError) in try JSONValue.parse(String(repeating: "[", count: 100_000)) }
    }

    @Test("duplicate keys are found in large objects too")
    func duplicateInLargeObject() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" } + ["\"k17\":0"]
        let error = expectFeedError(.duplicateKey) { () throws(FeedError) in try JSONValue.parse("{" + members.joined(separator: ",") + "}") }
        #expect(error?.reason.contains("k17") == true)
        #expect(throws: Never.self) { try JSONValue.parse("{" + members.dropLast().joined(separator: ",") + "}") }
    }
}
