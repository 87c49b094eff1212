import DefinitionFile
import Feeds
import Foundation
import OrderflowTestSupport
import PostgresClient
import RunSupport
import Export
import Reports
import SyntheticFeeds
import Testing

/// A workbook as openpyxl (scripts/xlsx-dump.py) reads it.
struct ReadWorkbook {
    struct Cell {
        var value: JSONValue
        /// openpyxl's data_type: s text, n number, b boolean, d date, f formula.
        var type: String
        var format: String
        var bold: Bool
    }

    struct Sheet {
        var name: String
        var freeze: String?
        var autofilter: String?
        var rows: [[Cell]]
    }

    var sheets: [Sheet]

    /// Reads `path` with the pinned openpyxl; fails with the setup command when it is missing.
    init(_ path: String) throws {
        let script = XLSXExportTests.root.appendingPathComponent("scripts/xlsx-dump.py").path
        let r = try TestProgram.run("/usr/bin/env", ["python3", script, path])
        guard r.status == 0 else {
            Issue.record("python3 scripts/xlsx-dump.py exited with \(r.status) (openpyxl==3.1.5 missing? run scripts/setup): \(r.error)")
            throw ExportError(.output, "cannot read \(path) back")
        }
        let json = try JSONValue.parse(r.output, source: "xlsx-dump")
        sheets = try (json["sheets"]?.arrayElements ?? []).map { s in
            Sheet(name: s["name"]?.stringValue ?? "", freeze: s["freeze"]?.stringValue, autofilter: s["autofilter"]?.stringValue,
                  rows: (s["rows"]?.arrayElements ?? []).map { row in
                      (row.arrayElements ?? []).map { c in
                          Cell(value: c["v"] ?? .null, type: c["t"]?.stringValue ?? "?", format: c["f"]?.stringValue ?? "",
                               bold: c["b"]?.boolValue ?? false)
                      }
                  })
        }
        #expect(json["openpyxl"]?.stringValue == "3.1.5")
    }

    func sheet(_ name: String) throws -> Sheet {
        try #require(sheets.first { $0.name == name }, "no sheet \(name) in \(sheets.map(\.name))")
    }
}

/// `--format xlsx`, read back by a real reader (openpyxl) and compared with the CSV export of the
/// same query cell by cell, by the rules docs/export.md states ("Spreadsheet (xlsx)").
@Suite("xlsx export read back by openpyxl", .serialized)
struct XLSXExportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    // The contract of docs/export.md, written out here rather than taken from the code.
    static let moneyColumns: Set = ["total", "unit_price", "line_total"]
    static let integerColumns: Set = ["line_items", "units", "quantity", "line_no", "attempts", "line_count", "event_id", "run_id", "shipment_id"]
    static let timestampColumns: Set = ["created_at", "updated_at", "event_at", "recorded_at", "status_event_at", "shipped_at", "delivered_at"]
    static let booleanColumns: Set = ["order_deleted"]
    static let timestampFormat = "yyyy-mm-dd hh:mm:ss.000"
    static func decimals(_ currency: String) -> Int {
        ["JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3][currency] ?? 2
    }

    static func definition(_ dataset: ExportDefinition.Dataset, _ format: ExportDefinition.Format, timezone: String = "UTC",
                           from: String? = nil, to: String? = nil) -> ExportDefinition {
        var d = ExportDefinition()
        d.name = "xlsx-test"
        d.dataset = dataset
        d.format = format
        d.timezone = timezone
        d.from = from.flatMap(PeriodBound.init)
        d.to = to.flatMap(PeriodBound.init)
        return d
    }

    /// A cell as comparable text: `s:text`, `n:decimal` (`@decimals` of a non-General format),
    /// `d:local time@format`, `b:true`, `f:…` for a formula, `` for an empty cell.
    static func text(_ c: ReadWorkbook.Cell) -> String {
        switch (c.type, c.value) {
        case (_, .null): return ""
        case ("s", .string(let s)): return "s:" + s
        case ("n", .number(let n)):
            let value = Decimal(string: n).map { "\($0)" } ?? "?\(n)"
            guard c.format != "General" else { return "n:" + value }
            let decimals = c.format.split(separator: ".").dropFirst().first.map { $0.filter { $0 == "0" }.count } ?? 0
            return "n:\(value)@\(decimals)"
        case ("d", .string(let s)): return "d:\(s)@\(c.format)"
        case ("b", .bool(let b)): return "b:\(b)"
        default: return "\(c.type):\(c.value)"
        }
    }

    /// What a CSV cell of `column` must be in the workbook.
    static func expected(_ csv: String, column: String, currency: String, zone: TimeZone) -> String {
        if csv.isEmpty { return "" }
        if moneyColumns.contains(column) { return "n:\(Decimal(string: csv)!)@\(decimals(currency))" }
        if integerColumns.contains(column) { return "n:\(Decimal(string: csv)!)" }
        if booleanColumns.contains(column) { return "b:\(csv == "true")" }
        if timestampColumns.contains(column) { return "d:\(local(csv, zone))@\(timestampFormat)" }
        return "s:" + stored(csv)
    }

    /// A CSV text cell without the `'` the spreadsheet rule put before a formula.
    static func stored(_ csv: String) -> String {
        let s = Array(csv.unicodeScalars)
        guard s.count >= 2, s[0] == "'", "=+-@\t\r\n".unicodeScalars.contains(s[1]) else { return csv }
        let rest = String(String.UnicodeScalarView(s.dropFirst()))
        return rest.wholeMatch(of: /[-+]?[0-9]+([.][0-9]+)?/) != nil ? csv : rest
    }

    /// `2026-10-01T10:00:00.000Z` as wall-clock time in `zone`, by Foundation's own zone rules.
    static func local(_ utc: String, _ zone: TimeZone) -> String {
        let parse = ISO8601DateFormatter()
        parse.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let out = DateFormatter()
        out.locale = Locale(identifier: "en_US_POSIX")
        out.calendar = Calendar(identifier: .gregorian)
        out.timeZone = zone
        out.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS"
        return parse.date(from: utc).map(out.string(from:)) ?? "?\(utc)"
    }

    static func columnLetters(_ count: Int) -> String {
        var n = count, s = ""
        while n > 0 { n -= 1; s = String(UnicodeScalar(UInt8(65 + n % 26))) + s; n /= 26 }
        return s
    }

    /// Exports `definition` as CSV and as xlsx; checks every cell of the data sheet against the
    /// CSV, the header, the frozen pane, the autofilter, and the Totals sheet against report.json.
    @discardableResult
    func exportAndCompare(_ f: ExportFixture, _ definition: ExportDefinition, name: String) throws -> ReadWorkbook {
        var csvDefinition = definition
        csvDefinition.format = .csv
        let csvReport = try f.export(csvDefinition, to: "\(name).csv")
        var xlsxDefinition = definition
        xlsxDefinition.format = .xlsx
        let report = try f.export(xlsxDefinition, to: "\(name).xlsx")
        let stored = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: f.dir.appendingPathComponent("report.json")))
        #expect(stored.output?.format == "xlsx" && stored.output?.spreadsheetSafe == true && stored.output?.gzip == false)
        #expect(report.output?.sha256 == ContentHash.sha256Hex(try f.bytes("\(name).xlsx")))
        #expect(report.output?.bytes == Int64(try f.bytes("\(name).xlsx").count))
        #expect(report.summary == csvReport.summary)

        let csv = parseCSV(try f.text("\(name).csv"))
        let header = try #require(csv.first)
        let book = try ReadWorkbook(f.path("\(name).xlsx"))
        #expect(book.sheets.map(\.name) == [definition.dataset.rawValue, "Totals"])
        let sheet = try book.sheet(definition.dataset.rawValue)
        #expect(sheet.rows.count == csv.count, "\(name): rows")
        #expect(sheet.rows.first?.map { Self.text($0) } == header.map { "s:" + $0 })
        #expect(sheet.rows.first?.allSatisfy(\.bold) == true)
        #expect(sheet.freeze == "A2")
        #expect(sheet.autofilter == "A1:\(Self.columnLetters(header.count))\(csv.count)")
        let zone = try #require(TimeZone(identifier: definition.timezone))
        let currencyColumn = header.firstIndex(of: "currency")
        for (r, (csvRow, xlsxRow)) in zip(csv, sheet.rows).enumerated().dropFirst() {
            #expect(xlsxRow.count == header.count)
            let currency = currencyColumn.map { csvRow[$0] } ?? ""
            for (c, column) in header.enumerated() {
                let actual = c < xlsxRow.count ? Self.text(xlsxRow[c]) : ""
                #expect(actual == Self.expected(csvRow[c], column: column, currency: currency, zone: zone),
                        "\(name) row \(r + 1) \(column): csv \(csvRow[c].debugDescription)")
            }
        }
        // Typed cells: nothing anywhere is a formula.
        #expect(book.sheets.allSatisfy { $0.rows.allSatisfy { $0.allSatisfy { $0.type != "f" } } })
        try checkTotals(book.sheet("Totals"), try #require(stored.summary), dataset: definition.dataset)
        return book
    }

    /// The Totals sheet holds exactly report.json's summary, in the layout docs/export.md gives.
    func checkTotals(_ sheet: ReadWorkbook.Sheet, _ s: ExportSummary, dataset: ExportDefinition.Dataset) throws {
        var expected: [[String]] = []
        func n(_ v: Int) -> String { "n:\(v)" }
        func day(_ d: String) -> String { "d:\(d)T00:00:00.000@yyyy-mm-dd" }
        func money(_ v: String, _ currency: String) -> String { "n:\(Decimal(string: v)!)@\(Self.decimals(currency))" }
        func section(_ title: String, _ header: [String]) {
            expected.append([])
            expected.append(["s:" + title])
            expected.append(header.map { "s:" + $0 })
        }
        switch dataset {
        case .orders, .lines:
            expected = [["s:rows", n(s.rows)], ["s:orders", n(s.orders)], ["s:units", n(s.units)]]
            section("byCurrencyStatus", ["currency", "status", "orders", "units", "total"])
            expected += s.byCurrencyStatus.map { ["s:" + $0.currency, "s:" + $0.status, n($0.orders), n($0.units), money($0.total, $0.currency)] }
            section("byDay", ["day", "currency", "orders", "units", "total"])
            expected += s.byDay.map { [day($0.day), "s:" + $0.currency, n($0.orders), n($0.units), money($0.total, $0.currency)] }
        case .history:
            expected = [["s:rows", n(s.rows)]]
            section("eventsByKind", ["kind", "events"])
            expected += s.eventsByKind.sorted { $0.key < $1.key }.map { ["s:" + $0.key, n($0.value)] }
            section("eventsByDay", ["day", "events"])
            expected += s.eventsByDay.sorted { $0.key < $1.key }.map { [day($0.key), n($0.value)] }
        case .shipments:
            let f = try #require(s.shipments)
            expected = [["s:rows", n(s.rows)], ["s:shipments", n(f.shipments)], ["s:itemized", n(f.itemized)], ["s:units", n(f.units)],
                        ["s:withoutCarrierStatus", n(f.withoutCarrierStatus)]]
            section("shipments.byCarrierStatus", ["carrier", "status", "shipments", "units"])
            expected += f.byCarrierStatus.map { ["s:" + $0.carrier, "s:" + $0.status, n($0.shipments), n($0.units)] }
            section("shipments.byDay", ["day", "shipments", "units"])
            expected += f.byDay.map { [day($0.day), n($0.shipments), n($0.units)] }
        }
        var actual = sheet.rows.map { row in
            var cells = row.map(Self.text)
            while cells.last == "" { cells.removeLast() }
            return cells
        }
        while actual.last == [] { actual.removeLast() }
        #expect(actual == expected)
    }

    /// Orders in EUR, JPY (0 decimals) and BHD (3), across Berlin's two DST changes of 2026
    /// (29 March 01:00Z, 25 October 01:00Z), one line without a price, formula-like values.
    func fill(_ f: ExportFixture) throws {
        try f.insertOrder(ref: "E1", customer: "c1", status: "delivered", currency: "EUR", createdAt: "2026-03-29T00:59:59.999Z",
                          items: [(product: "p1", quantity: 3, price: "0.10"), (product: "p2", quantity: 1, price: "0.20")])
        try f.insertOrder(ref: "E2", customer: "=HYPERLINK(\"http://x\",\"y\")", status: "shipped", currency: "EUR",
                          createdAt: "2026-03-29T01:00:00.000Z", items: [(product: "+1+1", quantity: 2, price: "1000000.01")])
        try f.insertOrder(ref: "J1", customer: "@SUM(A1)", status: "delivered", currency: "JPY", createdAt: "2026-10-25T00:30:00.123Z",
                          items: [(product: "<script>alert(1)</script>", quantity: 7, price: "1500")])
        try f.insertOrder(ref: "B1", customer: "-2+3", status: "processing", currency: "BHD", createdAt: "2026-10-25T01:30:00.456Z",
                          items: [(product: "\t=1", quantity: 1, price: "0.125"), (product: "\n=1", quantity: 4, price: "12.5"),
                                 (product: "\r=1\r\nx", quantity: 1, price: "0"),
                                 (product: "_x0041_ literal, _x005F_ too", quantity: 1, price: "0")])
        try f.insertOrder(ref: "X1", customer: "plain, \"quoted\"\nnext — Grüße 注文 🚚", status: "delivered", currency: "USD",
                          createdAt: "2026-12-31T23:59:59.999Z", items: [(product: "-12.50", quantity: 1, price: "2")])
        // A line whose price nobody knows (API orders): its money cells stay empty.
        try f.conn.query("""
            INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
            SELECT id, 9, 'no-price', 2, NULL FROM orders WHERE external_ref = 'X1'
            """)
    }

    @Test func ordersAndLinesEqualTheCSVCellByCellInTheExportsZoneWithEachCurrencysDecimals() throws {
        let f = try ExportFixture()
        try fill(f)
        for zone in ["Europe/Berlin", "UTC"] {
            try exportAndCompare(f, Self.definition(.orders, .xlsx, timezone: zone), name: "orders-\(zone.split(separator: "/").last!)")
            try exportAndCompare(f, Self.definition(.lines, .xlsx, timezone: zone), name: "lines-\(zone.split(separator: "/").last!)")
        }
        // The same rows give the same bytes (the workbook's creation time is the period's, not now).
        var again = Self.definition(.orders, .xlsx, timezone: "Europe/Berlin")
        Thread.sleep(forTimeInterval: 1.1) // a clock-stamped file would now differ
        _ = try f.export(again, to: "again.xlsx")
        #expect(ContentHash.sha256Hex(try f.bytes("again.xlsx")) == ContentHash.sha256Hex(try f.bytes("orders-Berlin.xlsx")))
        again.to = PeriodBound("2027-01-01")
        _ = try f.export(again, to: "bounded-1.xlsx")
        _ = try f.export(again, to: "bounded-2.xlsx")
        #expect(ContentHash.sha256Hex(try f.bytes("bounded-1.xlsx")) == ContentHash.sha256Hex(try f.bytes("bounded-2.xlsx")))
        // Spot checks of what the comparison implies, in Berlin: CEST began at 01:00Z on 29 March.
        let book = try ReadWorkbook(f.path("lines-Berlin.xlsx"))
        let rows = try book.sheet("lines").rows
        let created = rows.dropFirst().map { Self.text($0[3]) }
        #expect(created.prefix(3) == ["d:2026-03-29T01:59:59.999@\(Self.timestampFormat)", "d:2026-03-29T01:59:59.999@\(Self.timestampFormat)",
                                      "d:2026-03-29T03:00:00.000@\(Self.timestampFormat)"])
        let totals = rows.dropFirst().map { Self.text($0[14]) }
        #expect(totals.contains("n:10500@0") && totals.contains("n:50@3") && totals.contains("n:0@3") && totals.contains("n:0.3@2") && totals.contains(""))
    }

    @Test func formulaLikeFeedValuesAreTextCellsNeverFormulas() throws {
        let f = try ExportFixture()
        let hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "@SUM(A1)", "<script>alert(1)</script>", "-2+3+cmd|' /C calc'!A0"]
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var feed = ExportFixture.header
        for (n, value) in hostile.enumerated() {
            feed += "F\(n),\(quoted(value)),shipped,EUR,2026-10-01T10:00:0\(n)Z,\(quoted(value)),\(quoted(value)),\(quoted(value)),1,9.99\n"
        }
        try f.importFeed(feed)
        let book = try exportAndCompare(f, Self.definition(.lines, .xlsx), name: "hostile")
        let sheet = try book.sheet("lines")
        let header = sheet.rows[0].map { Self.text($0) }
        for row in sheet.rows.dropFirst() {
            let n = try #require(Int(row[header.firstIndex(of: "s:external_ref")!].value.stringValue!.dropFirst()))
            // (The import normalizes tracking fields; these two arrive exactly as fed.)
            for column in ["customer_id", "product_id"] {
                let cell = row[header.firstIndex(of: "s:" + column)!]
                #expect(cell.type == "s" && cell.value.stringValue == hostile[n], "\(column) of F\(n)")
            }
        }
    }

    @Test func historyAndShipmentsEqualTheCSVCellByCell() throws {
        let f = try ExportFixture()
        try f.importFeed(ExportFixture.header + """
            H1,c1,processing,USD,2026-10-24T23:30:00Z,,,p1,1,1.00
            H2,c2,processing,JPY,2026-10-25T01:30:00Z,,,p2,1,200

            """)
        try f.importFeed("external_ref,action,status,customer_id,currency,created_at,product_id,quantity,unit_price\nH1,delete,,,,,,,\nH2,,shipped,c2,JPY,2026-10-25T01:30:00Z,p2,1,200\n", name: "second.csv")
        let history = try exportAndCompare(f, Self.definition(.history, .xlsx, timezone: "Europe/Berlin"), name: "history")
        let rows = try history.sheet("history").rows
        #expect(rows.dropFirst().contains { Self.text($0[15]) == "b:true" } && rows.dropFirst().contains { Self.text($0[15]) == "b:false" })
        #expect(rows.dropFirst().allSatisfy { Self.text($0[0]).hasPrefix("n:") && Self.text($0[5]).hasPrefix("n:") })

        _ = try ShipmentExportTests().fill(f)
        try exportAndCompare(f, ShipmentExportTests.definition(.xlsx, timezone: "Europe/Berlin"), name: "shipments")
        try exportAndCompare(f, ShipmentExportTests.definition(.xlsx, on: .created), name: "shipments-created")
    }

    @Test func anEmptyResultIsAWorkbookWithTheHeaderOnlyAndZeroTotals() throws {
        let f = try ExportFixture()
        try fill(f)
        for dataset in ExportDefinition.Dataset.allCases {
            let book = try exportAndCompare(f, Self.definition(dataset, .xlsx, from: "2030-01-01", to: "2030-02-01"), name: "empty-\(dataset)")
            let sheet = try book.sheet(dataset.rawValue)
            #expect(sheet.rows.count == 1 && sheet.autofilter?.hasSuffix("1") == true)
        }
    }

    @Test func aFailedOrCancelledXLSXExportLeavesNoFile() throws {
        let f = try ExportFixture()
        try f.importFeed(String(decoding: try OrderFeedGenerator(orders: 3000, seed: 9).bytes(.csv), as: UTF8.self))
        let before = try f.files()
        let cancellation = Cancellation()
        var progressCalls = 0
        let error = #expect(throws: ExportError.self) {
            _ = try f.export(Self.definition(.lines, .xlsx), to: "cancelled.xlsx", chunkSize: 4096) { e in
                e.cancellation = cancellation
                e.progress = { _ in
                    progressCalls += 1
                    if progressCalls == 3 { cancellation.cancel(reason: "test") }
                }
            }
        }
        #expect(error?.code == .cancelled)
        #expect(try f.files() == before)
        #expect(try f.scalar("SELECT 1") == "1")
        // A server-side failure mid-query leaves nothing either.
        try f.conn.execute("SET statement_timeout = 1")
        #expect(throws: PostgresError.self) { _ = try f.export(Self.definition(.lines, .xlsx), to: "timeout.xlsx") }
        try f.conn.execute("RESET statement_timeout")
        #expect(try f.files() == before)
    }

    @Test func xlsxRefusesGzipAndBOMAndIsChosenByAPipelineOrTheFileName() throws {
        func key(_ yaml: String) -> String? {
            do { _ = try ExportDefinition.parse(yaml: "name: x\nkind: export\n" + yaml); return nil } catch let e as DefinitionError { return e.key } catch { return "?" }
        }
        #expect(key("output:\n  format: xlsx\n") == nil)
        #expect(try ExportDefinition.parse(yaml: "name: x\nkind: export\noutput:\n  format: xlsx\n").format == .xlsx)
        #expect(key("output:\n  format: xlsx\n  gzip: true\n") == "output.gzip")
        #expect(key("output:\n  format: xlsx\n  bom: true\n") == "output.bom")
        #expect(key("output:\n  format: xls\n") == "output.format")
    }

    @Test func theCommandWritesXLSXToAFileOrStandardOutputAndRefusesGzip() throws {
        let f = try ExportFixture()
        try fill(f)
        func run(_ args: [String]) throws -> ProgramOutput { try TestProgram.run(try OrderflowBinary.path(), ["export", "--database", f.url] + args) }
        // The file name chooses the format.
        let file = try run(["--dataset", "lines", "--timezone", "Europe/Berlin", "-o", f.path("cmd.xlsx")])
        #expect(file.status == 0, "\(file.error)")
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: f.dir.appendingPathComponent("cmd.xlsx.report.json")))
        #expect(report.output?.format == "xlsx" && report.output?.rows == 10)
        #expect(report.output?.sha256 == ContentHash.sha256Hex(try f.bytes("cmd.xlsx")))
        #expect(try ReadWorkbook(f.path("cmd.xlsx")).sheet("lines").rows.count == 11)
        // Standard output gets the finished workbook, byte for byte what a file gets.
        let stdout = try run(["--dataset", "lines", "--timezone", "Europe/Berlin", "--format", "xlsx", "-o", "-", "--report-dir", f.path("r-stdout")])
        #expect(stdout.status == 0, "\(stdout.error)")
        #expect(Array(stdout.output.prefix(2)) == Array("PK".utf8))
        let piped = f.path("piped.xlsx")
        try Data(stdout.output).write(to: URL(fileURLWithPath: piped))
        #expect(try ReadWorkbook(piped).sheet("lines").rows.count == 11)
        let stdoutReport = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: URL(fileURLWithPath: f.path("r-stdout/report.json"))))
        #expect(stdoutReport.output?.sha256 == ContentHash.sha256Hex(stdout.output) && stdoutReport.output?.path == "-")
        // The ledger kept both workbooks: --rerun writes each again, byte for byte.
        let again = try run(["--rerun", "\(try #require(stdoutReport.ledgerId))", "-o", f.path("again.xlsx")])
        #expect(again.status == 0, "\(again.error)")
        #expect(try f.bytes("again.xlsx") == Array(stdout.output))
        // Usage errors: exit 2, nothing written.
        #expect(try run(["--format", "xlsx", "--gzip", "-o", f.path("bad.xlsx")]).status == 2)
        #expect(try run(["--bom", "-o", f.path("bad.xlsx")]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: f.path("bad.xlsx")))
    }
}
