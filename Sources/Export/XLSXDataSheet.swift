@preconcurrency import Glibc
import Foundation
import OrderModel

/// What an export column becomes in a spreadsheet cell (docs/export.md, "Spreadsheet (xlsx)").
enum XLSXCellKind: Equatable {
    case text, money, integer, timestamp, boolean

    static let moneyColumns: Set<String> = ["total", "unit_price", "line_total"]
    static let integerColumns: Set<String> = ["line_items", "units", "quantity", "line_no", "attempts", "line_count", "event_id", "run_id", "shipment_id"]
    static let timestampColumns: Set<String> = ["created_at", "updated_at", "event_at", "recorded_at", "status_event_at", "shipped_at", "delivered_at"]
    static let booleanColumns: Set<String> = ["order_deleted"]

    /// The kind of the column named `name`; anything not listed is text.
    init(column name: String) {
        if Self.moneyColumns.contains(name) { self = .money }
        else if Self.integerColumns.contains(name) { self = .integer }
        else if Self.timestampColumns.contains(name) { self = .timestamp }
        else if Self.booleanColumns.contains(name) { self = .boolean }
        else { self = .text }
    }

    /// Excel's number format of a timestamp cell.
    static let timestampFormat = "yyyy-mm-dd hh:mm:ss.000"

    /// The number format of an amount with `decimals` decimals (`#,##0.00` for 2).
    static func moneyFormat(decimals: Int) -> String {
        decimals == 0 ? "#,##0" : "#,##0." + String(repeating: "0", count: decimals)
    }
}

/// UTC instants as Excel's zone-less date-times: the wall-clock time in the export's zone.
struct ExcelClock {
    private var clock: ZoneClock

    init(timezone: String) throws {
        clock = try ZoneClock(timezone: timezone)
    }

    /// Excel's serial date-time (days since 1899-12-30, the fraction is the time of day) of
    /// `instant` in the zone.
    mutating func serial(_ instant: Timestamp) -> Double {
        Self.serial(localMicroseconds: clock.localMicroseconds(instant))
    }

    /// 1970-01-01 is Excel's day 25569 (its 1900 leap-year bug only shifts days before March 1900).
    static func serial(localMicroseconds micros: Int64) -> Double {
        Double(micros) / 86_400_000_000 + 25_569
    }

    /// The serial of a calendar day `2026-10-01` (midnight), or nil.
    static func serial(day: String) -> Double? {
        guard let ts = Timestamp(rfc3339: day + "T00:00:00Z") else { return nil }
        return serial(localMicroseconds: ts.microseconds)
    }
}

/// Writes the data sheet: the header (bold, frozen, with an autofilter) and one row per CSV record
/// of the COPY, each cell typed by its column (`XLSXCellKind`).
struct XLSXDataSheet {
    private let sheet: XLSXSheet
    private let kinds: [XLSXCellKind]
    private let currencyIndex: Int
    private let timestampFormat: OpaquePointer?
    private var moneyFormats: [Int: OpaquePointer?] = [:]
    private let workbook: XLSXWorkbook
    private var clock: ExcelClock
    /// The next row to write; row 0 is the header.
    private(set) var row = 1
    private var headerSkipped = false
    private var fields: [Range<Int>] = []
    /// The current cell's value, unquoted and NUL-terminated for C.
    private var cell: [UInt8] = []
    // The row's currency and the money format it gives, reused while it stays the same.
    private var lastCurrency: [UInt8] = [0xFF]
    private var lastMoneyFormat: OpaquePointer?

    init(workbook: XLSXWorkbook, name: String, columns: [String], timezone: String) throws {
        self.workbook = workbook
        sheet = try workbook.addSheet(name)
        kinds = columns.map(XLSXCellKind.init(column:))
        currencyIndex = columns.firstIndex(of: "currency") ?? -1
        timestampFormat = workbook.format(numberFormat: XLSXCellKind.timestampFormat)
        clock = try ExcelClock(timezone: timezone)
        cell.reserveCapacity(256)
        let bold = workbook.format(bold: true)
        for (col, name) in columns.enumerated() {
            // Wide enough that a datetime or an amount is shown, not `####`.
            let width: Double
            switch kinds[col] {
            case .timestamp: width = 23
            case .money: width = 14
            case .text: width = name.hasSuffix("order_id") ? 37 : Double(max(name.count + 2, 12))
            case .integer, .boolean: width = Double(max(name.count + 2, 8))
            }
            try sheet.columnWidth(col, width)
            try sheet.string(0, col, name, bold)
        }
        sheet.freezeHeader()
    }

    /// Writes every complete CSV record in `buffer` (the COPY's first record, its header, is skipped).
    mutating func write(_ buffer: [UInt8]) throws {
        try buffer.withUnsafeBytes { raw in
            var start = 0, quoted = false
            for i in 0..<raw.count {
                let b = raw[i]
                if b == 0x22 { quoted.toggle() } else if b == 0x0A && !quoted {
                    try record(UnsafeRawBufferPointer(rebasing: raw[start...i]))
                    start = i + 1
                }
            }
            // COPY hands over whole records, each ending in a newline; a rest would be a bug.
            if start < raw.count { throw ExportError(.unexpectedRow, "an xlsx buffer ends inside a record") }
        }
    }

    /// Sets the autofilter over the header and every row written; returns the data rows.
    func finish() throws -> Int {
        try sheet.autofilter(lastRow: row - 1, lastCol: kinds.count - 1)
        return row - 1
    }

    private mutating func record(_ record: UnsafeRawBufferPointer) throws {
        if !headerSkipped { headerSkipped = true; return }
        guard row < XLSXSheet.maxRows else {
            throw ExportError(.sheetFull, "an xlsx sheet holds at most \(XLSXSheet.maxRows - 1) rows below its header (Excel's limit) and this export has more: use --format csv, or a shorter period")
        }
        CSVFields.split(record, into: &fields)
        guard fields.count == kinds.count else {
            throw ExportError(.unexpectedRow, "row \(row) has \(fields.count) cells, the header \(kinds.count)")
        }
        var money: OpaquePointer? = nil
        if kinds.contains(.money) {
            money = moneyFormat(currencyIndex < 0 ? UnsafeRawBufferPointer(start: nil, count: 0)
                                                  : UnsafeRawBufferPointer(rebasing: record[fields[currencyIndex]]))
        }
        for col in 0..<kinds.count {
            guard unquote(UnsafeRawBufferPointer(rebasing: record[fields[col]])) else { continue }
            switch kinds[col] {
            case .timestamp:
                var bytes = cell[..<(cell.count - 1)]
                guard let instant = Timestamp(rfc3339Bytes: &bytes) else {
                    throw ExportError(.unexpectedRow, "row \(row), column \(col + 1): not a timestamp: \(String(decoding: bytes, as: UTF8.self))")
                }
                try sheet.number(row, col, clock.serial(instant), timestampFormat)
            case .boolean:
                try sheet.boolean(row, col, cell[0] == UInt8(ascii: "t"))
            case .text, .money, .integer:
                try cell.withUnsafeBufferPointer { buf in
                    let text = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
                    switch kinds[col] {
                    case .text: try sheet.string(row, col, text)
                    case .money: try sheet.number(row, col, try number(text, col), money)
                    default: try sheet.number(row, col, try number(text, col))
                    }
                }
            }
        }
        row += 1
    }

    /// `cell` = the field without its RFC 4180 quotes, NUL-terminated; false for an empty field
    /// (NULL or an empty text: both leave the cell empty).
    private mutating func unquote(_ field: UnsafeRawBufferPointer) -> Bool {
        cell.removeAll(keepingCapacity: true)
        if field.first == 0x22 && field.count >= 2 {
            var i = 1
            while i < field.count - 1 {
                let b = field[i]
                cell.append(b)
                i += b == 0x22 ? 2 : 1 // a doubled quote is one quote
            }
        } else {
            cell.append(contentsOf: field)
        }
        guard !cell.isEmpty else { return false }
        cell.append(0)
        return true
    }

    private func number(_ text: UnsafePointer<CChar>, _ col: Int) throws -> Double {
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(text, &end)
        guard let end, end.pointee == 0 else {
            throw ExportError(.unexpectedRow, "row \(row), column \(col + 1): not a number: \(String(cString: text))")
        }
        return value
    }

    /// The money format of the row's currency: its ISO 4217 decimals.
    private mutating func moneyFormat(_ currency: UnsafeRawBufferPointer) -> OpaquePointer? {
        if currency.elementsEqual(lastCurrency) { return lastMoneyFormat }
        lastCurrency = Array(currency)
        let decimals = OrderRules.minorUnits(of: String(decoding: currency, as: UTF8.self))
        if let known = moneyFormats[decimals] {
            lastMoneyFormat = known
        } else {
            lastMoneyFormat = workbook.format(numberFormat: XLSXCellKind.moneyFormat(decimals: decimals))
            moneyFormats[decimals] = lastMoneyFormat
        }
        return lastMoneyFormat
    }
}
