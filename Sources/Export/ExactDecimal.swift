/// A decimal kept exactly while it is summed: an integer significand and a decimal scale.
struct ExactDecimal: Sendable, Equatable {
    var significand: Int128 = 0
    var scale = 0

    /// Parses `-123.4500`; nil for anything else (exponents never come from PostgreSQL numerics).
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return nil }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; i = 1 } else if bytes[0] == UInt8(ascii: "+") { i = 1 }
        var digits = 0, seenPoint = false
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else if b >= 0x30 && b <= 0x39 {
                guard digits < 36 else { return nil }
                significand = significand * 10 + Int128(b - 0x30)
                digits += 1
                if seenPoint { scale += 1 }
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        if negative { significand = -significand }
    }

    init() {}

    /// Parses decimal text such as a report's totals.
    init?(text: String) {
        var bytes = Array(text.utf8)
        guard let value = bytes.withUnsafeMutableBytes({ ExactDecimal(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = value
    }

    /// Equal as numbers, whatever the scales (`1.50` and `1.5`).
    func sameValue(_ other: ExactDecimal) -> Bool {
        let (a, b, _) = Self.aligned(self, other)
        return a == b
    }

    mutating func add(_ other: ExactDecimal) {
        let (a, b, scale) = Self.aligned(self, other)
        self = ExactDecimal(significand: a + b, scale: scale)
    }

    /// Both significands at the larger of the two scales.
    private static func aligned(_ x: ExactDecimal, _ y: ExactDecimal) -> (Int128, Int128, Int) {
        var a = x, b = y
        while a.scale < b.scale { a.significand *= 10; a.scale += 1 }
        while b.scale < a.scale { b.significand *= 10; b.scale += 1 }
        return (a.significand, b.significand, a.scale)
    }

    private init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    /// Plain decimal text with the largest scale seen (`39.98`, `0`).
    var text: String {
        let negative = significand < 0
        var digits = String(negative ? -significand : significand)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }
}
