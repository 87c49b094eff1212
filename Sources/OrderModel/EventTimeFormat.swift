import Foundation

/// How a carrier's export writes the time of a tracking event: RFC 3339, seconds or
/// milliseconds since the epoch, or a local-time pattern (`MM/DD/YYYY HH:mm:ss`).
///
/// Zone rule: a time with an offset (`Z`, `+01:00`) is taken as written. A time without one is
/// read in the configured IANA zone (`America/Chicago`), with that zone's offset at that
/// moment (daylight saving included); with no zone configured it is an error, never a guess.
/// In the hour a clock repeats when daylight saving ends, the first occurrence is used; a time
/// in the hour skipped when it begins is read with the offset before the change (02:30 → 03:30).
public struct EventTimeFormat: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case rfc3339
        case epochSeconds
        case epochMilliseconds
        case pattern([PatternToken])
    }

    /// One element of a local-time pattern.
    public enum PatternToken: Sendable, Equatable {
        case year, month, day, hour24, hour12, minute, second, fraction, meridiem
        /// `M`, `D`, `H`, `h`: one or two digits.
        case shortMonth, shortDay, shortHour24, shortHour12
        case literal(UInt8)
    }

    public var kind: Kind
    /// IANA zone for times written without an offset.
    public var zone: String?
    /// The format as written in the pipeline file.
    public var text: String

    public var description: String { zone.map { "\(text) in \($0)" } ?? text }

    public static let rfc3339 = EventTimeFormat(kind: .rfc3339, zone: nil, text: "rfc3339")

    init(kind: Kind, zone: String?, text: String) {
        self.kind = kind
        self.zone = zone
        self.text = text
    }

    /// Reads a pipeline's `event_time.format` (`rfc3339`, `epoch_seconds`, `epoch_millis`, or a
    /// pattern of YYYY MM M DD D HH H hh h mm ss SSS a) and `zone`; `nil` when either is unusable.
    public init?(format: String, zone: String?) {
        if let zone, TimeZone(identifier: zone) == nil { return nil }
        self.zone = zone
        self.text = format
        switch format {
        case "rfc3339": kind = .rfc3339
        case "epoch_seconds": kind = .epochSeconds
        case "epoch_millis", "epoch_milliseconds": kind = .epochMilliseconds
        default:
            guard let tokens = Self.tokens(format), zone != nil else { return nil }
            kind = .pattern(tokens)
        }
    }

    static func tokens(_ pattern: String) -> [PatternToken]? {
        let names: [(String, PatternToken)] = [
            ("YYYY", .year), ("MM", .month), ("DD", .day), ("HH", .hour24), ("hh", .hour12), ("mm", .minute),
            ("ss", .second), ("SSS", .fraction), ("M", .shortMonth), ("D", .shortDay), ("H", .shortHour24),
            ("h", .shortHour12), ("a", .meridiem),
        ]
        var rest = Substring(pattern)
        var tokens: [PatternToken] = []
        outer: while !rest.isEmpty {
            for (name, token) in names where rest.hasPrefix(name) {
                tokens.append(token)
                rest = rest.dropFirst(name.count)
                continue outer
            }
            guard let c = rest.first, c.isASCII, !c.isLetter || c == "T" else { return nil }
            tokens.append(.literal(c.asciiValue!))
            rest = rest.dropFirst()
        }
        let has = { (t: PatternToken) in tokens.contains(t) }
        guard has(.year), has(.month) || has(.shortMonth), has(.day) || has(.shortDay),
              has(.hour24) || has(.shortHour24) || ((has(.hour12) || has(.shortHour12)) && has(.meridiem)), has(.minute) else { return nil }
        return tokens
    }
}

/// Parses event times of one format; keeps the zone's offsets per hour so that millions of
/// events cost one zone lookup per distinct hour. One per reader thread (not `Sendable`).
public final class EventTimeParser {
    public let format: EventTimeFormat
    private let zone: TimeZone?
    private var offsets: [Int64: Int64] = [:]

    public init(_ format: EventTimeFormat) {
        self.format = format
        zone = format.zone.flatMap(TimeZone.init(identifier:))
    }

    /// 9999-12-31T23:59:59Z.
    static let maxEpochSeconds: Int64 = 253_402_300_799

    /// Why a value was refused, for the reject message.
    public enum Problem: Error, Equatable {
        case unreadable
        case missingZone
    }

    /// The instant `bytes` names, or why it cannot be read.
    public func parse(_ bytes: ArraySlice<UInt8>) -> Result<Timestamp, Problem> {
        switch format.kind {
        case .rfc3339:
            var b = bytes
            if let t = Timestamp(rfc3339Bytes: &b) { return .success(t) }
            var local = bytes
            guard let naive = Timestamp(rfc3339Bytes: &local, assumeUTC: true) else { return .failure(.unreadable) }
            guard zone != nil else { return .failure(.missingZone) }
            return .success(fromLocal(naive))
        case .epochSeconds, .epochMilliseconds:
            var value: Int64 = 0
            var digits = 0
            var i = bytes.startIndex
            let negative = i < bytes.endIndex && bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var fraction: Int64 = 0, fractionDigits = 0
            var inFraction = false
            while i < bytes.endIndex {
                let c = bytes[i]
                if c == UInt8(ascii: "."), !inFraction { inFraction = true; i += 1; continue }
                guard c >= 0x30, c <= 0x39, digits < 16 else { return .failure(.unreadable) }
                if inFraction {
                    if fractionDigits < 6 { fraction = fraction * 10 + Int64(c - 0x30); fractionDigits += 1 }
                } else {
                    value = value * 10 + Int64(c - 0x30)
                    digits += 1
                }
                i += 1
            }
            // Up to the end of year 9999, like every other format: beyond it the microseconds
            // would overflow (found by the fuzzer: a 16-digit epoch trapped the reader).
            let unit: Int64 = format.kind == .epochSeconds ? 1_000_000 : 1_000
            guard digits > 0, value < (Self.maxEpochSeconds + 1) * (1_000_000 / unit) else { return .failure(.unreadable) }
            for _ in fractionDigits..<6 { fraction *= 10 }
            var micros = value * unit + fraction * unit / 1_000_000
            if negative { micros = -micros }
            return .success(Timestamp(microseconds: micros))
        case .pattern(let tokens):
            guard let naive = Self.parse(bytes, tokens) else { return .failure(.unreadable) }
            return .success(fromLocal(naive))
        }
    }

    /// A wall-clock time read as UTC, moved to the instant it names in the zone.
    private func fromLocal(_ naive: Timestamp) -> Timestamp {
        guard zone != nil else { return naive }
        let seconds = naive.microseconds >= 0 ? naive.microseconds / 1_000_000 : (naive.microseconds - 999_999) / 1_000_000
        let first = offset(atUTC: seconds)
        let second = offset(atUTC: seconds - first)
        if first == second { return Timestamp(microseconds: naive.microseconds - first * 1_000_000) }
        // Near a change the offset at the wall time read as UTC may be the wrong one. If the
        // other offset holds at the instant it gives, that is the answer; if not, the wall time
        // falls in the gap when clocks spring forward, and is read as the hour after it.
        let other = seconds - second
        let chosen = offset(atUTC: other) == second ? second : first
        return Timestamp(microseconds: naive.microseconds - chosen * 1_000_000)
    }

    private func offset(atUTC seconds: Int64) -> Int64 {
        let hour = seconds >= 0 ? seconds / 3600 : (seconds - 3599) / 3600
        if let known = offsets[hour] { return known }
        let value = Int64(zone!.secondsFromGMT(for: Date(timeIntervalSince1970: Double(hour * 3600))))
        // Zones change offset on the hour (all but a historical few), so the offset at the
        // start of an hour holds for all of it.
        if offsets.count > 100_000 { offsets.removeAll(keepingCapacity: true) }
        offsets[hour] = value
        return value
    }

    static func parse(_ b: ArraySlice<UInt8>, _ tokens: [EventTimeFormat.PatternToken]) -> Timestamp? {
        var i = b.startIndex
        func number(min: Int, max: Int) -> Int? {
            var v = 0, n = 0
            while n < max, i < b.endIndex, b[i] >= 0x30, b[i] <= 0x39 {
                v = v * 10 + Int(b[i] - 0x30)
                n += 1
                i += 1
            }
            return n >= min ? v : nil
        }
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0
        var pm: Bool?
        var twelve = false
        for token in tokens {
            switch token {
            case .year: guard let v = number(min: 4, max: 4) else { return nil }; year = v
            case .month: guard let v = number(min: 2, max: 2) else { return nil }; month = v
            case .shortMonth: guard let v = number(min: 1, max: 2) else { return nil }; month = v
            case .day: guard let v = number(min: 2, max: 2) else { return nil }; day = v
            case .shortDay: guard let v = number(min: 1, max: 2) else { return nil }; day = v
            case .hour24: guard let v = number(min: 2, max: 2) else { return nil }; hour = v
            case .shortHour24: guard let v = number(min: 1, max: 2) else { return nil }; hour = v
            case .hour12: guard let v = number(min: 2, max: 2) else { return nil }; hour = v; twelve = true
            case .shortHour12: guard let v = number(min: 1, max: 2) else { return nil }; hour = v; twelve = true
            case .minute: guard let v = number(min: 2, max: 2) else { return nil }; minute = v
            case .second: guard let v = number(min: 2, max: 2) else { return nil }; second = v
            case .fraction:
                let start = i
                guard let v = number(min: 1, max: 9) else { return nil }
                let digits = i - start
                micros = digits <= 6 ? v * [1, 100_000, 10_000, 1_000, 100, 10, 1][digits] : v / [1, 10, 100, 1000][digits - 6]
            case .meridiem:
                guard i + 1 < b.endIndex, b[i + 1] | 0x20 == UInt8(ascii: "m") else { return nil }
                switch b[i] | 0x20 {
                case UInt8(ascii: "a"): pm = false
                case UInt8(ascii: "p"): pm = true
                default: return nil
                }
                i += 2
            case .literal(let c):
                guard i < b.endIndex, b[i] == c else { return nil }
                i += 1
            }
        }
        guard i == b.endIndex else { return nil }
        if twelve {
            guard let pm, (1...12).contains(hour) else { return nil }
            hour = hour % 12 + (pm ? 12 : 0)
        }
        guard (1...12).contains(month), day >= 1, day <= Timestamp.daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60 else { return nil }
        let days = Int64(Timestamp.daysSinceEpoch(year: year, month: month, day: day))
        return Timestamp(microseconds: (days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000 + Int64(micros))
    }
}
