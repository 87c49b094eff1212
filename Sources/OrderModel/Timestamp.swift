import Foundation

/// An instant as microseconds since the Unix epoch, parsed from and printed as RFC 3339.
///
/// Written for the formats we accept, byte by byte, because Foundation's formatters are far
/// too slow for millions of rows. Printing uses UTC with milliseconds like the original API
/// (`2024-09-17T03:21:38.892Z`).
public struct Timestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// Seconds since the Unix epoch (what Prometheus and `time()` count in).
    public var unixSeconds: Double { Double(microseconds) / 1e6 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    /// Parses RFC 3339 (`2026-11-01T08:30:00Z`, `…+01:00`, fractions up to 9 digits, `t`/space
    /// as separator). A missing zone is rejected unless `assumeUTC` (zone-less legacy data).
    public init?(rfc3339 text: some StringProtocol, assumeUTC: Bool = false) {
        var bytes = Array(text.utf8)[...]
        self.init(rfc3339Bytes: &bytes, assumeUTC: assumeUTC)
    }

    public init?(rfc3339Bytes b: inout ArraySlice<UInt8>, assumeUTC: Bool = false) {
        let s = b.startIndex
        func num(_ at: Int, _ len: Int) -> Int? {
            guard s + at + len <= b.endIndex else { return nil }
            var v = 0
            for i in (s + at)..<(s + at + len) {
                let c = b[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard b.count >= 19, let y = num(0, 4), b[s + 4] == 0x2D, let mo = num(5, 2), b[s + 7] == 0x2D,
              let d = num(8, 2), b[s + 10] == 0x54 || b[s + 10] == 0x74 || b[s + 10] == 0x20,
              let h = num(11, 2), b[s + 13] == 0x3A, let mi = num(14, 2), b[s + 16] == 0x3A, let sec = num(17, 2),
              (1...12).contains(mo), d >= 1, d <= Timestamp.daysInMonth(year: y, month: mo),
              h < 24, mi < 60, sec < 61 else { return nil }
        var i = s + 19
        var micros = 0
        if i < b.endIndex && b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.endIndex, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 6 { micros = micros * 10 + Int(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0, digits <= 9 else { return nil }
            for _ in min(digits, 6)..<6 { micros *= 10 }
        }
        var offset = 0
        if i == b.endIndex {
            guard assumeUTC else { return nil }
        } else if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            let at = i - s
            // PostgreSQL prints whole-hour offsets as `+00`, RFC 3339 wants `+00:00`: take both.
            guard let oh = num(at + 1, 2), oh < 24 else { return nil }
            var om = 0
            i += 3
            if i < b.endIndex {
                guard b[i] == 0x3A, let m = num(at + 4, 2), m < 60 else { return nil }
                om = m
                i += 3
            }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.endIndex else { return nil }
        let days = Timestamp.daysSinceEpoch(year: y, month: mo, day: d)
        let seconds = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + min(sec, 59)) - Int64(offset)
        microseconds = seconds * 1_000_000 + Int64(micros)
    }

    /// Seconds (or milliseconds when `milliseconds`) since the epoch, as carriers' exports give them.
    public init(epochSeconds: Int64) { microseconds = epochSeconds * 1_000_000 }

    /// UTC with milliseconds: `2024-09-17T03:21:38.892Z`.
    public var description: String { format(fractionDigits: 3) }

    /// UTC with microseconds, exact for the database.
    public var exactDescription: String { format(fractionDigits: 6) }

    private func format(fractionDigits: Int) -> String {
        var days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        if rest < 0 { days -= 1; rest += 86_400_000_000 }
        let (y, m, d) = Timestamp.civil(daysSinceEpoch: Int(days))
        let secs = Int(rest / 1_000_000)
        var frac = Int(rest % 1_000_000)
        for _ in fractionDigits..<6 { frac /= 10 }
        var out = [UInt8]()
        out.reserveCapacity(27)
        func put(_ v: Int, _ width: Int) {
            var div = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            while div > 0 { out.append(UInt8(0x30 + (v / div) % 10)); v %= div; div /= 10 }
        }
        put(y, 4); out.append(0x2D); put(m, 2); out.append(0x2D); put(d, 2); out.append(0x54)
        put(secs / 3600, 2); out.append(0x3A); put(secs / 60 % 60, 2); out.append(0x3A); put(secs % 60, 2)
        out.append(0x2E); put(frac, fractionDigits); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    // Howard Hinnant's civil-date algorithms (proleptic Gregorian), exact and branch-light.
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    public static func civil(daysSinceEpoch z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, doy - (153 * mp + 2) / 5 + 1)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Timestamp {
    /// The current time.
    public static var now: Timestamp {
        Timestamp(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }
}
