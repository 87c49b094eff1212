import ArgumentParser
import AsyncHTTPClient
import Console
import Export
import Foundation
import Hummingbird
import Logging
import NIOCore
import OrderAPI
import OrderStore
import Pipeline
import PostgresClient

/// Latency of the console's and the API's reads over a long run history, through the real
/// server on loopback, one request at a time.
struct ConsoleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "GET /console/runs (keyset pages) and the other console and API reads over --runs runs, vs GET /health/live (the floor).",
        discussion: """
            Fills a database of its own (the embedded cluster's `orderflow_bench_console`, made anew; or
            --database, which must hold no runs but the bench's) with --runs runs of 8 pipelines, one
            a night each, --exports exports and 1,000 orders. Then serves the API and the console on a
            loopback port in this process, signs in, and per round sends --requests requests to each
            route in turn, one at a time, timing each from send to the last byte. Reports the median
            and 95th percentile per route and round, and their medians over the rounds. The floor is
            GET /health/live on the same server: the HTTP round trip with no database work. Each round
            checks that the first page lists the 50 newest runs the database holds.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Runs in the history.") var runs = 10_000
    @Option(help: "Exports in the ledger.") var exports = 1_000
    @Option(help: "Requests per route per round.") var requests = 200
    @Option(help: "Rounds.") var rounds = 3

    static let token = "bench-console-token"
    static let pipelines = ["bench-console-orders-erp", "bench-console-orders-web", "bench-console-orders-pos", "bench-console-mirror",
                            "bench-console-tracking-ups", "bench-console-tracking-dhl", "bench-console-tracking-fedex", "bench-console-shipments"]

    func run() async throws {
        let url = try failing { try database() }
        try failing { try fill(url) }
        let pool = PostgresConnectionPool(.init(conninfo: url, size: 4, applicationName: OrderAPI.applicationName))
        defer { pool.shutdown() }
        let port = try failing { try LoopbackPort.free() }
        let router = OrderAPI.router(pool: pool, configuration: OrderAPIConfiguration(port: port, tokens: [Self.token]),
                                     mounts: [ConsoleRoutes(pool: pool, tokens: [Self.token])])
        var logger = Logger(label: "orderflow.bench-console")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let base = "http://127.0.0.1:\(port)"

        do {
            try await measure(app: app, client: client, base: base, url: url)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func measure(app: some ApplicationProtocol, client: HTTPClient, base: String, url: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            defer { group.cancelAll() }
            try await Self.waitUntilUp(client, base)
            let cookie = try await Self.signIn(client, base)
            let routes = try routes(url)
            note("bench console: \(runs) runs, \(exports) exports, 1000 orders; \(requests) requests per route per round, one at a time")
            var results: [String: [(median: Double, p95: Double)]] = [:]
            for round in 1...rounds {
                try await checkFirstPage(client, base, cookie: cookie, url: url)
                var line: [String] = []
                for route in routes {
                    var times: [Double] = []
                    for i in 0..<(requests + 10) {
                        let t = try await Self.time(client, base + route.path, cookie: cookie)
                        if i >= 10 { times.append(t) } // the first ten warm the caches and the plan
                    }
                    times.sort()
                    let m = times[times.count / 2], p = times[min(times.count - 1, Int(Double(times.count) * 0.95))]
                    results[route.name, default: []].append((m, p))
                    line.append(String(format: "%@ %.2f ms (p95 %.2f)", route.name, m * 1000, p * 1000))
                }
                note("round \(round): " + line.joined(separator: " · "))
            }
            print("\nmedians of \(rounds) rounds (\(requests) requests per route and round), milliseconds:")
            print("route".padding(toLength: 44, withPad: " ", startingAt: 0) + "   median      p95")
            for route in routes {
                let r = results[route.name] ?? []
                let m = median(r.map(\.median)) * 1000, p = median(r.map(\.p95)) * 1000
                var row = route.name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %8.2f %8.2f", m, p)
                if route.name == "GET /console/runs" { row += m <= 100 && p <= 100 ? "   goal ≤ 100 ms: met" : "   goal ≤ 100 ms: NOT met" }
                print(row)
            }
        }
    }

    /// The bench's own database: the embedded cluster's `orderflow_bench_console`, or --database.
    func database() throws -> String {
        guard db.choice() == .embedded else { return try db.resolve() }
        let main = try db.resolve()
        let conn = try PostgresConnection(main)
        try conn.execute("SET client_min_messages = warning")
        try conn.execute("DROP DATABASE IF EXISTS orderflow_bench_console WITH (FORCE)")
        try conn.execute("CREATE DATABASE orderflow_bench_console")
        guard let url = try db.embeddedCluster().runningState()?.url(database: "orderflow_bench_console") else {
            throw ValidationError("the embedded cluster stopped")
        }
        return url
    }

    /// --runs runs (one a night per pipeline, the newest last night), --exports exports, 1,000 orders.
    func fill(_ url: String) throws {
        let conn = try PostgresConnection(url)
        try conn.execute("SET client_min_messages = warning")
        try Migrator().migrate(conn)
        let foreign = try conn.query("SELECT count(*) AS n FROM import_runs WHERE pipeline NOT LIKE 'bench-console-%'").rows[0].decode("n", as: Int.self)
        guard foreign == 0 else { throw ValidationError("the database holds \(foreign) runs that are not the bench's: give bench console a database of its own") }
        // One realistic stored report for every run (the run page renders it); decoded here
        // first, so a report the console could not read fails the bench, not its pages.
        let json = """
            {"runId":"20261203T020000Z-bench","pipeline":"bench-console-orders-erp","pipelineFile":"pipelines/bench.yaml","kind":"orders",
             "mode":"upsert","source":"erp","dryRun":false,"outcome":"applied","database":"bench","startedAt":"2026-12-03T02:00:00.000Z",
             "finishedAt":"2026-12-03T02:01:10.000Z",
             "inputs":[{"name":"/srv/feeds/erp/orders-2026-12-03.csv.gz","sha256":"\(String(repeating: "a", count: 64))","bytes":48211337,"format":"csv"}],
             "stages":[\(["read", "stage", "diff", "apply", "report"].map { #"{"name":"\#($0)","seconds":1.5,"rows":100000,"rowsPerSecond":66666.7}"# }.joined(separator: ","))],
             "counts":{"recordsRead":221000,"recordsAccepted":220985,"recordsRejected":15,"orders":100000,"created":700,"updated":3000,"unchanged":96285,
                       "deleted":0,"mirrorDeleted":0,"rejectedOrders":15,"statusChanged":2500,"shippingChanged":400,"itemsChanged":100,"otherChanged":0},
             "rejectsByReason":{"invalid_status":12,"missing_field":3},
             "rejectExamples":{"invalid_status":[{"input":"orders.csv.gz","line":1812,"message":"status 'lost' is not one of processing, shipped, …"}]}}
            """
        _ = try JSONDecoder().decode(RunReport.self, from: Data(json.utf8))
        var definition = ExportDefinition()
        definition.name = "bench-console-finance"
        var exportReport = ExportReport(exportId: "bench", definition: definition, database: "bench", startedAt: "2026-12-03T03:00:00.000Z")
        exportReport.outcome = .exported
        exportReport.finishedAt = "2026-12-03T03:00:20.000Z"
        exportReport.control = ControlTotals(keyedBy: "currency", rows: 5000, groups: [.init(key: "USD", rows: 5000, units: 11000, total: "123456.78")])
        let exportJSON = String(decoding: try JSONEncoder().encode(exportReport), as: UTF8.self)
        let names = "{" + Self.pipelines.joined(separator: ",") + "}"
        try conn.withTransaction { conn in
            try conn.execute("TRUNCATE import_runs, export_runs, export_files, orders, order_items, order_events, shipments, shipment_lines, shipment_events")
            try conn.query("""
                INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, finished_at, status, counts, report, run_id, message)
                SELECT p.name, CASE WHEN p.name LIKE '%tracking%' THEN 'tracking' WHEN p.name LIKE '%shipments' THEN 'shipments' ELSE 'orders' END,
                       '/srv/feeds/' || p.name || '/feed-' || g || '.csv.gz', md5(g::text), s.at, s.at + (40 + g % 90) * interval '1 second',
                       CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'aborted' ELSE 'applied' END,
                       jsonb_build_object('recordsRead', 200000 + g % 5000, 'recordsAccepted', 200000 + g % 5000 - g % 13, 'recordsRejected', g % 13,
                                          'created', g % 700, 'updated', g % 3000, 'deleted', 0, 'mirrorDeleted', g % 5),
                       \(json)::jsonb, 'bench-' || g, CASE WHEN g % 50 = 0 THEN 'the database went away' END
                FROM generate_series(1, \(runs)) g
                CROSS JOIN LATERAL (SELECT (\(names)::text[])[1 + g % 8] AS name) p
                CROSS JOIN LATERAL (SELECT date_trunc('day', now()) - ((\(runs) - g) / 8) * interval '1 day' + interval '2 hours'
                                           + (g % 8) * interval '5 minutes' AS at) s
                """)
            try conn.query("""
                INSERT INTO export_runs (export_id, pipeline, dataset, format, incremental, status, rows, bytes, sha256, totals, report, started_at, finished_at)
                SELECT 'bench-' || g, 'bench-console-finance', 'orders', 'csv', true, 'exported', 5000 + g, 400000 + g, md5(g::text) || md5(g::text),
                       '{"keyedBy":"currency","rows":5000,"groups":[{"key":"USD","rows":5000,"units":11000,"total":"123456.78"}],"matched":true}',
                       \(exportJSON)::jsonb, s.at, s.at + interval '20 seconds'
                FROM generate_series(1, \(exports)) g
                CROSS JOIN LATERAL (SELECT date_trunc('day', now()) - (\(exports) - g) * interval '1 day' + interval '3 hours' AS at) s
                """)
            try conn.execute("""
                INSERT INTO orders (id, source, external_ref, customer_id, status, currency, created_at, updated_at)
                SELECT ('0190a1b2-0000-7000-8000-' || lpad(g::text, 12, '0'))::uuid, 'erp', 'BENCH-' || lpad(g::text, 6, '0'), 'c-' || g % 97,
                       'processing', 'USD', now() - g * interval '1 hour', now()
                FROM generate_series(1, 1000) g;
                INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
                SELECT o.id, l, 'SKU-' || l, l, 9.99 FROM orders o CROSS JOIN generate_series(1, 3) l;
                INSERT INTO order_events (order_id, source, kind, to_status, run_id, event_at)
                SELECT id, 'erp', 'created', 'processing', NULL, created_at FROM orders;
                """)
        }
        try conn.execute("ANALYZE import_runs")
        try conn.execute("ANALYZE export_runs")
        try conn.execute("ANALYZE orders")
    }

    struct Route {
        let name: String
        let path: String
    }

    func routes(_ url: String) throws -> [Route] {
        let conn = try PostgresConnection(url)
        // A cursor half way down the history: a deep page must cost what the first one does.
        let middle = try conn.query("""
            SELECT (extract(epoch FROM started_at) * 1000000)::bigint AS micros, id FROM import_runs ORDER BY started_at DESC, id DESC OFFSET \(runs / 2) LIMIT 1
            """).rows[0]
        let cursor = "\(try middle.decode("micros", as: Int64.self)).1.\(try middle.decode("id", as: Int64.self))"
        let run = try conn.query("SELECT max(id) AS id FROM import_runs").rows[0].decode("id", as: Int64.self)
        let export = try conn.query("SELECT max(id) AS id FROM export_runs").rows[0].decode("id", as: Int64.self)
        return [
            Route(name: "GET /health/live (floor)", path: "/health/live"),
            Route(name: "GET /console/runs", path: "/console/runs"),
            Route(name: "GET /console/runs (page \(runs / 2 / 50 + 1))", path: "/console/runs?before=\(cursor)"),
            Route(name: "GET /console/runs?pipeline=…&outcome=failed", path: "/console/runs?pipeline=bench-console-tracking-ups&outcome=failed"),
            Route(name: "GET /console/runs/ID", path: "/console/runs/\(run)"),
            Route(name: "GET /console/exports", path: "/console/exports"),
            Route(name: "GET /console/exports/ID", path: "/console/exports/\(export)"),
            Route(name: "GET /console/orders?q=REF (303)", path: "/console/orders?q=BENCH-000500"),
            Route(name: "GET /console/orders/ID", path: "/console/orders/0190a1b2-0000-7000-8000-000000000500"),
            Route(name: "GET /orders/ID (API, bearer)", path: "/orders/0190a1b2-0000-7000-8000-000000000500"),
        ]
    }

    /// The page must show the newest 50 runs and exports the database holds, in order.
    func checkFirstPage(_ client: HTTPClient, _ base: String, cookie: String, url: String) async throws {
        let page = try await Self.get(client, base + "/console/runs", cookie: cookie)
        let shown = page.matches(of: /data-key="((?:run|export)\.\d+)\.status"/).map { String($0.output.1) }
        let conn = try PostgresConnection(url)
        let expected = try conn.query("""
            SELECT key FROM (SELECT 'run.' || id AS key, started_at, 1 AS rank, id FROM import_runs
                             UNION ALL SELECT 'export.' || id, started_at, 0, id FROM export_runs) u
            ORDER BY started_at DESC, rank DESC, id DESC LIMIT 50
            """).rows.map { $0["key"] ?? "" }
        guard shown == expected else {
            throw ValidationError("the first page shows \(shown.count) runs that are not the 50 newest the database holds")
        }
    }

    static func time(_ client: HTTPClient, _ url: String, cookie: String) async throws -> Double {
        let start = ContinuousClock.now
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Cookie", value: cookie)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok || response.status == .seeOther else {
            throw ValidationError("\(url) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func get(_ client: HTTPClient, _ url: String, cookie: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Cookie", value: cookie)
        let response = try await client.execute(request, timeout: .seconds(30))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    static func signIn(_ client: HTTPClient, _ base: String) async throws -> String {
        var request = HTTPClientRequest(url: base + "/console/login")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "token=\(token)"))
        let response = try await client.execute(request, timeout: .seconds(30))
        guard response.status == .seeOther, let cookie = response.headers["Set-Cookie"].first?.split(separator: ";").first else {
            throw ValidationError("signing in to the console failed: \(response.status.code)")
        }
        return String(cookie)
    }

    static func waitUntilUp(_ client: HTTPClient, _ base: String) async throws {
        for _ in 0..<100 {
            if let response = try? await client.execute(HTTPClientRequest(url: base + "/health/live"), timeout: .seconds(1)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the server did not start on \(base)")
    }

}
