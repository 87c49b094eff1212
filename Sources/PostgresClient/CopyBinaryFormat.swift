/// COPY's binary format, for rows built by our own code: the server stores the values as they
/// come instead of parsing text (uuid, timestamptz and numeric input is most of a text COPY's
/// parsing cost). A stream is `header`, tuples (`beginTuple` then one field each), `trailer`.
public enum CopyBinaryFormat {
    /// Signature, flags (no OIDs) and an empty header extension.
    public static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// A field count of -1 ends the stream.
    public static let trailer: [UInt8] = [0xFF, 0xFF]

    /// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
    static let postgresEpochMicroseconds: Int64 = 946_684_800 * 1_000_000

    public static func beginTuple(fields: Int, in buffer: inout [UInt8]) {
        appendBigEndian(UInt16(fields), to: &buffer)
    }

    public static func appendNull(to buffer: inout [UInt8]) {
        appendBigEndian(UInt32(bitPattern: -1), to: &buffer)
    }

    /// Text as it is (UTF-8; the binary format needs no escaping).
    public static func appendText(_ bytes: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        appendBigEndian(UInt32(bytes.count), to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    /// Text that arrives escaped for the text format (`CopyTextFormat.appendEscaped`), unescaped.
    public static func appendTextUnescaping(_ escaped: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        guard escaped.contains(0x5C) else { return appendText(escaped, to: &buffer) }
        let lengthAt = buffer.count
        appendBigEndian(UInt32(0), to: &buffer)
        var i = escaped.startIndex
        while i < escaped.endIndex {
            var byte = escaped[i]
            if byte == 0x5C, i + 1 < escaped.endIndex {
                i += 1
                switch escaped[i] {
                case 0x74: byte = 0x09 // t
                case 0x6E: byte = 0x0A // n
                case 0x72: byte = 0x0D // r
                case 0x62: byte = 0x08 // b
                case 0x66: byte = 0x0C // f
                case 0x76: byte = 0x0B // v
                default: byte = escaped[i]
                }
            }
            buffer.append(byte)
            i += 1
        }
        let length = UInt32(buffer.count - lengthAt - 4).bigEndian
        withUnsafeBytes(of: length) { for (k, b) in $0.enumerated() { buffer[lengthAt + k] = b } }
    }

    public static func appendInt64(_ value: Int64, to buffer: inout [UInt8]) {
        appendBigEndian(UInt32(8), to: &buffer)
        appendBigEndian(UInt64(bitPattern: value), to: &buffer)
    }

    public static func appendInt32(_ value: Int32, to buffer: inout [UInt8]) {
        appendBigEndian(UInt32(4), to: &buffer)
        appendBigEndian(UInt32(bitPattern: value), to: &buffer)
    }

    /// A uuid from its hyphenated hex text; false if the text is not one.
    public static func appendUUID(hex: ArraySlice<UInt8>, to buffer: inout [UInt8]) -> Bool {
        guard hex.count == 36 else { return false }
        appendBigEndian(UInt32(16), to: &buffer)
        var high: UInt8?
        for c in hex where c != 0x2D {
            let nibble: UInt8
            switch c {
            case 0x30...0x39: nibble = c - 0x30
            case 0x61...0x66: nibble = c - 0x61 + 10
            case 0x41...0x46: nibble = c - 0x41 + 10
            default: return false
            }
            if let h = high { buffer.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return true
    }

    /// A timestamptz from microseconds since the Unix epoch.
    public static func appendTimestamp(unixMicroseconds: Int64, to buffer: inout [UInt8]) {
        appendBigEndian(UInt32(8), to: &buffer)
        appendBigEndian(UInt64(bitPattern: unixMicroseconds - postgresEpochMicroseconds), to: &buffer)
    }

    /// A numeric equal to `significand` × 10^-`scale`, with that display scale.
    ///
    /// The format: digit count, weight (of the first base-10000 digit), sign, display scale,
    /// then the base-10000 digits, none of them zero at either end.
    public static func appendNumeric(significand: Int64, scale: Int, to buffer: inout [UInt8]) {
        var magnitude = significand.magnitude
        // Decimal digits, least significant first, at least scale + 1 of them.
        var decimal: [UInt8] = []
        repeat {
            decimal.append(UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        while decimal.count <= scale { decimal.append(0) }
        // Align so that the decimal point falls on a group boundary: pad the fraction on the right.
        let fractionPad = (4 - scale % 4) % 4
        let aligned = [UInt8](repeating: 0, count: fractionPad) + decimal
        let fractionGroups = (scale + fractionPad) / 4
        var groups: [Int16] = [] // most significant first
        var k = aligned.count
        let lead = aligned.count % 4
        if lead > 0 {
            var g: Int16 = 0
            for d in aligned[(k - lead)...].reversed() { g = g * 10 + Int16(d) }
            groups.append(g)
            k -= lead
        }
        while k > 0 {
            var g: Int16 = 0
            for d in aligned[(k - 4)..<k].reversed() { g = g * 10 + Int16(d) }
            groups.append(g)
            k -= 4
        }
        var weight = groups.count - fractionGroups - 1
        while let first = groups.first, first == 0 { groups.removeFirst(); weight -= 1 }
        while let last = groups.last, last == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        appendBigEndian(UInt32(8 + 2 * groups.count), to: &buffer)
        appendBigEndian(UInt16(groups.count), to: &buffer)
        appendBigEndian(UInt16(bitPattern: Int16(weight)), to: &buffer)
        appendBigEndian(UInt16(significand < 0 ? 0x4000 : 0x0000), to: &buffer)
        appendBigEndian(UInt16(scale), to: &buffer)
        for g in groups { appendBigEndian(UInt16(g), to: &buffer) }
    }

    @inline(__always)
    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
