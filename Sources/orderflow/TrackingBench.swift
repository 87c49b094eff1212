import ArgumentParser
import Foundation
import OrderModel
import OrderStore
import Pipeline
import SyntheticFeeds
import PostgresClient

/// The tracking pipeline against its floor: psql COPY of the events into a temp table, then the
/// set-based statements a DBA would write for the same final rows — shipments, their event log,
/// orders, history and the run's row — in one transaction.
struct TrackingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracking",
        abstract: "orderflow run on a generated carrier-event feed vs psql COPY + hand-written set-based SQL (the floor).",
        discussion: """
            Imports the generated orders once and keeps a copy of them and their shipments (tables
            bench_orders_base and bench_shipments_base, reused by later runs with the same --orders
            and --seed); before the floor and before each run, the order tables are restored from
            that copy (then VACUUM ANALYZE, CHECKPOINT), so both start from the same state. The
            floor's final rows (orders, shipments, shipment events, history) must equal the run's
            (md5 over the sorted rows, checked every round).
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
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs, held_events CASCADE")
                _ = try runOrderflow(ordersPipeline, ordersFeed, label: "setup")
                try conn.execute("DROP TABLE IF EXISTS bench_orders_base; CREATE UNLOGGED TABLE bench_orders_base AS SELECT * FROM orders")
                try conn.execute("DROP TABLE IF EXISTS bench_shipments_base; CREATE UNLOGGED TABLE bench_shipments_base AS SELECT * FROM shipments")
                try conn.execute("COMMENT ON TABLE bench_orders_base IS \(PostgresQuery.quoteLiteral(marker))")
            }
            func restore() throws {
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs, held_events CASCADE")
                try conn.execute("INSERT INTO orders SELECT * FROM bench_orders_base")
                try conn.execute("INSERT INTO shipments OVERRIDING SYSTEM VALUE SELECT * FROM bench_shipments_base")
                try conn.execute("VACUUM ANALYZE orders, shipments, shipment_events, order_events")
                try conn.execute("CHECKPOINT")
            }
            try restore()
            let shipments = try conn.query("SELECT count(*) AS n FROM shipments").rows[0].decode("n", as: Int.self)
            // The final rows both write, without what differs by design (ids of new rows, the
            // run id, wall-clock times).
            func finalState() throws -> String {
                try conn.query("""
                    SELECT md5((SELECT string_agg(concat_ws('|', id, status, status_event_at, tracking_company, tracking_number), ',' ORDER BY id) FROM orders))
                        || md5((SELECT string_agg(concat_ws('|', order_id, id, status, status_event_at, shipped_at, delivered_at, attempts, exception_code, exception_text), ',' ORDER BY order_id, id) FROM shipments))
                        || md5((SELECT string_agg(concat_ws('|', order_id, shipment_id, event_code, event_at, status, location, description), ',' ORDER BY order_id, carrier, tracking_number, event_code, event_at) FROM shipment_events))
                        || md5((SELECT string_agg(concat_ws('|', order_id, kind, from_status, to_status, tracking_company, tracking_number, event_code, location, description, event_at), ',' ORDER BY order_id, event_at, kind) FROM order_events)) AS s
                    """).rows[0].decode("s", as: String.self)
            }

            let psql = try PsqlRunner(url: url)
            let meanings = TrackingFeedGenerator.aftership.map { "('\($0.code)', '\($0.status.rawValue)', \($0.status.progressRank))" }
            // What an expert would write for this feed: every event matches a shipment by its
            // number (the generator names no orders and no unknown numbers, max_rejects is 0),
            // each order has one shipment, and the generator only moves forward.
            func timeFloor() throws -> Double { try Stopwatch.time {
                try psql.run([
                    "CREATE TEMP TABLE ev (carrier text, tracking_number text, event_code text, event_time timestamptz, order_id uuid, external_ref text, location text, description text)",
                    "\\copy ev FROM PROGRAM 'gzip -dc \(eventsFeed)' WITH (FORMAT csv, HEADER true)",
                    """
                    CREATE TEMP TABLE m AS
                    SELECT s.order_id, s.id AS sid, s.carrier, s.tracking_number, ev.event_code, ev.event_time, mp.status, mp.rank,
                           ev.location, ev.description, o.status AS order_status,
                           (s.status_event_at IS NOT NULL AND ev.event_time <= s.status_event_at) AS stale
                    FROM ev JOIN (VALUES \(meanings.joined(separator: ", "))) mp(code, status, rank) ON mp.code = ev.event_code
                    JOIN shipments s ON s.tracking_number = upper(ev.tracking_number) AND s.carrier = ev.carrier
                    JOIN orders o ON o.id = s.order_id
                    """,
                    """
                    CREATE TEMP TABLE w AS
                    SELECT DISTINCT ON (sid) * FROM (SELECT *, min(event_time) OVER (PARTITION BY sid) AS first_at FROM m) x
                    WHERE NOT stale ORDER BY sid, event_time DESC, rank DESC, event_code COLLATE "C" DESC
                    """,
                    """
                    UPDATE shipments s SET status = w.status, status_event_at = w.event_time,
                           delivered_at = CASE WHEN w.status = 'delivered' THEN w.event_time ELSE s.delivered_at END,
                           shipped_at = least(s.shipped_at, w.first_at), updated_at = now()
                    FROM w WHERE s.order_id = w.order_id AND s.id = w.sid
                    """,
                    """
                    INSERT INTO shipment_events (order_id, shipment_id, carrier, tracking_number, event_code, event_at, status, location, description, recorded_at)
                    SELECT order_id, sid, carrier, tracking_number, event_code, event_time, status, location, description, now() FROM m
                    ON CONFLICT DO NOTHING
                    """,
                    """
                    UPDATE shipments s SET attempts = x.attempts, exception_code = x.code, exception_text = x.text
                    FROM (SELECT e.order_id, e.shipment_id, count(*) FILTER (WHERE e.status = 'failed_attempt')::integer AS attempts,
                                 (array_agg(e.event_code ORDER BY e.event_at DESC, e.event_code DESC) FILTER (WHERE e.status = 'exception'))[1] AS code,
                                 (array_agg(e.description ORDER BY e.event_at DESC, e.event_code DESC) FILTER (WHERE e.status = 'exception'))[1] AS text
                          FROM shipment_events e WHERE e.order_id IN (SELECT order_id FROM m) GROUP BY e.order_id, e.shipment_id) x
                    WHERE s.order_id = x.order_id AND s.id = x.shipment_id
                      AND (s.attempts, s.exception_code, s.exception_text) IS DISTINCT FROM (x.attempts, x.code, x.text)
                    """,
                    """
                    UPDATE orders o SET status = w.status, status_event_at = greatest(o.status_event_at, w.event_time), updated_at = now()
                    FROM w WHERE o.id = w.order_id
                    """,
                    """
                    INSERT INTO order_events (order_id, source, kind, from_status, to_status, tracking_company, tracking_number,
                                              event_code, location, description, event_at)
                    SELECT order_id, 'legacy', 'status_changed', order_status, status, carrier, tracking_number, event_code,
                           location, description, event_time FROM w WHERE status <> order_status
                    """,
                    """
                    INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, finished_at, status, counts)
                    VALUES ('bench-floor', 'tracking', 'events', '-', now(), now(), 'applied', '{}')
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
                guard runState == floorState else { throw ValidationError("round \(round): the run's final rows differ from the floor's") }
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
            print(String(format: "  floor   psql COPY + set-based SQL         %8.2f s", floor) + spread)
            print(String(format: "  run     orderflow run                     %8.2f s  %.2f× floor (target ≤ 1.25)  peak RSS %.1f MB (target ≤ 100)",
                         runSeconds, runSeconds / floor, runs.map(\.mb).max() ?? 0))
            print("          \(t.statusChanged) status changes, \(t.confirmed) confirmed, \(t.superseded) superseded, \(report.counts.recordsRejected) rejected; final rows (orders, shipments, event log, history) \(runState == floorState ? "equal" : "DIFFER from") the floor's")
            print(String(format: "  re-run  forced: %d changes, %d events added  %8.2f s  peak RSS %.1f MB",
                         (again.tracking?.statusChanged ?? -1) + (again.tracking?.shipmentsAdded ?? 0), eventsAfter - eventsBefore, rerun.seconds, rerun.mb))
            guard runState == floorState else { throw ValidationError("the run's final order states differ from the floor's") }
        }
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }
}
