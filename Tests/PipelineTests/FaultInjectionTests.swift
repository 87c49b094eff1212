import EmbeddedPostgres
import Foundation
import OrderflowTestSupport
import OrderStore
import Pipeline
import RunSupport
import PostgresClient
import Testing

/// SQLite-style anomaly testing with the real binary: a run is killed (SIGKILL) at every point
/// it passes — each diff and apply statement, mid-COPY, after the report, just before COMMIT —
/// and after each kill the database must equal its state before the run; running the same
/// command again must reach exactly the state an undisturbed run reaches.
@Suite("a run killed at every point", .serialized)
struct FaultInjectionTests {

    /// What a run decides, without what differs between two runs of it (ids, clock times).
    static func logicalState(_ f: PipelineFixture) throws -> String {
        try f.scalar("""
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT concat_ws(',', source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                               status_event_at, created_at) AS x FROM orders
              UNION ALL SELECT concat_ws(',', o.external_ref, i.line_no, i.product_id, i.quantity, i.unit_price)
                        FROM order_items i JOIN orders o ON o.id = i.order_id
              UNION ALL SELECT 'events:' || kind || ':' || count(*) FROM order_events GROUP BY kind
              UNION ALL SELECT 'runs:' || count(*) FROM import_runs WHERE status = 'applied') t
            """) ?? ""
    }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var pipeline: String
        var seed: @Sendable (PipelineFixture) throws -> Void
        var feed: String
        var testDescription: String { name }
    }

    static let scenarios = [
        Scenario(name: "orders, mirror", pipeline: "name: fault-orders\nkind: orders\nsource: legacy\nmode: mirror\nguards:\n  max_delete_ratio: 1\n",
                 seed: { f in try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)]) },
                 feed: PipelineFixture.header + """
                    A1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p1,2,9.99
                    A1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p2,1,5.00
                    A2,c2-new,shipped,EUR,2026-10-02T10:00:00+02:00,UPS,1Z999,p3,2,100
                    A4,c4,processing,USD,2026-10-04T10:00:00Z,,,p9,1,1

                    """),
        // An empty source: most orders go straight to the final tables (the first-load stages).
        Scenario(name: "orders, first load", pipeline: "name: fault-first\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 10\n",
                 seed: { _ in },
                 feed: PipelineFixture.header + """
                    F1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
                    F1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,1,5.00
                    F2,c2,shipped,EUR,2026-10-02T10:00:00+02:00,UPS,1Z9,p3,0,100
                    F3,c3,,,2026-10-03T10:00:00Z,,,p4,1,

                    """),
        Scenario(name: "tracking", pipeline: "name: fault-tracking\nkind: tracking\nsource: legacy\n",
                 seed: { f in try TrackingRunTests.seed(f) },
                 feed: TrackingRunTests.header + """
                    UPS,1Z1,OutForDelivery,2026-11-03T09:00:00Z,,,Newark,
                    FedEx,222,Delivered,2026-11-03T12:00:00Z,,,Memphis,
                    DHL,JD9,InfoReceived,2026-11-02T08:00:00Z,,A3,Leipzig,
                    DHL,JD9,InTransit,2026-11-02T12:00:00Z,,,Leipzig,

                    """),
    ]

    func run(_ f: PipelineFixture, _ pipeline: String, _ feed: String, fault: String?, reportDir: String) throws -> ProgramOutput {
        var environment = ProcessInfo.processInfo.environment
        environment["ORDERFLOW_FAULT_AT"] = fault
        return try TestProgram.run(try OrderflowBinary.path(), ["run", pipeline, feed, "--force", "--database", f.url, "--report-dir", reportDir],
                                   environment: environment)
    }

    @Test(arguments: scenarios)
    func killedAtEveryPointTheDatabaseIsAsBeforeAndTheReRunCompletesIt(scenario: Scenario) throws {
        // An undisturbed run gives the expected end state and the points the run passes.
        let reference = try PipelineFixture()
        try scenario.seed(reference)
        let pipeline = try reference.file("p.yaml", scenario.pipeline)
        let feed = try reference.file("feed.csv", scenario.feed, gzip: true)
        let clean = try run(reference, pipeline, feed, fault: nil, reportDir: reference.dir.appendingPathComponent("ref").path)
        #expect(clean.status == 0, "\(clean.error)")
        let expected = try Self.logicalState(reference)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: reference.dir.appendingPathComponent("ref/report.json")))
        // Every stage of the report (each starts at its own point), mid-COPY, and the end.
        let points = report.stages.map(\.name) + ["read+stage: first chunk", "report written", "commit"]
        #expect(points.count >= 8)

        for point in points {
            let f = try PipelineFixture()
            try scenario.seed(f)
            let before = try f.fingerprint()
            let killed = try run(f, pipeline, feed, fault: point, reportDir: f.dir.appendingPathComponent("killed").path)
            #expect(killed.signalled && killed.status == SIGKILL, "not killed at \(point): \(killed.error)")
            // The server notices the dead client and rolls its transaction back.
            try DatabaseWatch.waitUntilGone(on: f.conn)
            #expect(try f.fingerprint() == before, "killed at \(point): the database changed")
            let again = try run(f, pipeline, feed, fault: nil, reportDir: f.dir.appendingPathComponent("again").path)
            #expect(again.status == 0, "\(point): \(again.error)")
            #expect(try Self.logicalState(f) == expected, "re-run after a kill at \(point) did not reach the expected state")
        }
    }

    /// A report that cannot be written stops the run before COMMIT: no change without its report.
    @Test
    func anUnwritableReportDirectoryFailsTheRunAndChangesNothing() throws {
        let f = try PipelineFixture()
        try Self.scenarios[0].seed(f)
        let before = try f.fingerprint()
        let pipeline = try f.file("p.yaml", Self.scenarios[0].pipeline)
        let feed = try f.file("feed.csv", Self.scenarios[0].feed)
        let notADirectory = try f.file("plain-file", "x")
        let p = try run(f, pipeline, feed, fault: nil, reportDir: notADirectory + "/report")
        #expect(!p.signalled && p.status == 1, "\(p.error)")
        #expect(try f.fingerprint() == before)
    }
}

/// The database goes away in the middle of a run: a clear error, exit 1, nothing half-applied;
/// when it is back, the same command completes the work.
@Suite("PostgreSQL stopping mid-run", .serialized)
struct DatabaseStopTests {
    @Test
    func theServerStoppingDuringARunFailsItClearlyAndTheRestartedServerHoldsTheOldState() throws {
        let files = try PipelineFixture() // for its scratch directory and feed helpers
        let dir = files.dir.appendingPathComponent("cluster")
        var options = EmbeddedPostgres.Options()
        options.durable = false
        let cluster = try EmbeddedPostgres(directory: dir, options: options)
        defer { try? cluster.stop() }
        var url = try cluster.start().url()
        try Migrator().migrate(try PostgresConnection(url))

        func run(_ pipeline: String, _ feed: String, _ report: String) throws -> (Int32, String) {
            let r = try TestProgram.run(try OrderflowBinary.path(), ["run", pipeline, feed, "--database", url, "--report-dir", files.dir.appendingPathComponent(report).path])
            return (r.status, r.error)
        }
        let pipeline = try files.file("p.yaml", "name: stop-test\nkind: orders\nsource: legacy\n")
        _ = try run(pipeline, try files.file("seed.csv", OrderRunTests.feed), "seed")
        func state() throws -> String {
            try PostgresConnection(url).query("SELECT md5(coalesce(string_agg(o::text, '|' ORDER BY o.id), '')) || (SELECT count(*) FROM order_items) AS s FROM orders o")
                .rows[0].decode("s", as: String.self)
        }
        let before = try state()

        let feed = try RunProcessTests().bigFeed(files, orders: 80_000)
        let watchURL = url
        let stopper = WorkerThread(name: "stopper") {
            if let watcher = try? PostgresConnection(watchURL) { _ = try? DatabaseWatch.waitForCopy(into: "stage_lines", on: watcher, timeout: 12) }
            try? cluster.stop()
        }
        let (status, stderr) = try run(pipeline, feed, "stopped")
        #expect(status == 1)
        _ = stopper.wait()
        #expect(stderr.contains("error:"), "\(stderr)")
        #expect(stderr.contains("nothing was applied"), "\(stderr)")

        url = try cluster.start().url()
        #expect(try state() == before)
        #expect(try run(pipeline, feed, "again").0 == 0)
        #expect(try PostgresConnection(url).query("SELECT count(*) AS n FROM orders").rows[0].decode("n", as: Int.self) == 80_003)
    }
}
