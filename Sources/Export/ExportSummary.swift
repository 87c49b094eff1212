import Foundation
import Feeds
import OrderModel
import DefinitionFile
import RunSupport

/// The figures finance checks an export against: orders, units and totals by currency × status
/// and by day, for the history the events by kind and by day, for shipments the shipments by
/// carrier × status and by day (`shipments`).
public struct ExportSummary: Codable, Sendable, Equatable {
    /// Totals of one currency and status.
    public struct CurrencyStatus: Codable, Sendable, Equatable {
        public var currency: String
        public var status: String
        public var orders: Int
        public var units: Int
        /// Exact decimal text.
        public var total: String

        public init(currency: String, status: String, orders: Int, units: Int, total: String) {
            (self.currency, self.status, self.orders, self.units, self.total) = (currency, status, orders, units, total)
        }
    }

    /// Totals of one day (in the export's time zone) and currency.
    public struct Day: Codable, Sendable, Equatable {
        public var day: String
        public var currency: String
        public var orders: Int
        public var units: Int
        public var total: String
    }

    /// Data rows in the file (the header not counted).
    public var rows = 0
    public var orders = 0
    public var units = 0
    public var byCurrencyStatus: [CurrencyStatus] = []
    public var byDay: [Day] = []
    /// History exports: events per kind and per day.
    public var eventsByKind: [String: Int] = [:]
    public var eventsByDay: [String: Int] = [:]
    /// Shipments exports only (absent from the other datasets' report.json); `orders` and
    /// `units` above stay 0 for them, as a shipment row is not an order.
    public var shipments: Shipments?

    /// What a shipments export holds.
    public struct Shipments: Codable, Sendable, Equatable {
        /// Shipments of one carrier in one status.
        public struct CarrierStatus: Codable, Sendable, Equatable {
            public var carrier: String
            /// `shipped` also for a shipment no carrier event has given a status yet (its
            /// `shipment_status` cell is empty): that is what such a shipment is.
            public var status: String
            public var shipments: Int
            /// Units on their lines; a shipment without lines adds none.
            public var units: Int
        }

        /// Shipments of one day (in the export's time zone) of the period's time.
        public struct Day: Codable, Sendable, Equatable {
            public var day: String
            public var shipments: Int
            public var units: Int
        }

        public var shipments = 0
        /// Shipments with lines; the others name none (the whole order, or nobody said).
        public var itemized = 0
        public var units = 0
        /// Shipments without a status of their own yet, counted as `shipped` in `byCarrierStatus`.
        public var withoutCarrierStatus = 0
        public var byCarrierStatus: [CarrierStatus] = []
        public var byDay: [Day] = []

        public init() {}
    }

    public init() {}

    /// The exact total per currency over every status.
    public var totalsByCurrency: [String: String] {
        var sums: [String: ExactDecimal] = [:]
        for g in byCurrencyStatus {
            let amount = g.total.utf8.withContiguousStorageIfAvailable { ExactDecimal(UnsafeRawBufferPointer($0)) } ?? nil
            sums[g.currency, default: ExactDecimal()].add(amount ?? ExactDecimal())
        }
        return sums.mapValues(\.text)
    }
}

/// Builds an `ExportSummary` from the rows as they stream past, so the export needs no second
/// query (and no second pass over the data) for its report.
struct ExportSummaryBuilder {
    private struct Totals {
        var orders = 0, units = 0
        var total = ExactDecimal()
    }
    private struct Key: Hashable { var a: String, b: String }
    private struct ShipmentCounts {
        var shipments = 0, units = 0
    }

    let dataset: ExportDefinition.Dataset
    let format: ExportDefinition.Format
    private var days: DayBucketer
    // Column positions (CSV) and keys (NDJSON) of what the summary reads.
    private let orderIndex, statusIndex, currencyIndex, timeIndex, unitsIndex, totalIndex, kindIndex: Int
    private let orderKey, statusKey, currencyKey, timeKey, unitsKey, totalKey, kindKey: String
    private var headerSeen = false
    private var lastOrder: [UInt8] = []
    private var rows = 0, orders = 0, units = 0
    private var byCurrencyStatus: [Key: Totals] = [:]
    private var byDay: [Key: Totals] = [:]
    private var eventsByKind: [String: Int] = [:]
    private var eventsByDay: [String: Int] = [:]
    private var fields: [Range<Int>] = []
    // Shipments: the carrier and status cells, and the time a row's day falls back to when its
    // own is empty (shipped_at → created_at, status_event_at → created_at).
    private let carrierIndex, shipmentStatusIndex, fallbackTimeIndex: Int
    private let carrierKey, shipmentStatusKey, fallbackTimeKey: String
    private var shipments = ExportSummary.Shipments()
    private var shipmentsByCarrierStatus: [Key: ShipmentCounts] = [:]
    private var shipmentsByDay: [String: ShipmentCounts] = [:]

    init(query: ExportQuery) throws {
        let d = query.definition
        dataset = d.dataset
        format = d.format
        days = try DayBucketer(timezone: d.timezone)
        let names = query.columns.map(\.name)
        func index(_ name: String) -> Int { names.firstIndex(of: name) ?? -1 }
        let time: String
        var fallbackTime = ""
        switch (d.dataset, d.timeField) {
        case (.history, _): time = "event_at"
        case (.shipments, .shipped): time = "shipped_at"; fallbackTime = "created_at"
        case (.shipments, .event): time = "status_event_at"; fallbackTime = "created_at"
        case (_, .updated): time = "updated_at"
        case (_, .created), (_, .event), (_, .shipped): time = "created_at"
        }
        let unitsName = d.dataset == .lines ? "quantity" : "units"
        let totalName = d.dataset == .lines ? "line_total" : "total"
        orderIndex = index("order_id"); statusIndex = index("status"); currencyIndex = index("currency")
        timeIndex = index(time); unitsIndex = index(unitsName); totalIndex = index(totalName); kindIndex = index("kind")
        carrierIndex = index("carrier"); shipmentStatusIndex = index("shipment_status"); fallbackTimeIndex = index(fallbackTime)
        let key: (String) -> String = FieldName.jsonKey
        orderKey = key("order_id"); statusKey = key("status"); currencyKey = key("currency")
        timeKey = key(time); unitsKey = key(unitsName); totalKey = key(totalName); kindKey = key("kind")
        carrierKey = key("carrier"); shipmentStatusKey = key("shipment_status"); fallbackTimeKey = fallbackTime.isEmpty ? "" : key(fallbackTime)
        fields.reserveCapacity(names.count)
    }

    /// Takes one row exactly as COPY sent it (a CSV record or a JSON text line, with its newline).
    mutating func add(row: UnsafeRawBufferPointer) throws {
        switch format {
        case .csv, .xlsx:
            if !headerSeen { headerSeen = true; return }
            CSVFields.split(row, into: &fields)
            func bytes(_ i: Int) -> UnsafeRawBufferPointer {
                guard i >= 0, i < fields.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
                return UnsafeRawBufferPointer(rebasing: row[fields[i]])
            }
            func text(_ i: Int) -> String { String(decoding: bytes(i), as: UTF8.self) }
            if dataset == .shipments {
                let time = bytes(timeIndex).isEmpty ? bytes(fallbackTimeIndex) : bytes(timeIndex)
                record(shipment: CSVFields.cellText(bytes(carrierIndex)), status: text(shipmentStatusIndex),
                       day: days.day(ofUTC: time), units: text(unitsIndex))
                return
            }
            let day = days.day(ofUTC: bytes(timeIndex))
            if dataset == .history {
                record(event: text(kindIndex), day: day)
            } else {
                try record(order: bytes(orderIndex), status: text(statusIndex), currency: CSVFields.cellText(bytes(currencyIndex)), day: day,
                           units: bytes(unitsIndex), total: bytes(totalIndex))
            }
        case .ndjson:
            let value = try JSONValue.parse(Array(row.prefix { $0 != 0x0A }), source: "export row")
            func text(_ key: String) -> [UInt8] {
                switch value[key] {
                case .string(let s)?: return Array(s.utf8)
                case .number(let n)?: return Array(n.utf8)
                default: return []
                }
            }
            func string(_ key: String) -> String { String(decoding: text(key), as: UTF8.self) }
            if dataset == .shipments {
                let own = text(timeKey)
                let time = own.isEmpty ? text(fallbackTimeKey) : own
                record(shipment: string(carrierKey), status: string(shipmentStatusKey),
                       day: time.withUnsafeBytes { days.day(ofUTC: $0) }, units: string(unitsKey))
                return
            }
            let day = text(timeKey).withUnsafeBytes { days.day(ofUTC: $0) }
            if dataset == .history {
                record(event: string(kindKey), day: day)
            } else {
                let order = text(orderKey), units = text(unitsKey), total = text(totalKey)
                try order.withUnsafeBytes { o in
                    try units.withUnsafeBytes { u in
                        try total.withUnsafeBytes { t in
                            try record(order: o, status: string(statusKey), currency: string(currencyKey), day: day, units: u, total: t)
                        }
                    }
                }
            }
        }
    }

    /// One shipment row. `units` is empty when the shipment has no lines.
    private mutating func record(shipment carrier: String, status: String, day: String, units unitsText: String) {
        rows += 1
        let u = Int(unitsText) ?? 0
        shipments.shipments += 1
        shipments.units += u
        if !unitsText.isEmpty { shipments.itemized += 1 }
        if status.isEmpty { shipments.withoutCarrierStatus += 1 }
        func add(_ c: inout ShipmentCounts) {
            c.shipments += 1
            c.units += u
        }
        add(&shipmentsByCarrierStatus[Key(a: carrier, b: status.isEmpty ? "shipped" : status), default: ShipmentCounts()])
        add(&shipmentsByDay[day, default: ShipmentCounts()])
    }

    private mutating func record(event kind: String, day: String) {
        rows += 1
        eventsByKind[kind, default: 0] += 1
        eventsByDay[day, default: 0] += 1
    }

    private mutating func record(order id: UnsafeRawBufferPointer, status: String, currency: String, day: String,
                                 units unitsText: UnsafeRawBufferPointer, total totalText: UnsafeRawBufferPointer) throws {
        rows += 1
        // Rows of one order are adjacent (the query orders by order id within a time), so a
        // new order is a change of id: no set of ids is kept.
        var newOrder = true
        if dataset == .lines {
            newOrder = !id.elementsEqual(lastOrder)
            if newOrder { lastOrder = Array(id) }
        }
        let u = Int(String(decoding: unitsText, as: UTF8.self)) ?? 0
        // An empty total is a line without a price: it adds nothing.
        guard let amount = totalText.isEmpty ? ExactDecimal() : ExactDecimal(totalText) else {
            throw ExportError(.unexpectedRow, "row \(rows) has a total that is not a decimal: \(String(decoding: totalText, as: UTF8.self))")
        }
        if newOrder { orders += 1 }
        units += u
        func add(_ t: inout Totals) {
            if newOrder { t.orders += 1 }
            t.units += u
            t.total.add(amount)
        }
        add(&byCurrencyStatus[Key(a: currency, b: status), default: Totals()])
        add(&byDay[Key(a: day, b: currency), default: Totals()])
    }

    /// Data rows read so far.
    var rowCount: Int { rows }

    /// The summary, sorted for stable reports.
    func summary() -> ExportSummary {
        var s = ExportSummary()
        s.rows = rows
        s.orders = orders
        s.units = units
        s.byCurrencyStatus = byCurrencyStatus.sorted { ($0.key.a, $0.key.b) < ($1.key.a, $1.key.b) }
            .map { .init(currency: $0.key.a, status: $0.key.b, orders: $0.value.orders, units: $0.value.units, total: $0.value.total.text) }
        s.byDay = byDay.sorted { ($0.key.a, $0.key.b) < ($1.key.a, $1.key.b) }
            .map { .init(day: $0.key.a, currency: $0.key.b, orders: $0.value.orders, units: $0.value.units, total: $0.value.total.text) }
        s.eventsByKind = eventsByKind
        s.eventsByDay = eventsByDay
        if dataset == .shipments {
            var figures = shipments
            figures.byCarrierStatus = shipmentsByCarrierStatus.sorted { ($0.key.a, $0.key.b) < ($1.key.a, $1.key.b) }
                .map { .init(carrier: $0.key.a, status: $0.key.b, shipments: $0.value.shipments, units: $0.value.units) }
            figures.byDay = shipmentsByDay.sorted { $0.key < $1.key }
                .map { .init(day: $0.key, shipments: $0.value.shipments, units: $0.value.units) }
            s.shipments = figures
        }
        return s
    }
}

/// Splits one CSV record (as PostgreSQL writes it) into field byte ranges, quotes included.
enum CSVFields {
    /// A text cell's value as the summary reports it: without its RFC 4180 quotes and without the
    /// `'` that `ExportQuery.neutralized` put before a formula, so a CSV and an NDJSON export of
    /// the same rows give the same report. (A stored value that itself began with `'` and then a
    /// formula character would lose its `'` here, in the report only: no writer of ours stores one.)
    static func cellText(_ cell: UnsafeRawBufferPointer) -> String {
        var text = String(decoding: cell, as: UTF8.self)
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        let scalars = Array(text.unicodeScalars)
        if scalars.count >= 2, scalars[0] == "'", "=+-@\t\r\n".unicodeScalars.contains(scalars[1]),
           !isPlainNumber(scalars.dropFirst()) {
            return String(String.UnicodeScalarView(scalars.dropFirst()))
        }
        return text
    }

    /// `^[-+]?[0-9]+([.][0-9]+)?$`, the number test of `ExportQuery.neutralized`.
    static func isPlainNumber(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        var rest = s[...]
        if let first = rest.first, first == "-" || first == "+" { rest = rest.dropFirst() }
        func digits() -> Int {
            let n = rest.prefix { $0 >= "0" && $0 <= "9" }.count
            rest = rest.dropFirst(n)
            return n
        }
        guard digits() > 0 else { return false }
        if rest.first == "." {
            rest = rest.dropFirst()
            guard digits() > 0 else { return false }
        }
        return rest.isEmpty
    }

    static func split(_ row: UnsafeRawBufferPointer, into fields: inout [Range<Int>]) {
        fields.removeAll(keepingCapacity: true)
        var end = row.count
        while end > 0 && (row[end - 1] == 0x0A || row[end - 1] == 0x0D) { end -= 1 }
        var i = 0, start = 0, quoted = false
        while i < end {
            let b = row[i]
            if b == 0x22 { quoted.toggle() } else if b == 0x2C && !quoted {
                fields.append(start..<i)
                start = i + 1
            }
            i += 1
        }
        fields.append(start..<end)
    }
}
