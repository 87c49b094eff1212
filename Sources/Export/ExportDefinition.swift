import Foundation
import OrderModel
import DefinitionFile

/// A `kind: export` pipeline (or the same settings given as flags): which rows leave the
/// database, for which period, in which shape.
public struct ExportDefinition: Sendable, Equatable {
    /// What one row of the export is.
    public enum Dataset: String, Sendable, CaseIterable {
        /// One row per order with its totals computed from the line items.
        case orders
        /// One row per line item, with its order's fields (the shape of the order feed).
        case lines
        /// One row per `order_events` entry; deleted orders stay visible.
        case history
        /// One row per shipment with its order's fields and its lines' count and units.
        case shipments
    }

    /// Which instant the period applies to.
    public enum TimeField: String, Sendable, CaseIterable {
        case created, updated, event
        /// Shipments only: `shipped_at`, else `created_at`. Not every shipment knows when it was
        /// handed over (migration 4 leaves `shipped_at` NULL for orders that were still
        /// processing); such a one counts from when it was recorded, so no shipment falls
        /// outside every period.
        case shipped
    }
    public enum Format: String, Sendable, CaseIterable {
        case csv, ndjson
        /// An Excel workbook with typed cells and a `Totals` sheet (`XLSXExportWriter`).
        case xlsx
    }
    /// A period without explicit bounds that a scheduled pipeline resolves when it runs.
    public enum RelativePeriod: String, Sendable, CaseIterable {
        case previousMonth = "previous_month", currentMonth = "current_month", previousDay = "previous_day"
    }

    public var name = "export"
    /// Where the definition came from (for messages and the report).
    public var file = "<flags>"
    public var dataset: Dataset = .orders
    /// `nil`: `created` for orders and lines, `event` for history, `shipped` for shipments.
    public var on: TimeField?
    public var from: PeriodBound?
    public var to: PeriodBound?
    /// Used when neither bound is given.
    public var relativePeriod: RelativePeriod?
    /// IANA zone that dates (bounds without a time) and the report's days are in.
    public var timezone = "UTC"
    public var statuses: [String] = []
    public var sources: [String] = []
    public var customers: [String] = []
    public var format: Format = .csv
    public var gzip = false
    /// A UTF-8 byte order mark first, so Excel reads the CSV as UTF-8.
    public var bom = false
    /// Only what changed since this pipeline's last successful incremental export of the same
    /// dataset (docs/export.md#incremental-exports); excludes a period.
    public var incremental = false

    public init() {}

    /// The time field the period applies to, after the dataset's default.
    public var timeField: TimeField {
        if let on { return on }
        // What changed is ordered (and counted by day) by when it changed.
        if incremental && dataset != .history { return .updated }
        switch dataset {
        case .orders, .lines: return .created
        case .history: return .event
        case .shipments: return .shipped
        }
    }

    /// The statuses a shipment can have (migration 4's CHECK): an order's, except the two no
    /// shipment is ever in (`processing` is before one exists, `cancelled` takes none).
    public static let shipmentStatuses = OrderStatus.allCases.filter { $0 != .processing && $0 != .cancelled }.map(\.rawValue)

    /// Checks what can be checked without a database; a wrong value names its key.
    public func validate() throws {
        func fail(_ key: String, _ expected: String) -> DefinitionError {
            DefinitionError(file: file, key: key, expected: expected)
        }
        if dataset == .history && timeField != .event {
            throw fail("period.on", "event for the history dataset (history rows have no created/updated time of their own)")
        }
        if timeField == .shipped && dataset != .shipments {
            throw fail("period.on", "created, updated or event for the \(dataset.rawValue) dataset (shipped is the shipments dataset's time)")
        }
        if TimeZone(identifier: timezone) == nil {
            throw fail("period.timezone", "an IANA time zone name such as UTC or Europe/Berlin")
        }
        if dataset == .shipments {
            // A filter no shipment can match is a mistake, not a wish for an empty file.
            if let bad = statuses.first(where: { !Self.shipmentStatuses.contains($0) }) {
                throw fail("filters.status", "shipment statuses (\(Self.shipmentStatuses.joined(separator: ", "))), not \(bad)")
            }
        } else if let bad = statuses.first(where: { OrderStatus(rawValue: $0) == nil }) {
            throw fail("filters.status", "order statuses (\(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))), not \(bad)")
        }
        if bom && format == .ndjson { throw fail("output.bom", "false for NDJSON (a byte order mark is for spreadsheets)") }
        // An xlsx file is a zip archive that declares its own encoding: neither applies.
        if bom && format == .xlsx { throw fail("output.bom", "false for xlsx (a byte order mark is for CSV text)") }
        if gzip && format == .xlsx { throw fail("output.gzip", "false for xlsx (an xlsx file is already a zip archive)") }
        if incremental && (from != nil || to != nil || relativePeriod != nil) {
            throw fail("incremental", "no period with incremental: true (an incremental export takes what changed since the last one, whatever its time)")
        }
        if incremental && timeField == .event && dataset != .history {
            throw fail("period.on", "created or updated for an incremental \(dataset.rawValue) export (the rows are what changed, not what had events)")
        }
    }
}

/// One end of an export period: a calendar date (midnight in the export's time zone) or an
/// exact instant (RFC 3339 with `Z` or an offset).
public enum PeriodBound: Sendable, Equatable, CustomStringConvertible {
    case date(year: Int, month: Int, day: Int)
    case instant(Timestamp)

    /// Parses `2026-10-01` or `2026-10-01T00:00:00+02:00`; a time without a zone is refused,
    /// because its instant would be a guess.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        let bytes = Array(t.utf8)
        if bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
           let y = Int(t.prefix(4)), let m = Int(t.dropFirst(5).prefix(2)), let d = Int(t.suffix(2)),
           (1...12).contains(m), (1...31).contains(d) {
            // The timestamp parser knows month lengths and leap years.
            guard Timestamp(rfc3339: "\(t)T00:00:00Z") != nil else { return nil }
            self = .date(year: y, month: m, day: d)
            return
        }
        guard let ts = Timestamp(rfc3339: t) else { return nil }
        self = .instant(ts)
    }

    public var description: String {
        switch self {
        case let .date(y, m, d): return String(format: "%04d-%02d-%02d", y, m, d)
        case let .instant(ts): return ts.exactDescription
        }
    }
}

extension ExportDefinition.RelativePeriod {
    /// The bounds of this period around `now` in `timezone`.
    public func bounds(now: Date = Date(), timezone: String) -> (PeriodBound, PeriodBound) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timezone) ?? TimeZone(identifier: "UTC")!
        let today = calendar.dateComponents([.year, .month, .day], from: now)
        func date(_ c: DateComponents) -> PeriodBound { .date(year: c.year!, month: c.month!, day: c.day!) }
        func shifted(_ c: DateComponents, months: Int = 0, days: Int = 0) -> DateComponents {
            let d = calendar.date(from: c)!
            let moved = calendar.date(byAdding: DateComponents(month: months, day: days), to: d)!
            return calendar.dateComponents([.year, .month, .day], from: moved)
        }
        switch self {
        case .previousMonth:
            let first = DateComponents(year: today.year, month: today.month, day: 1)
            return (date(shifted(first, months: -1)), date(first))
        case .currentMonth:
            let first = DateComponents(year: today.year, month: today.month, day: 1)
            return (date(first), date(shifted(first, months: 1)))
        case .previousDay:
            return (date(shifted(today, days: -1)), date(today))
        }
    }
}

extension ExportDefinition: YAMLDefinition {
    /// Parses an export pipeline; every unknown key is an error, like the orders pipelines.
    public static func parse(yaml: String, file: String = "<memory>") throws -> ExportDefinition {
        var reader = try YAMLMap.root(yaml: yaml, file: file, expected: "a mapping with name, kind: export, dataset, …")
        let fail = reader.fail
        try reader.allowOnly(["name", "kind", "description", "dataset", "incremental", "period", "filters", "output"])
        guard try reader.string("kind", required: true) == "export" else { throw fail("kind", "export") }
        var def = ExportDefinition()
        def.file = file
        def.name = try reader.string("name", required: true)!
        if let d = try reader.string("dataset") {
            guard let dataset = Dataset(rawValue: d) else { throw fail("dataset", "one of \(Dataset.allCases.map(\.rawValue).joined(separator: ", "))") }
            def.dataset = dataset
        }
        if let incremental = try reader.bool("incremental") { def.incremental = incremental }
        if var period = try reader.child("period") {
            try period.allowOnly(["on", "from", "to", "timezone", "default"])
            if let on = try period.string("on") {
                guard let field = TimeField(rawValue: on) else { throw fail("period.on", "created, updated, event or shipped") }
                def.on = field
            }
            for key in ["from", "to"] {
                guard let text = try period.string(key) else { continue }
                guard let bound = PeriodBound(text) else { throw fail("period.\(key)", "a date (2026-10-01) or an RFC 3339 timestamp with a zone") }
                if key == "from" { def.from = bound } else { def.to = bound }
            }
            if let tz = try period.string("timezone") { def.timezone = tz }
            if let rel = try period.string("default") {
                guard let r = RelativePeriod(rawValue: rel) else { throw fail("period.default", "one of \(RelativePeriod.allCases.map(\.rawValue).joined(separator: ", "))") }
                def.relativePeriod = r
            }
        }
        if var filters = try reader.child("filters") {
            try filters.allowOnly(["status", "source", "customer"])
            def.statuses = try filters.stringList("status")
            def.sources = try filters.stringList("source")
            def.customers = try filters.stringList("customer")
        }
        if var output = try reader.child("output") {
            try output.allowOnly(["format", "gzip", "bom"])
            if let f = try output.string("format") {
                guard let format = Format(rawValue: f) else { throw fail("output.format", "csv, ndjson or xlsx") }
                def.format = format
            }
            if let g = try output.bool("gzip") { def.gzip = g }
            if let b = try output.bool("bom") { def.bom = b }
        }
        try def.validate()
        return def
    }
}
