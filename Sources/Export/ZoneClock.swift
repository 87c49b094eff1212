import Foundation
import OrderModel

/// Wall-clock time of UTC instants in the export's time zone. The offset is looked up once per
/// UTC minute (zone changes fall on whole minutes), and rows come sorted by time, so millions of
/// rows cost a few thousand Foundation calls. Shared by the report's days and xlsx's date-times.
struct ZoneClock {
    /// nil for UTC, where local time is the instant.
    let zone: TimeZone?
    private var cachedMinute = Int64.min
    private var cachedOffset: Int64 = 0

    init(timezone: String) throws {
        guard let z = TimeZone(identifier: timezone) else {
            throw ExportError(.invalidDefinition, "unknown time zone \(timezone)")
        }
        zone = z.identifier == "UTC" || z.identifier == "GMT" ? nil : z
    }

    /// Microseconds since 1970-01-01 00:00 of the zone's wall clock at `instant`.
    mutating func localMicroseconds(_ instant: Timestamp) -> Int64 {
        guard let zone else { return instant.microseconds }
        let micros = instant.microseconds
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let minute = seconds >= 0 ? seconds / 60 : (seconds - 59) / 60
        if minute != cachedMinute {
            cachedMinute = minute
            cachedOffset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(minute * 60))))
        }
        return micros + cachedOffset * 1_000_000
    }
}

/// The calendar day of a UTC timestamp in the export's time zone.
struct DayBucketer {
    private var clock: ZoneClock

    init(timezone: String) throws {
        clock = try ZoneClock(timezone: timezone)
    }

    /// `2026-10-03` from `2026-10-03T14:05:09.123Z` (the export's own timestamp format).
    mutating func day(ofUTC text: UnsafeRawBufferPointer) -> String {
        guard clock.zone != nil else { return String(decoding: text.prefix(10), as: UTF8.self) }
        var slice = Array(text)[...]
        guard let ts = Timestamp(rfc3339Bytes: &slice) else { return String(decoding: text.prefix(10), as: UTF8.self) }
        return String(Timestamp(microseconds: clock.localMicroseconds(ts)).description.prefix(10))
    }
}
