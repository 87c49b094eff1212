import Feeds
import Foundation
import RunSupport
import OrderModel
import Pipeline
import SyntheticFeeds
import PostgresClient
import OrderflowTestSupport
import Export
import Reports
import Testing

@Suite("finance export against a real PostgreSQL", .serialized)
struct ExportTests {
    /// Every order and its items, without the database's own ids: equal across databases.
    static let ordersFingerprint = """
        SELECT coalesce(string_agg(x, '|' ORDER BY x), '') FROM (
          SELECT concat_ws(';', o.source, o.external_ref, o.customer_id, o.status, o.currency, o.tracking_company, o.tracking_number,
                           to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                           (SELECT string_agg(i.line_no || ':' || i.product_id || ':' || i.quantity || ':' || i.unit_price, ',' ORDER BY i.line_no)
                              FROM order_items i WHERE i.order_id = o.id)) AS x
          FROM orders o) t
        """

    static func definition(_ dataset: ExportDefinition.Dataset = .orders, _ format: ExportDefinition.Format = .csv,
                           from: String? = nil, to: String? = nil, timezone: String = "UTC", gzip: Bool = false) -> ExportDefinition {
        var d = ExportDefinition()
        d.name = "test"
        d.dataset = dataset
        d.format = format
        d.from = from.flatMap(PeriodBound.init)
        d.to = to.flatMap(PeriodBound.init)
        d.timezone = timezone
        d.gzip = gzip
        return d
    }

    /// The two shapes of the order feed: CSV one row per line item, NDJSON one order per line.
    @Test(arguments: [(ExportDefinition.Dataset.lines, ExportDefinition.Format.csv), (.orders, .ndjson)])
    func exportThenReimportIntoAFreshDatabaseGivesTheSameOrders(dataset: ExportDefinition.Dataset, format: ExportDefinition.Format) throws {
        let f = try ExportFixture()
        let feed = String(decoding: try OrderFeedGenerator(orders: 300, seed: 11).bytes(.csv), as: UTF8.self)
        try f.importFeed(feed)
        let original = try f.scalar(Self.ordersFingerprint)
        #expect(try f.scalar("SELECT count(*) FROM orders") == "300")

        let name = "export.\(format == .csv ? "csv" : "ndjson").gz"
        let report = try f.export(Self.definition(dataset, format, gzip: true), to: name, chunkSize: 4096)
        #expect(report.summary?.orders == 300)

        // A fresh database does not know the exported order ids: the import keys on external_ref.
        let fresh = try PostgresConnection(try TestDatabase.fresh())
        let ignoreIds = "mapping:\n  order_id: \(format == .csv ? "ignored_order_id" : "ignoredOrderId")"
        let again = try f.importFile(f.path(name), extraYAML: ignoreIds, on: fresh)
        #expect(again.counts.created == 300 && again.counts.recordsRejected == 0)
        #expect(try f.scalar(Self.ordersFingerprint, on: fresh) == original)
    }

    @Test func totalsAreComputedInSQLExactlyWithCurrencyOnEveryRow() throws {
        let f = try ExportFixture()
        try f.importFeed(ExportFixture.header + """
            A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,3,0.10
            A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,1,0.20
            A2,c2,shipped,EUR,2026-10-01T23:30:00Z,UPS,1Z1,p3,2,19.99
            A3,c3,shipped,EUR,2026-10-02T08:00:00Z,UPS,1Z2,p4,1,1000000.01

            """)
        let report = try f.export(Self.definition(.orders, .csv), to: "orders.csv")
        let rows = csvRecords(try f.text("orders.csv"))
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { !($0["currency"] ?? "").isEmpty })
        let a1 = try #require(rows.first { $0["external_ref"] == "A1" })
        // 3 × 0.10 + 0.20 in binary floating point is 0.5000000000000001; exact decimals say 0.50.
        #expect(a1["total"] == "0.50" && a1["units"] == "4" && a1["line_items"] == "2")
        let s = try #require(report.summary)
        #expect(s.orders == 3 && s.units == 7 && s.rows == 3)
        #expect(s.byCurrencyStatus.map { "\($0.currency)/\($0.status)/\($0.orders)/\($0.units)/\($0.total)" }
                == ["EUR/shipped/2/3/1000039.99", "USD/processing/1/4/0.50"])
        #expect(s.byDay.map { "\($0.day)/\($0.currency)/\($0.total)" } == ["2026-10-01/EUR/39.98", "2026-10-01/USD/0.50", "2026-10-02/EUR/1000000.01"])
        #expect(s.totalsByCurrency == ["EUR": "1000039.99", "USD": "0.50"])
        #expect(report.output?.rows == 3)
        #expect(report.output?.sha256 == ContentHash.sha256Hex(try f.bytes("orders.csv")))
        // report.json, report.md and report.html beside the export.
        #expect(try f.files().contains("report.json") && f.files().contains("report.md") && f.files().contains("report.html"))
    }

    @Test func formulaCellsAreNeutralizedAndNumbersStayNumbers() throws {
        let f = try ExportFixture()
        let cases: [(stored: String, csv: String)] = [
            ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3+cmd", "'-2+3+cmd"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\n=1", "'\n=1"),
            ("-12.50", "-12.50"),
            ("+7", "+7"),
            ("a=b", "a=b"),
            ("plain, \"quoted\"\nnext line \\ backslash — Grüße 注文 🚚", "plain, \"quoted\"\nnext line \\ backslash — Grüße 注文 🚚"),
        ]
        for (n, c) in cases.enumerated() {
            try f.insertOrder(ref: "R\(n)", customer: c.stored, createdAt: "2026-10-01T00:00:0\(n % 10)Z",
                              items: [(product: c.stored, quantity: 1, price: "1.50")])
        }
        _ = try f.export(Self.definition(.lines, .csv), to: "lines.csv")
        let rows = csvRecords(try f.text("lines.csv"))
        #expect(rows.count == cases.count)
        for (n, c) in cases.enumerated() {
            let row = try #require(rows.first { $0["external_ref"] == "R\(n)" })
            #expect(row["customer_id"] == c.csv, "customer case \(n)")
            #expect(row["product_id"] == c.csv, "product case \(n)")
            // Numeric columns are never touched, negative or not.
            #expect(row["unit_price"] == "1.50" && row["line_total"] == "1.50")
        }

        // NDJSON is for programs: values come out exactly as stored, escapes and all.
        _ = try f.export(Self.definition(.lines, .ndjson), to: "lines.ndjson")
        let lines = try f.text("lines.ndjson").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == cases.count + 1 && lines.last == "")
        for line in lines.dropLast() {
            let value = try JSONValue.parse(String(line))
            let ref = try #require(value["externalRef"]?.stringValue)
            let n = try #require(Int(ref.dropFirst()))
            #expect(value["customerId"]?.stringValue == cases[n].stored)
            #expect(value["productId"]?.stringValue == cases[n].stored)
            #expect(value["unitPrice"]?.numberText == "1.50")
        }
    }

    @Test func periodsAreHalfOpenAndDatesAreMidnightInTheExportsZone() throws {
        let f = try ExportFixture()
        // Berlin is UTC+2 on 1 October 2026 (summer time) and UTC+1 on 1 November.
        let instants = ["2026-09-30T21:59:59.999Z", "2026-09-30T22:00:00.000Z", "2026-09-30T23:59:59.999Z", "2026-10-31T22:59:59.999Z",
                        "2026-10-31T23:00:00.000Z", "2026-10-31T23:59:59.999Z", "2026-11-01T00:00:00.000Z"]
        for (n, t) in instants.enumerated() {
            try f.insertOrder(ref: "T\(n)", customer: "c", createdAt: t, items: [(product: "p", quantity: 1, price: "1")])
        }
        func refs(_ d: ExportDefinition) throws -> [String] {
            _ = try f.export(d, to: "p.csv")
            return csvRecords(try f.text("p.csv")).compactMap { $0["external_ref"] }
        }
        #expect(try refs(Self.definition(from: "2026-10-01", to: "2026-11-01", timezone: "Europe/Berlin")) == ["T1", "T2", "T3"])
        #expect(try refs(Self.definition(from: "2026-10-01", to: "2026-11-01")) == ["T3", "T4", "T5"])
        // Instants with offsets mean exactly that instant, whatever the zone.
        #expect(try refs(Self.definition(from: "2026-10-01T00:00:00+02:00", to: "2026-11-01T00:00:00+01:00", timezone: "UTC")) == ["T1", "T2", "T3"])
        #expect(try refs(Self.definition(from: "2026-10-31T23:00:00Z")) == ["T4", "T5", "T6"])
        #expect(try refs(Self.definition(to: "2026-09-30T22:00:00Z")) == ["T0"])

        let report = try f.export(Self.definition(from: "2026-10-01", to: "2026-11-01", timezone: "Europe/Berlin"), to: "p.csv")
        #expect(report.period.fromInstant == "2026-09-30T22:00:00.000000Z")
        #expect(report.period.toInstant == "2026-10-31T23:00:00.000000Z")
        // Days are Berlin days too: 22:00Z on 30 September is 1 October there.
        #expect(report.summary?.byDay.map(\.day) == ["2026-10-01", "2026-10-31"])

        #expect(throws: ExportError.self) { try f.export(Self.definition(from: "2026-11-01", to: "2026-11-01"), to: "empty-period.csv") }
        #expect(PeriodBound("2026-10-01T00:00:00") == nil) // a time without a zone is a guess
        #expect(PeriodBound("2026-02-30") == nil)
    }

    @Test func anEmptyResultIsAHeaderOnlyFileAndAZeroSummary() throws {
        let f = try ExportFixture()
        let report = try f.export(Self.definition(.orders, .csv, from: "2030-01-01", to: "2030-02-01", gzip: true), to: "none.csv.gz")
        #expect(report.output?.rows == 0 && report.summary?.orders == 0 && report.summary?.byDay.isEmpty == true)
        let zcat = try TestProgram.run("/bin/zcat", [f.path("none.csv.gz")])
        #expect(zcat.status == 0)
        #expect(String(decoding: zcat.output, as: UTF8.self) == ExportQuery(definition: Self.definition(), from: nil, to: nil).columns.map(\.name).joined(separator: ",") + "\n")
        _ = try f.export(Self.definition(.history, .ndjson), to: "none.ndjson")
        #expect(try f.bytes("none.ndjson").isEmpty)
    }

    @Test func gzipOutputIsReadByZcatAndEqualsThePlainExport() throws {
        let f = try ExportFixture()
        try f.importFeed(String(decoding: try OrderFeedGenerator(orders: 2000, seed: 5).bytes(.csv), as: UTF8.self))
        var plain = Self.definition(.lines, .csv)
        plain.bom = true
        _ = try f.export(plain, to: "lines.csv")
        var gz = plain
        gz.gzip = true
        let report = try f.export(gz, to: "lines.csv.gz", chunkSize: 8192)
        let zcat = try TestProgram.run("/bin/zcat", [f.path("lines.csv.gz")])
        #expect(zcat.status == 0, "\(zcat.error)")
        #expect(zcat.output == (try f.bytes("lines.csv")))
        #expect(Array(zcat.output.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(report.output?.sha256 == ContentHash.sha256Hex(try f.bytes("lines.csv.gz")))
        #expect(report.output?.rows == Int(try f.scalar("SELECT count(*) FROM order_items") ?? ""))
    }

    @Test func aFailedOrCancelledExportLeavesNoFile() throws {
        let f = try ExportFixture()
        try f.importFeed(String(decoding: try OrderFeedGenerator(orders: 3000, seed: 9).bytes(.csv), as: UTF8.self))
        let before = try f.files()
        // Cancelled mid-stream, after the first buffers have been written to the temp file.
        let cancellation = Cancellation()
        var progressCalls = 0
        let error = #expect(throws: ExportError.self) {
            _ = try f.export(Self.definition(.lines, .csv, gzip: true), to: "cancelled.csv.gz", chunkSize: 4096) { e in
                e.cancellation = cancellation
                e.progress = { _ in
                    progressCalls += 1
                    if progressCalls == 3 { cancellation.cancel(reason: "test") }
                }
            }
        }
        #expect(error?.code == .cancelled)
        #expect(progressCalls >= 3)
        #expect(try f.files() == before)
        // The connection is usable again (the COPY was cancelled and drained, the snapshot rolled back).
        #expect(try f.scalar("SELECT 1") == "1")

        // A directory that does not exist: refused before anything is written.
        #expect(throws: ExportError.self) {
            _ = try FinanceExport(definition: Self.definition()).run(on: f.conn, output: f.path("missing/dir/out.csv"), exportId: "x")
        }
        // A server-side failure mid-query (statement timeout) leaves nothing either.
        try f.conn.execute("SET statement_timeout = 1")
        #expect(throws: PostgresError.self) { _ = try f.export(Self.definition(.lines, .csv), to: "timeout.csv") }
        try f.conn.execute("RESET statement_timeout")
        #expect(try f.files() == before)
    }

    @Test func historyKeepsDeletedOrdersVisible() throws {
        let f = try ExportFixture()
        try f.importFeed(ExportFixture.header + """
            H1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1.00
            H2,c2,processing,USD,2026-10-01T11:00:00Z,,,p2,1,2.00

            """)
        try f.importFeed("external_ref,action,status,customer_id,currency,created_at,product_id,quantity,unit_price\nH1,delete,,,,,,,\nH2,,shipped,c2,USD,2026-10-01T11:00:00Z,p2,1,2.00\n", name: "second.csv")
        let report = try f.export(Self.definition(.history, .csv), to: "history.csv")
        let rows = csvRecords(try f.text("history.csv"))
        #expect(rows.map { $0["kind"] ?? "" }.sorted() == ["created", "created", "deleted", "status_changed"])
        let deleted = try #require(rows.first { $0["kind"] == "deleted" })
        #expect(deleted["order_deleted"] == "true" && deleted["from_status"] == "processing" && deleted["source"] == "legacy")
        let changed = try #require(rows.first { $0["kind"] == "status_changed" })
        #expect(changed["external_ref"] == "H2" && changed["to_status"] == "shipped" && changed["currency"] == "USD")
        #expect(report.summary?.eventsByKind == ["created": 2, "deleted": 1, "status_changed": 1])
        #expect(report.summary?.rows == 4)
    }

    @Test func filtersOnStatusSourceAndCustomerAreBoundValues() throws {
        let f = try ExportFixture()
        try f.insertOrder(ref: "F1", customer: "o'brien; DROP TABLE orders", status: "delivered", createdAt: "2026-10-01T00:00:00Z", items: [(product: "p", quantity: 1, price: "1")])
        try f.insertOrder(ref: "F2", customer: "c2", status: "delivered", createdAt: "2026-10-01T00:00:00Z", items: [(product: "p", quantity: 1, price: "1")])
        try f.insertOrder(ref: "F3", customer: "c2", status: "cancelled", createdAt: "2026-10-01T00:00:00Z", items: [(product: "p", quantity: 1, price: "1")])
        var d = Self.definition()
        d.customers = ["o'brien; DROP TABLE orders", "nobody"]
        _ = try f.export(d, to: "f.csv")
        #expect(csvRecords(try f.text("f.csv")).map { $0["external_ref"] } == ["F1"])
        d.customers = []
        d.statuses = ["cancelled"]
        d.sources = ["legacy"]
        _ = try f.export(d, to: "f.csv")
        #expect(csvRecords(try f.text("f.csv")).map { $0["external_ref"] } == ["F3"])
        #expect(try f.scalar("SELECT count(*) FROM orders") == "3")
    }
}
