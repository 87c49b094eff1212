import ArgumentParser
import Foundation
import OrderStore
import Pipeline
import PostgresClient

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "End to end on the embedded database: migrate, then the sample pipelines.",
        discussion: """
            Imports the legacy export (CSV, then the same orders as NDJSON: nothing changes), a
            later snapshot in mirror mode (dry run first), a legacy ERP export with its own column
            names, two broken files that must apply nothing, then the nightly carrier-tracking
            feeds (an aggregator's, FedEx-, UPS-, DHL- and USPS-style exports), and shipments: scans
            held until their ship confirmation arrives, an order in two packages, a package for two
            orders. Run it again:
            already applied inputs are recognised by their SHA-256 and skipped.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Directory of the sample feeds.") var samples = "samples"
    @Option(help: "Directory of the pipeline definitions.") var pipelines = "pipelines"

    struct Step {
        var title: String
        var pipeline: String
        var input: String
        var dryRun = false
        var force = false
        /// The exit code this step must end with (broken inputs must be refused).
        var expect: Int32 = 0
    }

    func run() throws {
        try failing {
            let url = try db.resolve()
            let conn = try PostgresConnection(url)
            print(MigrateCommand.describe(try Migrator().migrate(conn), target: conn.target))
            let steps = [
                Step(title: "Legacy export, canonical CSV", pipeline: "orders-upsert", input: "legacy-orders.csv.gz"),
                Step(title: "The same orders as NDJSON (nothing should change)", pipeline: "orders-upsert", input: "legacy-orders.ndjson.gz"),
                Step(title: "A later full snapshot in mirror mode, dry run", pipeline: "orders-mirror", input: "legacy-orders-later.csv.gz", dryRun: true),
                Step(title: "The same snapshot, applied", pipeline: "orders-mirror", input: "legacy-orders-later.csv.gz"),
                Step(title: "A legacy ERP export with its own column names", pipeline: "legacy-erp", input: "legacy-erp.csv.gz"),
                Step(title: "Broken values: the reject guard must refuse it (exit 3)", pipeline: "orders-upsert", input: "broken/bad-values.csv", expect: 3),
                Step(title: "A truncated gzip: the run must fail and apply nothing (exit 1)", pipeline: "orders-upsert", input: "broken/truncated.csv.gz", expect: 1),
                Step(title: "Nightly tracking from an aggregator (canonical feed, AfterShip tags)", pipeline: "tracking-aftership", input: "tracking/aftership.csv.gz"),
                Step(title: "A FedEx-style export (local times with offsets)", pipeline: "tracking-fedex", input: "tracking/fedex.csv.gz"),
                Step(title: "A UPS-style export (';', zone-less New York times)", pipeline: "tracking-ups", input: "tracking/ups.csv.gz"),
                Step(title: "A DHL-style NDJSON export (epoch milliseconds)", pipeline: "tracking-dhl", input: "tracking/dhl.ndjson.gz"),
                Step(title: "A USPS-style extract (tabs, 12-hour Central times)", pipeline: "tracking-usps", input: "tracking/usps.tsv.gz"),
                Step(title: "The FedEx export again: every event is stale, nothing changes", pipeline: "tracking-fedex", input: "tracking/fedex.csv.gz", force: true),
                Step(title: "Carrier scans for a package nobody has confirmed yet: held, not rejected", pipeline: "tracking-aftership", input: "shipments/carrier-early.csv"),
                Step(title: "New web orders (one lists a product on two lines at two prices)", pipeline: "orders-upsert", input: "shipments/web-orders.csv"),
                Step(title: "ERP ship confirmations: WEB-5001 in two packages, WEB-5002 and WEB-5003 in one; the held scans are released", pipeline: "shipments-erp", input: "shipments/erp-confirmations.csv"),
                Step(title: "Next night's scans: one package of WEB-5001 delivered (the order is not), the shared package out for delivery (both orders move)", pipeline: "tracking-aftership", input: "shipments/carrier-next.csv"),
            ]
            var surprises: [String] = []
            for (i, step) in steps.enumerated() {
                print("\n[\(i + 1)/\(steps.count)] \(step.title)")
                print("  $ orderflow run \(pipelines)/\(step.pipeline).yaml \(samples)/\(step.input)\(step.dryRun ? " --dry-run" : "")\(step.force ? " --force" : "")")
                var options = RunOptions()
                options.dryRun = step.dryRun
                options.force = step.force
                let code = RunCommand.execute(pipeline: "\(pipelines)/\(step.pipeline).yaml", inputs: ["\(samples)/\(step.input)"],
                                              options: options, reportDir: nil) { try PostgresConnection(url) }.code
                if code == step.expect {
                    if code != 0 { print("  → exit \(code), as expected: nothing was applied") }
                } else {
                    surprises.append("step \(i + 1) exited \(code), expected \(step.expect)")
                }
            }
            let counts = try conn.query("""
                SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS items,
                       (SELECT count(*) FROM order_events) AS events, (SELECT count(*) FROM import_runs) AS runs
                """).rows[0]
            print("\ndatabase now: \(counts["orders"] ?? "0") orders, \(counts["items"] ?? "0") line items, \(counts["events"] ?? "0") history events, \(counts["runs"] ?? "0") runs in the history (orderflow runs)")
            print("the web orders and their shipments:")
            for row in try conn.query("""
                SELECT o.external_ref, o.status, coalesce(o.tracking_company || ' ' || o.tracking_number, '-') AS latest,
                       string_agg(s.carrier || ' ' || s.tracking_number || ' ' || coalesce(s.status, 'shipped'), '; ' ORDER BY s.id) AS shipments
                FROM orders o LEFT JOIN shipments s ON s.order_id = o.id
                WHERE o.external_ref LIKE 'WEB-%' GROUP BY o.id ORDER BY o.external_ref
                """).rows {
                print("  \(row["external_ref"] ?? ""): \(row["status"] ?? "") (latest \(row["latest"] ?? "-")) — \(row["shipments"] ?? "no shipments")")
            }
            print("reports: ./reports/<run id>/report.md; history: orderflow runs")
            if !surprises.isEmpty {
                note("demo: " + surprises.joined(separator: "; "))
                throw Exit.failed
            }
        }
    }
}
