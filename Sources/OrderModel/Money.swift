/// An exact non-negative-or-negative decimal amount, kept as an integer significand and a scale.
///
/// Parsed from text and written back as text, never through `Double`, so `19.99` stays `19.99`
/// from the feed to the database. Up to 18 significant digits and 6 decimal places.
public struct Money: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let significand: Int64
    /// Digits after the decimal point (as written in the input).
    public let scale: UInt8

    public static let maxScale: UInt8 = 6

    public init(significand: Int64, scale: UInt8) {
        self.significand = significand
        self.scale = scale
    }

    /// Reads `123`, `-4.5`, `0.990`; rejects exponents, `+`, spaces, empty parts and overflow.
    public init?(_ text: some StringProtocol) {
        var utf8 = Array(text.utf8)[...]
        self.init(bytes: &utf8)
    }

    /// Byte-level parse for the hot path (no String).
    public init?(bytes: inout ArraySlice<UInt8>) {
        var negative = false
        var i = bytes.startIndex
        if i < bytes.endIndex && bytes[i] == 0x2D { negative = true; i += 1 }
        var value: Int64 = 0
        var intDigits = 0, fracDigits = 0, significant = 0
        var seenDot = false
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == 0x2E {
                if seenDot { return nil }
                seenDot = true
            } else if c >= 0x30 && c <= 0x39 {
                if seenDot { fracDigits += 1 } else { intDigits += 1 }
                if value != 0 || c != 0x30 { significant += 1 }
                if significant > 18 || fracDigits > Int(Money.maxScale) { return nil }
                value = value * 10 + Int64(c - 0x30)
            } else {
                return nil
            }
            i += 1
        }
        guard intDigits > 0, !seenDot || fracDigits > 0 else { return nil }
        significand = negative ? -value : value
        scale = UInt8(fracDigits)
    }

    public static let zero = Money(significand: 0, scale: 0)

    public var isNegative: Bool { significand < 0 }

    /// The amount scaled to `scale` digits (exact: scales only grow).
    func significand(atScale target: UInt8) -> Int64 {
        var v = significand
        for _ in scale..<max(scale, target) { v *= 10 }
        return v
    }

    public static func < (a: Money, b: Money) -> Bool {
        let s = max(a.scale, b.scale)
        return a.significand(atScale: s) < b.significand(atScale: s)
    }

    /// Equal amounts are equal whatever their scale (`1.5 == 1.50`).
    public static func == (a: Money, b: Money) -> Bool {
        let s = max(a.scale, b.scale)
        return a.significand(atScale: s) == b.significand(atScale: s)
    }

    public func hash(into hasher: inout Hasher) {
        var v = significand, s = scale
        while s > 0 && v % 10 == 0 { v /= 10; s -= 1 }
        hasher.combine(v)
        hasher.combine(s)
    }

    /// Sum and product (quantity × price), exact; `nil` on overflow.
    public func adding(_ other: Money) -> Money? {
        let s = max(scale, other.scale)
        let (r, o) = significand(atScale: s).addingReportingOverflow(other.significand(atScale: s))
        return o ? nil : Money(significand: r, scale: s)
    }

    public func multiplied(by factor: Int) -> Money? {
        let (r, o) = significand.multipliedReportingOverflow(by: Int64(factor))
        return o ? nil : Money(significand: r, scale: scale)
    }

    /// The decimal text, with the input's scale (`19.90` stays `19.90`).
    public var description: String {
        let magnitude = significand.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= Int(scale) { digits = String(repeating: "0", count: Int(scale) - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -Int(scale)))
        }
        return (significand < 0 ? "-" : "") + digits
    }
}

extension Money: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let m = Money(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal amount: \(text)")
        }
        self = m
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
