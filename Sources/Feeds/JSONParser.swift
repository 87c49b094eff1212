// Written here, not Foundation's JSONSerialization: it keeps number text exact (money), rejects
// duplicate keys and bounds nesting depth, and reports line and column; none of the libraries does all four.

/// A strict recursive-descent JSON parser over bytes (RFC 8259): no comments, no trailing commas,
/// no leading zeros, no NaN, only well-formed UTF-8, unique keys.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let count: Int
    private var i = 0
    private var depth = 0
    private let maxDepth: Int
    private let source: String
    private let firstLine: Int
    private let baseOffset: Int64
    // Reused for strings that contain escapes; plain strings are decoded straight from the input.
    private var scratch: [UInt8] = []

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, source: String, firstLine: Int, baseOffset: Int64) {
        self.baseOffset = baseOffset
        self.bytes = bytes
        self.count = bytes.count
        self.maxDepth = maxDepth
        self.source = source
        self.firstLine = firstLine
    }

    /// Parses the whole buffer as one JSON text; `firstLine` and `baseOffset` place the buffer in
    /// its file, for error positions.
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, source: String, firstLine: Int = 1, baseOffset: Int64 = 0
    ) throws(FeedError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth, source: source, firstLine: firstLine, baseOffset: baseOffset)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.i < parser.count {
            throw parser.error(.invalidJSON, "unexpected \(parser.describe(parser.i)) after the JSON value", at: parser.i)
        }
        return value
    }

    private mutating func skipWhitespace() {
        while i < count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(FeedError) -> JSONValue {
        guard i < count else { throw error(.invalidJSON, "unexpected end of input, expected a value", at: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(text: try parseNumber())
        default:
            throw error(.invalidJSON, "unexpected \(describe(i)), expected a value", at: i)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(FeedError) {
        let start = i
        let length = literal.utf8CodeUnitCount
        let text = literal.utf8Start
        guard count - i >= length else {
            throw error(.invalidJSON, "invalid literal, expected \(literal)", at: start)
        }
        for offset in 0..<length where bytes[i + offset] != text[offset] {
            throw error(.invalidJSON, "invalid literal, expected \(literal)", at: start)
        }
        i += length
    }

    private mutating func enter() throws(FeedError) {
        depth += 1
        if depth > maxDepth {
            throw error(.nestingTooDeep, "arrays and objects nest deeper than \(maxDepth) levels", at: i)
        }
    }

    private mutating func parseObject() throws(FeedError) -> JSONValue {
        try enter()
        i += 1
        var members: [JSONMember] = []
        var keys: Set<String> = []
        skipWhitespace()
        if i < count && bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(members)
        }
        while true {
            guard i < count, bytes[i] == UInt8(ascii: "\"") else {
                let afterComma = !members.isEmpty && i < count && bytes[i] == UInt8(ascii: "}")
                throw error(.invalidJSON, afterComma ? "trailing comma in object" : "expected a string key, found \(describe(i))", at: i)
            }
            let keyStart = i
            let key = try parseString()
            // Small objects are the norm; a linear scan beats hashing until they grow.
            let duplicate: Bool
            if members.count < 16 {
                duplicate = members.contains { $0.key == key }
            } else {
                if keys.isEmpty { keys = Set(members.map(\.key)) }
                duplicate = !keys.insert(key).inserted
            }
            if duplicate {
                throw error(.duplicateKey, "duplicate key \"\(key)\"", at: keyStart)
            }
            skipWhitespace()
            guard i < count, bytes[i] == UInt8(ascii: ":") else {
                throw error(.invalidJSON, "expected ':' after key, found \(describe(i))", at: i)
            }
            i += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONMember(key: key, value: value))
            skipWhitespace()
            guard i < count else { throw error(.invalidJSON, "unexpected end of input in object", at: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                skipWhitespace()
            } else if bytes[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                return .object(members)
            } else {
                throw error(.invalidJSON, "expected ',' or '}' in object, found \(describe(i))", at: i)
            }
        }
    }

    private mutating func parseArray() throws(FeedError) -> JSONValue {
        try enter()
        i += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if i < count && bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            if i < count && bytes[i] == UInt8(ascii: "]") {
                throw error(.invalidJSON, "trailing comma in array", at: i)
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard i < count else { throw error(.invalidJSON, "unexpected end of input in array", at: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                skipWhitespace()
            } else if bytes[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                return .array(elements)
            } else {
                throw error(.invalidJSON, "expected ',' or ']' in array, found \(describe(i))", at: i)
            }
        }
    }

    private mutating func parseNumber() throws(FeedError) -> String {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < count, isDigit(bytes[i]) else {
            throw error(.invalidJSON, "expected a digit in number, found \(describe(i))", at: i)
        }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < count && isDigit(bytes[i]) {
                throw error(.invalidJSON, "leading zero in number", at: start)
            }
        } else {
            while i < count && isDigit(bytes[i]) { i += 1 }
        }
        if i < count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            try digits(after: "'.'")
        }
        if i < count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            try digits(after: "the exponent")
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    private mutating func digits(after what: String) throws(FeedError) {
        guard i < count, isDigit(bytes[i]) else {
            throw error(.invalidJSON, "expected a digit after \(what), found \(describe(i))", at: i)
        }
        while i < count && isDigit(bytes[i]) { i += 1 }
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private mutating func parseString() throws(FeedError) -> String {
        let open = i
        i += 1
        let start = i
        var runStart = i
        var escaped = false
        while true {
            // Fast path: plain printable ASCII.
            while i < count {
                let byte = bytes[i]
                if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
                i += 1
            }
            guard i < count else {
                throw error(.invalidJSON, "string is not closed before the end of input", at: open)
            }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                if !escaped {
                    scratch.removeAll(keepingCapacity: true)
                    escaped = true
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                try parseEscape()
                runStart = i
            } else if byte < 0x20 {
                throw error(.invalidJSON, "control character \(describe(i)) in string (must be escaped)", at: i)
            } else {
                i += try utf8SequenceLength(at: i)
            }
        }
        let value: String
        if escaped {
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
            value = String(decoding: scratch, as: UTF8.self)
        } else {
            value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
        i += 1
        return value
    }

    /// Decodes the escape at `i` (the backslash) into `scratch` and moves past it.
    private mutating func parseEscape() throws(FeedError) {
        let escapeStart = i
        i += 1
        guard i < count else {
            throw error(.invalidJSON, "string is not closed before the end of input", at: escapeStart)
        }
        let byte = bytes[i]
        i += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(escapeStart: escapeStart)
            if (0xD800...0xDBFF).contains(scalar) {
                guard count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                    throw error(.invalidJSON, "high surrogate \\u\(hex(scalar)) is not followed by a low surrogate", at: escapeStart)
                }
                let lowStart = i
                i += 2
                let low = try hex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error(.invalidJSON, "high surrogate \\u\(hex(scalar)) is followed by \\u\(hex(low)), not a low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error(.invalidJSON, "lone low surrogate \\u\(hex(scalar))", at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw error(.invalidJSON, "invalid escape \\\(describeRaw(byte)) in string", at: escapeStart)
        }
    }

    private mutating func hex4(escapeStart: Int) throws(FeedError) -> UInt32 {
        guard count - i >= 4 else {
            throw error(.invalidJSON, "\\u escape needs four hex digits", at: escapeStart)
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidJSON, "\\u escape needs four hex digits", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            i += 1
        }
        return value
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            scratch.append(UInt8(scalar))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Length of the well-formed UTF-8 sequence starting at `index` (Unicode Table 3-7), which
    /// excludes overlong forms, surrogates and code points above U+10FFFF.
    private func utf8SequenceLength(at index: Int) throws(FeedError) -> Int {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default:
            throw error(.invalidUTF8, "invalid UTF-8 lead byte 0x\(String(lead, radix: 16, uppercase: true)) in string", at: index)
        }
        guard count - index >= length, secondRange.contains(bytes[index + 1]) else {
            throw error(.invalidUTF8, "truncated or invalid UTF-8 sequence in string", at: index)
        }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw error(.invalidUTF8, "truncated or invalid UTF-8 sequence in string", at: index)
        }
        return length
    }

    private func describe(_ index: Int) -> String {
        index < count ? "'\(describeRaw(bytes[index]))'" : "end of input"
    }

    private func describeRaw(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
    }

    /// Builds an error, computing line and column only now, since errors are rare.
    private func error(_ code: FeedError.Code, _ reason: String, at index: Int) -> FeedError {
        var line = firstLine
        var lineStart = 0
        var k = 0
        while k < index && k < count {
            let byte = bytes[k]
            if byte == 0x0D || (byte == 0x0A && (k == 0 || bytes[k - 1] != 0x0D)) {
                line += 1
            }
            if byte == 0x0D || byte == 0x0A {
                lineStart = k + 1
            }
            k += 1
        }
        return FeedError(code, source: source, line: line, column: index - lineStart + 1, byteOffset: baseOffset + Int64(index), reason: reason)
    }
}
