import ArgumentParser
import Foundation
import OrderModel
import OrderStore
import Pipeline
import SyntheticFeeds
import PostgresClient

/// The tracking pipeline against its floor: psql COPY of the events into a temp table plus one
/// `UPDATE … FROM` that produces the same final order states.
struct TrackingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracking",
        abstract: "orderflow run on a generated carrier-event feed vs psql COPY + one UPDATE … FROM (the floor).",
        discussion: """
            Imports the generated orders once and keeps a copy of them (table bench_orders_base,
            reused by later runs with the same --orders and --seed); before the floor and before
            each run, the orders table is restored from that copy (then VACUUM ANALYZE, CHECKPOINT),
            so both start from the same state. The floor's final states must equal the run's (checked).
            The benchmark empties the order tables of the target database: use a scratch one.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Existing orders (about 67% carry a tracking number).") var orders = 1_000_000
    @Option(help: "Mean events per shipment.") var eventsPerShipment = 1.5
    @Option(help: "Generator seed.") var seed: UInt64 = 42
    @Option(help: "Where generated feeds and reports are kept.") var workDir = ".orderflow/bench"
    @Option(help: "Rounds of floor then run; medians are reported (the machine's noise shows in the spread).") var rounds = 1

    func run() throws {
        try failing {
            let setup = try BenchSetup(db, workDir: workDir)
            let (url, conn, dir) = (setup.url, setup.conn, setup.dir)
            let ordersFeed = try setup.ordersFeed(orders: orders, seed: seed)
            let eventsFeed = dir.appendingPathComponent("tracking-\(orders)-\(seed)-\(eventsPerShipment).csv.gz").path
            if !FileManager.default.fileExists(atPath: eventsFeed) {
                note("generating tracking events into \(eventsFeed)…")
                var generator = TrackingFeedGenerator(orders: orders, seed: seed, style: .csv)
                generator.eventsPerShipment = eventsPerShipment
                try generator.write(to: eventsFeed, gzip: true)
            }
            let ordersPipeline = try setup.pipeline("bench-orders.yaml", "name: bench-orders\nkind: orders\nsource: legacy\n")
            let trackingPipeline = try setup.pipeline("bench-tracking.yaml", "name: bench-tracking\nkind: tracking\nsource: legacy\nguards:\n  max_rejects: 0\n")
            let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            func runOrderflow(_ pipeline: String, _ input: String, label: String) throws -> Measured {
                let m = try Measured.run(me, ["run", pipeline, input, "--force", "--database", url,
                                              "--report-dir", dir.appendingPathComponent("report-tracking-\(label)").path])
                guard m.status == 0 else { throw ValidationError("orderflow run (\(label)) exited with \(m.status)") }
                note(String(format: "%@: %.2f s, peak RSS %.1f MB", label, m.seconds, Double(m.maxRSSKiB) / 1024))
                return m
            }

            // The imported orders are kept in bench_orders_base between runs of the benchmark
            // (the import is setup, not what is measured); its comment says which feed it holds.
            let marker = "orders=\(orders) seed=\(seed)"
            let kept = try conn.query("SELECT obj_description(to_regclass('bench_orders_base'), 'pg_class') AS m").rows[0]["m"]
            if kept != marker {
                note("importing \(orders) orders (setup, not timed)…")
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs")
                _ = try runOrderflow(ordersPipeline, ordersFeed, label: "setup")
                try conn.execute("DROP TABLE IF EXISTS bench_orders_base; CREATE UNLOGGED TABLE bench_orders_base AS SELECT * FROM orders")
                try conn.execute("COMMENT ON TABLE bench_orders_base IS \(PostgresQuery.quoteLiteral(marker))")
            }
            let shipments = try conn.query("SELECT count(*) AS n FROM orders WHERE tracking_number IS NOT NULL").rows[0].decode("n", as: Int.self)
            func restore() throws {
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs")
                try conn.execute("INSERT INTO orders SELECT * FROM bench_orders_base")
                try conn.execute("VACUUM ANALYZE orders")
                try conn.execute("CHECKPOINT")
            }
            func finalState() throws -> String {
                try conn.query("SELECT md5(string_agg(id::text || status || coalesce(status_event_at::text, '-'), ',' ORDER BY id)) AS s FROM orders")
                    .rows[0].decode("s", as: String.self)
            }

            let psql = try PsqlRunner(url: url)
            let meanings = TrackingFeedGenerator.aftership.map { "('\($0.code)', '\($0.status.rawValue)', \($0.status.progressRank))" }
            func timeFloor() throws -> Double { try Stopwatch.time {
                try psql.run([
                    "CREATE TEMP TABLE ev (carrier text, tracking_number text, event_code text, event_time timestamptz, order_id uuid, external_ref text, location text, description text)",
                    "\\copy ev FROM PROGRAM 'gzip -dc \(eventsFeed)' WITH (FORMAT csv, HEADER true)",
                    """
                    UPDATE orders o SET status = w.status, status_event_at = w.event_time, updated_at = now()
                    FROM (SELECT DISTINCT ON (t.id) t.id, m.status, ev.event_time
                          FROM ev JOIN (VALUES \(meanings.joined(separator: ", "))) m(code, status, rank) ON m.code = ev.event_code
                          JOIN orders t ON t.tracking_company = ev.carrier AND t.tracking_number = ev.tracking_number
                          ORDER BY t.id, ev.event_time DESC, m.rank DESC) w
                    WHERE o.id = w.id
                    """,
                ], singleTransaction: true)
            } }
            var floors: [Double] = [], runs: [Measured] = []
            var floorState = "", runState = ""
            for round in 1...max(rounds, 1) {
                try restore()
                floors.append(try timeFloor())
                floorState = try finalState()
                try restore()
                runs.append(try runOrderflow(trackingPipeline, eventsFeed, label: "run"))
                runState = try finalState()
                note(String(format: "round %d: floor %.2f s, run %.2f s (%.2f×)", round, floors.last!, runs.last!.seconds, runs.last!.seconds / floors.last!))
            }
            let floor = median(floors)
            let runSeconds = median(runs.map(\.seconds))
            let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: dir.appendingPathComponent("report-tracking-run/report.json")))
            let eventsBefore = try conn.query("SELECT count(*) AS n FROM order_events").rows[0].decode("n", as: Int.self)
            let rerun = try runOrderflow(trackingPipeline, eventsFeed, label: "forced re-run")
            let again = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: dir.appendingPathComponent("report-tracking-forced re-run/report.json")))
            let eventsAfter = try conn.query("SELECT count(*) AS n FROM order_events").rows[0].decode("n", as: Int.self)

            let t = report.tracking ?? .init()
            print("tracking pipeline, \(report.counts.recordsRead) events for \(shipments) shipments against \(orders) orders (gz CSV \(fileSize(eventsFeed) / 1_048_576) MiB), same run, same machine")
            let spread = rounds > 1 ? String(format: " (median of %d rounds; ratios per round: %@)", rounds,
                                                zip(runs, floors).map { String(format: "%.2f", $0.seconds / $1) }.joined(separator: ", ")) : ""
            print(String(format: "  floor   psql COPY + UPDATE … FROM         %8.2f s", floor) + spread)
            print(String(format: "  run     orderflow run                     %8.2f s  %.2f× floor (target ≤ 1.25)  peak RSS %.1f MB (target ≤ 100)",
                         runSeconds, runSeconds / floor, runs.map(\.mb).max() ?? 0))
            print("          \(t.statusChanged) status changes, \(t.confirmed) confirmed, \(t.superseded) superseded, \(report.counts.recordsRejected) rejected; final states \(runState == floorState ? "equal" : "DIFFER from") the floor's")
            print(String(format: "  re-run  forced: %d changes, %d events added  %8.2f s  peak RSS %.1f MB",
                         (again.tracking?.statusChanged ?? -1) + (again.tracking?.shipmentsAdded ?? 0), eventsAfter - eventsBefore, rerun.seconds, rerun.mb))
            guard runState == floorState else { throw ValidationError("the run's final order states differ from the floor's") }
        }
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }
}
