import OrderModel

/// The `Totals` sheet: exactly the figures of report.json's `summary`, each section titled by its
/// key there (`byCurrencyStatus`, `byDay`, …) with the key's fields as column headers, so a
/// reader can check one against the other cell by cell.
struct XLSXTotalsSheet {
    static let name = "Totals"

    private let sheet: XLSXSheet
    private let bold, day: OpaquePointer?
    private let workbook: XLSXWorkbook
    private var moneyFormats: [Int: OpaquePointer?] = [:]
    private var row = 0

    /// Writes `summary` of a `dataset` export into a new sheet of `workbook`.
    static func write(_ summary: ExportSummary, dataset: ExportDefinition.Dataset, into workbook: XLSXWorkbook) throws {
        var totals = try XLSXTotalsSheet(workbook: workbook)
        try totals.write(summary, dataset: dataset)
    }

    private init(workbook: XLSXWorkbook) throws {
        self.workbook = workbook
        sheet = try workbook.addSheet(Self.name)
        bold = workbook.format(bold: true)
        day = workbook.format(numberFormat: "yyyy-mm-dd")
        for col in 0..<6 { try sheet.columnWidth(col, col == 0 ? 22 : 14) }
    }

    private mutating func write(_ s: ExportSummary, dataset: ExportDefinition.Dataset) throws {
        switch dataset {
        case .orders, .lines:
            try figures([("rows", s.rows), ("orders", s.orders), ("units", s.units)])
            try section("byCurrencyStatus", ["currency", "status", "orders", "units", "total"])
            for g in s.byCurrencyStatus {
                try text(0, g.currency); try text(1, g.status); try int(2, g.orders); try int(3, g.units)
                try money(4, g.total, currency: g.currency)
                row += 1
            }
            try section("byDay", ["day", "currency", "orders", "units", "total"])
            for g in s.byDay {
                try date(0, g.day); try text(1, g.currency); try int(2, g.orders); try int(3, g.units)
                try money(4, g.total, currency: g.currency)
                row += 1
            }
        case .history:
            try figures([("rows", s.rows)])
            try section("eventsByKind", ["kind", "events"])
            for (kind, n) in s.eventsByKind.sorted(by: { $0.key < $1.key }) {
                try text(0, kind); try int(1, n)
                row += 1
            }
            try section("eventsByDay", ["day", "events"])
            for (d, n) in s.eventsByDay.sorted(by: { $0.key < $1.key }) {
                try date(0, d); try int(1, n)
                row += 1
            }
        case .shipments:
            let f = s.shipments ?? ExportSummary.Shipments()
            try figures([("rows", s.rows), ("shipments", f.shipments), ("itemized", f.itemized), ("units", f.units),
                         ("withoutCarrierStatus", f.withoutCarrierStatus)])
            try section("shipments.byCarrierStatus", ["carrier", "status", "shipments", "units"])
            for g in f.byCarrierStatus {
                try text(0, g.carrier); try text(1, g.status); try int(2, g.shipments); try int(3, g.units)
                row += 1
            }
            try section("shipments.byDay", ["day", "shipments", "units"])
            for g in f.byDay {
                try date(0, g.day); try int(1, g.shipments); try int(2, g.units)
                row += 1
            }
        }
    }

    /// One labelled figure per row.
    private mutating func figures(_ list: [(String, Int)]) throws {
        for (label, value) in list {
            try sheet.string(row, 0, label, bold)
            try int(1, value)
            row += 1
        }
    }

    /// A blank row, the section's title, then its header.
    private mutating func section(_ title: String, _ header: [String]) throws {
        row += 1
        try sheet.string(row, 0, title, bold)
        row += 1
        for (col, name) in header.enumerated() { try sheet.string(row, col, name, bold) }
        row += 1
    }

    private func text(_ col: Int, _ value: String) throws {
        if !value.isEmpty { try sheet.string(row, col, value) }
    }

    private func int(_ col: Int, _ value: Int) throws {
        try sheet.number(row, col, Double(value))
    }

    private func date(_ col: Int, _ value: String) throws {
        // A day the summary could not place (no timestamp) stays text rather than a made-up date.
        if let serial = ExcelClock.serial(day: value) { try sheet.number(row, col, serial, day) } else { try text(col, value) }
    }

    private mutating func money(_ col: Int, _ value: String, currency: String) throws {
        guard let amount = Double(value) else { return try text(col, value) }
        let decimals = OrderRules.minorUnits(of: currency)
        if moneyFormats[decimals] == nil { moneyFormats[decimals] = workbook.format(numberFormat: XLSXCellKind.moneyFormat(decimals: decimals)) }
        try sheet.number(row, col, amount, moneyFormats[decimals] ?? nil)
    }
}
