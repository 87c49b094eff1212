import DefinitionFile
import Feeds
import Foundation
import OrderflowTestSupport
import PostgresClient
import RunSupport
import Export
import Reports
import Testing

extension ExportFixture {
    /// A shipment of the order with external_ref `ref`, straight into the tables (migration 4's
    /// schema), with its lines; the order's tracking fields then copy its most recent shipment,
    /// as every writer keeps them. Returns the shipment's id.
    @discardableResult
    func insertShipment(ref: String, carrier: String, number: String, status: String? = nil, statusEventAt: String? = nil,
                        shippedAt: String? = nil, deliveredAt: String? = nil, attempts: Int = 0, exceptionCode: String? = nil,
                        exceptionText: String? = nil, createdAt: String, updatedAt: String? = nil,
                        lines: [(lineNo: Int, quantity: Int)] = []) throws -> Int {
        let id = try conn.query("""
            INSERT INTO shipments (order_id, carrier, tracking_number, status, status_event_at, shipped_at, delivered_at, attempts,
                                   exception_code, exception_text, source, created_at, updated_at)
            SELECT o.id, \(carrier), \(number), \(status), \(statusEventAt)::timestamptz, \(shippedAt)::timestamptz,
                   \(deliveredAt)::timestamptz, \(attempts), \(exceptionCode), \(exceptionText), 'test', \(createdAt)::timestamptz,
                   \(updatedAt ?? createdAt)::timestamptz
            FROM orders o WHERE o.source = 'legacy' AND o.external_ref = \(ref)
            RETURNING id
            """).rows[0].decode("id", as: Int.self)
        for line in lines {
            try conn.query("""
                INSERT INTO shipment_lines (order_id, shipment_id, line_no, quantity)
                SELECT order_id, id, \(line.lineNo), \(line.quantity) FROM shipments WHERE id = \(id)
                """)
        }
        try conn.query("""
            UPDATE orders o SET tracking_company = nullif(s.carrier, ''), tracking_number = s.tracking_number
            FROM shipments s WHERE s.id = \(id) AND o.id = s.order_id
            """)
        return id
    }

    func orderId(_ ref: String) throws -> String {
        try conn.query("SELECT id::text AS id FROM orders WHERE source = 'legacy' AND external_ref = \(ref)").rows[0].decode("id", as: String.self)
    }
}

@Suite("shipments export against a real PostgreSQL", .serialized)
struct ShipmentExportTests {
    static let hostileCarrier = "=cmd|' /C calc'!A0"
    static let exceptionText = "Adresse unbekannt, \"Hinterhof\"\nzweite Zeile \\ — 注文 🚚"

    static func definition(_ format: ExportDefinition.Format = .csv, on: ExportDefinition.TimeField? = nil, from: String? = nil,
                           to: String? = nil, timezone: String = "UTC") -> ExportDefinition {
        var d = ExportDefinition()
        d.name = "shipments-test"
        d.dataset = .shipments
        d.format = format
        d.on = on
        d.from = from.flatMap(PeriodBound.init)
        d.to = to.flatMap(PeriodBound.init)
        d.timezone = timezone
        return d
    }

    /// Four orders: O1 with two itemized UPS shipments, O2 with one no carrier event has reached
    /// yet (no status, no shipped time), O3 with one whose cells look like formulas, O4 none.
    func fill(_ f: ExportFixture) throws -> [String: Int] {
        try f.insertOrder(ref: "O1", customer: "c1", status: "delivered", createdAt: "2026-10-01T08:00:00Z",
                          items: [(product: "p1", quantity: 2, price: "1.00"), (product: "p2", quantity: 3, price: "2.00")])
        try f.insertOrder(ref: "O2", customer: "c2", status: "shipped", createdAt: "2026-10-01T09:00:00Z", items: [(product: "p3", quantity: 1, price: "1.00")])
        try f.insertOrder(ref: "O3", customer: "c3", status: "exception", createdAt: "2026-10-01T10:00:00Z", items: [(product: "p4", quantity: 1, price: "1.00")])
        try f.insertOrder(ref: "O4", customer: "c4", status: "processing", createdAt: "2026-10-01T11:00:00Z", items: [(product: "p5", quantity: 1, price: "1.00")])
        var ids: [String: Int] = [:]
        ids["A"] = try f.insertShipment(ref: "O1", carrier: "UPS", number: "1Z1", status: "delivered", statusEventAt: "2026-10-03T10:00:00Z",
                                        shippedAt: "2026-10-01T12:00:00Z", deliveredAt: "2026-10-03T10:00:00Z",
                                        createdAt: "2026-10-01T12:00:05Z", updatedAt: "2026-10-05T00:00:00Z", lines: [(1, 2)])
        ids["B"] = try f.insertShipment(ref: "O1", carrier: "UPS", number: "1Z2", status: "in_transit", statusEventAt: "2026-10-02T09:00:00Z",
                                        shippedAt: "2026-10-02T08:00:00Z", attempts: 1, createdAt: "2026-10-02T08:00:05Z", lines: [(2, 3)])
        // Shipped time unknown: the period and the report's day go by when it was recorded.
        ids["C"] = try f.insertShipment(ref: "O2", carrier: "FedEx", number: "7700", createdAt: "2026-10-02T23:30:00Z")
        ids["D"] = try f.insertShipment(ref: "O3", carrier: Self.hostileCarrier, number: "+1Z", status: "exception",
                                        statusEventAt: "2026-10-03T06:00:00Z", shippedAt: "2026-10-03T00:30:00Z", attempts: 2,
                                        exceptionCode: "@SUM(1)", exceptionText: Self.exceptionText, createdAt: "2026-10-03T00:30:01Z")
        return ids
    }

    /// The shipment ids of an export, in file order.
    func shipments(_ f: ExportFixture, _ d: ExportDefinition, ids: [String: Int]) throws -> [String] {
        _ = try f.export(d, to: "s.csv")
        let byId = Dictionary(uniqueKeysWithValues: ids.map { (String($0.value), $0.key) })
        return csvRecords(try f.text("s.csv")).map { byId[$0["shipment_id"] ?? ""] ?? "?" }
    }

    @Test func oneRowPerShipmentJoinedToItsOrderWithItsLinesAndACarrierByStatusSummary() throws {
        let f = try ExportFixture()
        let ids = try fill(f)
        let report = try f.export(Self.definition(), to: "shipments.csv")
        let text = try f.text("shipments.csv")
        #expect(text.hasPrefix("order_id,shipment_id,source,external_ref,customer_id,order_status,carrier,tracking_number,shipment_status,"
                               + "status_event_at,shipped_at,delivered_at,attempts,exception_code,exception_text,line_count,units,"
                               + "shipment_source,created_at,updated_at\n"))
        let rows = csvRecords(text)
        // By shipped_at, else created_at: A (1 Oct), B (2 Oct 08:00), C (recorded 2 Oct 23:30), D (3 Oct).
        #expect(rows.map { $0["shipment_id"] ?? "" } == ["A", "B", "C", "D"].map { String(ids[$0]!) })
        let o1 = try f.orderId("O1")
        #expect(rows[0] == [
            "order_id": o1, "shipment_id": String(ids["A"]!), "source": "legacy", "external_ref": "O1", "customer_id": "c1",
            "order_status": "delivered", "carrier": "UPS", "tracking_number": "1Z1", "shipment_status": "delivered",
            "status_event_at": "2026-10-03T10:00:00.000Z", "shipped_at": "2026-10-01T12:00:00.000Z", "delivered_at": "2026-10-03T10:00:00.000Z",
            "attempts": "0", "exception_code": "", "exception_text": "", "line_count": "1", "units": "2", "shipment_source": "test",
            "created_at": "2026-10-01T12:00:05.000Z", "updated_at": "2026-10-05T00:00:00.000Z",
        ])
        #expect(rows[1]["order_id"] == o1 && rows[1]["shipment_status"] == "in_transit" && rows[1]["attempts"] == "1" && rows[1]["units"] == "3")
        // No carrier event yet: no status, no shipped time; no lines: a line count of 0 and no units.
        let c = rows[2]
        #expect(c["external_ref"] == "O2" && c["order_status"] == "shipped" && c["shipment_status"] == "" && c["shipped_at"] == ""
                && c["status_event_at"] == "" && c["line_count"] == "0" && c["units"] == "")
        // Text cells that a spreadsheet would run get a leading quote; the rest stays exact.
        let d = rows[3]
        #expect(d["carrier"] == "'" + Self.hostileCarrier && d["tracking_number"] == "'+1Z" && d["exception_code"] == "'@SUM(1)")
        #expect(d["exception_text"] == Self.exceptionText && d["attempts"] == "2")
        // The order without shipments is not in a shipments export.
        #expect(!rows.contains { $0["external_ref"] == "O4" })

        let s = try #require(report.summary?.shipments)
        #expect(report.output?.rows == 4 && report.summary?.rows == 4 && report.period.on == "shipped")
        #expect(s.shipments == 4 && s.itemized == 2 && s.units == 5 && s.withoutCarrierStatus == 1)
        // Carriers as stored (the CSV's formula quote is not part of the name); no status is shipped.
        #expect(s.byCarrierStatus.map { "\($0.carrier)/\($0.status)/\($0.shipments)/\($0.units)" }
                == ["\(Self.hostileCarrier)/exception/1/0", "FedEx/shipped/1/0", "UPS/delivered/1/2", "UPS/in_transit/1/3"])
        #expect(s.byDay.map { "\($0.day)/\($0.shipments)/\($0.units)" } == ["2026-10-01/1/2", "2026-10-02/2/3", "2026-10-03/1/0"])
        #expect(report.output?.sha256 == ContentHash.sha256Hex(try f.bytes("shipments.csv")))

        // report.md and report.json speak of shipments; the order figures stay out of it.
        let md = try f.text("report.md")
        #expect(md.contains("## Shipments") && md.contains("| UPS | in_transit | 1 | 3 |") && !md.contains("## Totals"))
        #expect(md.contains("| =cmd\\|' /C calc'!A0 | exception | 1 | 0 |"), "a | in a carrier's name does not split its cell")
        let json = try JSONDecoder().decode(ExportReport.self, from: Data(try f.bytes("report.json")))
        #expect(json.summary?.shipments == s && json.dataset == "shipments")
    }

    @Test func ndjsonCarriesEveryValueExactlyWithTheLinesAndTheSameSummary() throws {
        let f = try ExportFixture()
        let ids = try fill(f)
        let csv = try f.export(Self.definition(.csv), to: "s.csv")
        let report = try f.export(Self.definition(.ndjson), to: "s.ndjson")
        let lines = try f.text("s.ndjson").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines.last == "")
        let values = try lines.dropLast().map { try JSONValue.parse(String($0)) }
        #expect(values.map { $0["shipmentId"]?.numberText } == ["A", "B", "C", "D"].map { String(ids[$0]!) })
        let a = values[0]
        let o1 = try f.orderId("O1")
        #expect(a["orderId"]?.stringValue == o1 && a["orderStatus"]?.stringValue == "delivered")
        #expect(a["shipmentStatus"]?.stringValue == "delivered" && a["lineCount"]?.numberText == "1" && a["units"]?.numberText == "2")
        let expectedLines = try JSONValue.parse(#"[{"lineNo":1,"quantity":2}]"#)
        #expect(a["lines"] == expectedLines)
        let c = values[2]
        #expect(c["shipmentStatus"]?.isNull == true && c["shippedAt"]?.isNull == true && c["units"]?.isNull == true)
        #expect(c["lines"]?.arrayElements?.isEmpty == true)
        let d = values[3]
        #expect(d["carrier"]?.stringValue == Self.hostileCarrier && d["trackingNumber"]?.stringValue == "+1Z")
        #expect(d["exceptionCode"]?.stringValue == "@SUM(1)" && d["exceptionText"]?.stringValue == Self.exceptionText)
        // The same rows give the same figures whichever the format.
        #expect(report.summary?.shipments == csv.summary?.shipments && report.summary?.shipments?.shipments == 4)
    }

    @Test func thePeriodIsOnShippedElseCreatedTimeOrTheOneAskedFor() throws {
        let f = try ExportFixture()
        let ids = try fill(f)
        // Shipped time, half-open; C has none and counts from when it was recorded (2 Oct 23:30Z).
        #expect(try shipments(f, Self.definition(from: "2026-10-02", to: "2026-10-03"), ids: ids) == ["B", "C"])
        // Berlin dates: 23:30Z on 2 October is 3 October there.
        #expect(try shipments(f, Self.definition(from: "2026-10-03", timezone: "Europe/Berlin"), ids: ids) == ["C", "D"])
        let berlin = try f.export(Self.definition(timezone: "Europe/Berlin"), to: "b.csv")
        #expect(berlin.summary?.shipments?.byDay.map { "\($0.day)/\($0.shipments)" } == ["2026-10-01/1", "2026-10-02/1", "2026-10-03/2"])
        // event: the time of the carrier event the status came from; without one, not in any period.
        #expect(try shipments(f, Self.definition(on: .event, from: "2026-10-02T09:00:00Z"), ids: ids) == ["B", "D", "A"])
        #expect(try shipments(f, Self.definition(on: .created, to: "2026-10-02"), ids: ids) == ["A"])
        #expect(try shipments(f, Self.definition(on: .updated, from: "2026-10-05"), ids: ids) == ["A"])
        let created = try f.export(Self.definition(on: .created), to: "c.csv")
        #expect(created.period.on == "created" && created.summary?.shipments?.byDay.map(\.day) == ["2026-10-01", "2026-10-02", "2026-10-03"])

        // Nothing in the period: a header-only file and zero figures.
        let none = try f.export(Self.definition(from: "2030-01-01"), to: "none.csv")
        #expect(try f.text("none.csv") == ExportQuery(definition: Self.definition(), from: nil, to: nil).columns.map(\.name).joined(separator: ",") + "\n")
        #expect(none.summary?.shipments == ExportSummary.Shipments())
    }

    @Test func filtersAreTheShipmentsStatusAndItsOrdersSourceAndCustomer() throws {
        let f = try ExportFixture()
        let ids = try fill(f)
        var d = Self.definition()
        // A shipment without a status counts as shipped.
        d.statuses = ["shipped"]
        #expect(try shipments(f, d, ids: ids) == ["C"])
        d.statuses = ["delivered", "in_transit"]
        #expect(try shipments(f, d, ids: ids) == ["A", "B"])
        d.statuses = []
        d.customers = ["c1", "o'brien; DROP TABLE shipments"]
        #expect(try shipments(f, d, ids: ids) == ["A", "B"])
        d.customers = []
        d.sources = ["api"]
        #expect(try shipments(f, d, ids: ids) == [])
        #expect(try f.scalar("SELECT count(*) FROM shipments") == "4")

        // A status no shipment can have, and a shipments-only time on another dataset, are refused.
        d.sources = []
        d.statuses = ["processing"]
        #expect(throws: DefinitionError.self) { try d.validate() }
        var orders = ExportTests.definition(.orders)
        orders.on = .shipped
        #expect(throws: DefinitionError.self) { try orders.validate() }
    }

    @Test func theCommandExportsShipmentsAndSaysSo() throws {
        let f = try ExportFixture()
        _ = try fill(f)
        let run = try TestProgram.run(try OrderflowBinary.path(), [
            "export", "--dataset", "shipments", "--database", f.url, "--from", "2026-10-02", "--status", "shipped,exception",
            "-o", f.path("s.csv.gz"),
        ])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.error.contains("exported 2 shipments (\(Self.hostileCarrier) 1, FedEx 1)"), "\(run.error)")
        let zcat = try TestProgram.run("/bin/zcat", [f.path("s.csv.gz")])
        #expect(csvRecords(String(decoding: zcat.output, as: UTF8.self)).map { $0["external_ref"] ?? "" } == ["O2", "O3"])
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(try f.bytes("s.csv.gz.report.json")))
        #expect(report.dataset == "shipments" && report.period.on == "shipped" && report.summary?.shipments?.withoutCarrierStatus == 1)
        // --on shipped belongs to shipments; a shipment status filter to a status shipments have.
        #expect(try TestProgram.run(try OrderflowBinary.path(), ["export", "--on", "shipped", "--database", f.url, "-o", f.path("x.csv")]).status == 2)
        #expect(try TestProgram.run(try OrderflowBinary.path(), [
            "export", "--dataset", "shipments", "--status", "cancelled", "--database", f.url, "-o", f.path("x.csv"),
        ]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: f.path("x.csv")))
    }
}
