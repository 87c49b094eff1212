import CZlib
import Foundation
import OrderflowTestSupport
import RunSupport
import Pipeline
import SyntheticFeeds
import Export
import Reports
import Testing

/// report.html rendered by a real browser: the page must show something, and every figure it
/// shows must be the one in report.json.
@Suite("report.html in headless Chromium", .serialized)
struct HTMLReportTests {
    @Test func importRunReportRendersAndMatchesItsJSON() throws {
        let browser = try Chromium.locate()
        let f = try ExportFixture()
        let reportDir = f.dir.appendingPathComponent("run-report")
        let input = f.path("feed.csv")
        try Data((ExportFixture.header + """
            A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
            A2,c2,shipped,EUR,2026-10-02T10:00:00Z,UPS,1Z1,p2,1,5.00
            A3,c3,bogus,USD,2026-10-02T10:00:00Z,,,p3,1,1.00
            A4,c4,processing,USD,not a time,,,p4,1,1.00
            A5,c5,processing,USD,2026-10-02T10:00:00Z,,,p5,0,1.00

            """).utf8).write(to: URL(fileURLWithPath: input))
        let report = try f.importFile(input, maxRejects: "10", reportDir: reportDir)
        #expect(report.counts.created == 2 && report.counts.recordsRejected == 3)

        let html = reportDir.appendingPathComponent("report.html")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: reportDir.appendingPathComponent("report.json"))) as! [String: Any]
        var expected: [String: String] = ["outcome": json["outcome"] as! String]
        for (k, v) in json["counts"] as! [String: Any] { expected["counts.\(k)"] = "\(v)" }
        for (k, v) in json["rejectsByReason"] as! [String: Any] { expected["rejectsByReason.\(k)"] = "\(v)" }
        for stage in json["stages"] as! [[String: Any]] {
            expected["stages.\(stage["name"] as! String).seconds"] = String(format: "%.3f", (stage["seconds"] as! NSNumber).doubleValue)
        }
        #expect(expected.count > 15)
        try checkRendered(html, browser: browser, expected: expected, in: f)
    }

    @Test func exportReportRendersAndMatchesItsJSON() throws {
        let browser = try Chromium.locate()
        let f = try ExportFixture()
        try f.importFeed(String(decoding: try OrderFeedGenerator(orders: 500, seed: 21).bytes(.csv), as: UTF8.self))
        var d = ExportDefinition()
        d.name = "finance-test"
        d.timezone = "Europe/Berlin"
        d.from = PeriodBound("2026-10-01")
        d.to = PeriodBound("2026-11-01")
        d.gzip = true
        let report = try f.export(d, to: "orders.csv.gz")
        #expect((report.summary?.byDay.count ?? 0) > 20)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: f.dir.appendingPathComponent("report.json"))) as! [String: Any]
        let output = json["output"] as! [String: Any], summary = json["summary"] as! [String: Any]
        var expected: [String: String] = [
            "outcome": json["outcome"] as! String, "output.rows": "\(output["rows"]!)", "output.bytes": "\(output["bytes"]!)",
            "output.sha256": output["sha256"] as! String, "summary.orders": "\(summary["orders"]!)",
            "summary.units": "\(summary["units"]!)", "summary.rows": "\(summary["rows"]!)",
        ]
        for g in summary["byCurrencyStatus"] as! [[String: Any]] {
            let k = "byCurrencyStatus.\(g["currency"]!).\(g["status"]!)"
            expected["\(k).orders"] = "\(g["orders"]!)"; expected["\(k).units"] = "\(g["units"]!)"; expected["\(k).total"] = g["total"] as? String
        }
        for g in summary["byDay"] as! [[String: Any]] {
            let k = "byDay.\(g["day"]!).\(g["currency"]!)"
            expected["\(k).orders"] = "\(g["orders"]!)"; expected["\(k).units"] = "\(g["units"]!)"; expected["\(k).total"] = g["total"] as? String
        }
        for stage in json["stages"] as! [[String: Any]] {
            expected["stages.\(stage["name"] as! String).seconds"] = String(format: "%.3f", (stage["seconds"] as! NSNumber).doubleValue)
        }
        expected.merge(Self.ledgerAndControl(json)) { a, _ in a }
        try checkRendered(f.dir.appendingPathComponent("report.html"), browser: browser, expected: expected, in: f)
        // Self-contained: nothing is fetched from anywhere.
        let page = try String(contentsOf: f.dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(!page.contains("src=") && !page.contains("href=") && !page.contains("<script") && page.contains("<svg"))
    }

    @Test func shipmentsExportReportRendersAndMatchesItsJSON() throws {
        let browser = try Chromium.locate()
        let f = try ExportFixture()
        for n in 1...60 {
            let created = String(format: "2026-10-%02dT10:00:00Z", 1 + n % 28)
            try f.insertOrder(ref: "S\(n)", customer: "c\(n % 7)", status: n % 5 == 0 ? "delivered" : "in_transit", createdAt: created,
                              items: [(product: "p", quantity: 1 + n % 3, price: "1.00")])
            try f.insertShipment(ref: "S\(n)", carrier: ["UPS", "DHL", "FedEx"][n % 3], number: "T\(n)",
                                 status: n % 4 == 0 ? nil : (n % 5 == 0 ? "delivered" : "in_transit"),
                                 shippedAt: n % 4 == 0 ? nil : created, createdAt: created,
                                 lines: n % 2 == 0 ? [(lineNo: 1, quantity: 1 + n % 3)] : [])
        }
        var d = ExportDefinition()
        d.name = "shipments-test"
        d.dataset = .shipments
        d.timezone = "Europe/Berlin"
        let report = try f.export(d, to: "shipments.csv")
        #expect((report.summary?.shipments?.byDay.count ?? 0) > 20)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: f.dir.appendingPathComponent("report.json"))) as! [String: Any]
        let output = json["output"] as! [String: Any], summary = json["summary"] as! [String: Any]
        let shipments = summary["shipments"] as! [String: Any]
        var expected: [String: String] = [
            "outcome": json["outcome"] as! String, "output.rows": "\(output["rows"]!)", "output.bytes": "\(output["bytes"]!)",
            "output.sha256": output["sha256"] as! String,
        ]
        for k in ["shipments", "itemized", "units", "withoutCarrierStatus"] { expected["summary.shipments.\(k)"] = "\(shipments[k]!)" }
        for g in shipments["byCarrierStatus"] as! [[String: Any]] {
            let k = "shipments.byCarrierStatus.\(g["carrier"]!).\(g["status"]!)"
            expected["\(k).shipments"] = "\(g["shipments"]!)"; expected["\(k).units"] = "\(g["units"]!)"
        }
        for g in shipments["byDay"] as! [[String: Any]] {
            expected["shipments.byDay.\(g["day"]!).shipments"] = "\(g["shipments"]!)"; expected["shipments.byDay.\(g["day"]!).units"] = "\(g["units"]!)"
        }
        for stage in json["stages"] as! [[String: Any]] {
            expected["stages.\(stage["name"] as! String).seconds"] = String(format: "%.3f", (stage["seconds"] as! NSNumber).doubleValue)
        }
        expected.merge(Self.ledgerAndControl(json)) { a, _ in a }
        #expect(expected.count > 60)
        try checkRendered(f.dir.appendingPathComponent("report.html"), browser: browser, expected: expected, in: f)
        let page = try String(contentsOf: f.dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(!page.contains("src=") && !page.contains("<script") && page.contains("<svg") && !page.contains("By currency and status"))
    }

    /// Screenshot (not blank) and DOM (every `data-key` figure equals the JSON's, and every
    /// expected figure is shown).
    /// The ledger id and the control totals, as report.json has them.
    static func ledgerAndControl(_ json: [String: Any]) -> [String: String] {
        var expected = ["ledgerId": "\(json["ledgerId"]!)"]
        let control = json["control"] as! [String: Any]
        expected["control.rows"] = "\(control["rows"]!)"
        for g in control["groups"] as! [[String: Any]] {
            expected["control.\(g["key"]!).rows"] = "\(g["rows"]!)"; expected["control.\(g["key"]!).units"] = "\(g["units"]!)"
            expected["control.\(g["key"]!).total"] = g["total"] as? String
        }
        return expected
    }

    func checkRendered(_ html: URL, browser: Chromium, expected: [String: String], in f: ExportFixture) throws {
        let png = f.dir.appendingPathComponent("screenshot-\(html.deletingLastPathComponent().lastPathComponent).png")
        try browser.screenshot(html, to: png)
        let drawn = try PNGImage(data: Array(Data(contentsOf: png))).drawn()
        #expect(drawn.share > 0.01, "screenshot is (nearly) blank: \(drawn.share) of the sampled pixels differ from the background")
        #expect(drawn.colours > 5, "screenshot has only \(drawn.colours) colours")

        let dom = try browser.dumpDOM(html)
        let regex = try NSRegularExpression(pattern: "data-key=\"([^\"]+)\">([^<]*)<")
        var shown: [String: String] = [:]
        for m in regex.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)) {
            shown[String(dom[Range(m.range(at: 1), in: dom)!])] = String(dom[Range(m.range(at: 2), in: dom)!])
        }
        for (key, value) in expected {
            #expect(shown[key] == value, "page shows \(shown[key] ?? "nothing") for \(key), report.json says \(value)")
        }
        for (key, value) in shown where expected[key] == nil {
            Issue.record("page shows \(key) = \(value), which the test did not expect from report.json")
        }
    }
}

