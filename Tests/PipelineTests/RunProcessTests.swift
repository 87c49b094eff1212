import Foundation
import OrderflowTestSupport
import Pipeline
import RunSupport
import PostgresClient
import Testing

/// Tests that run the real `orderflow` binary, as users and schedulers do.
@Suite("orderflow run as a process", .serialized)
struct RunProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func bigFeed(_ f: PipelineFixture, orders: Int, prefix: String = "K") throws -> String {
        var csv = PipelineFixture.header
        csv.reserveCapacity(orders * 160)
        for i in 0..<orders {
            csv += "\(prefix)\(i),cust-\(i % 977),shipped,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),p\(i % 50),\(1 + i % 4),\(i % 100).99\n"
            csv += "\(prefix)\(i),cust-\(i % 977),shipped,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),q\(i % 50),1,1.00\n"
        }
        return try f.file("big-\(prefix).csv", csv, gzip: true)
    }

    /// Runs `orderflow run PIPELINE FEED`, SIGKILLs it once its COPY into `table` streams, waits
    /// for the server to roll the dead client back and checks nothing changed; then the same
    /// command again must succeed.
    func killMidCopyThenRunAgain(_ f: PipelineFixture, pipeline: String, feed: String, table: String) throws {
        let before = try f.fingerprint()
        let process = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("killed").path], in: f)
        let sawCopy = try DatabaseWatch.waitForCopy(into: table, on: f.conn)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawCopy)
        #expect(process.terminationReason == .uncaughtSignal)
        try DatabaseWatch.waitUntilGone(on: f.conn)
        #expect(try f.fingerprint() == before)

        let again = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("again").path], in: f)
        again.waitUntilExit()
        #expect(again.terminationStatus == 0, "\(again.stderr)")
    }

    func launch(_ args: [String], in f: PipelineFixture) throws -> OrderflowProcess {
        try OrderflowBinary.launch(args, errorLog: f.dir.appendingPathComponent("stderr-\(UInt32.random(in: 0...UInt32.max)).log").path)
    }

    @Test
    func sigkillWhileCopyIsStreamingLeavesTheDatabaseAsBefore() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        let feed = try bigFeed(f, orders: 150_000)
        let pipeline = try f.file("p.yaml", "name: kill-test\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 0\n")
        try killMidCopyThenRunAgain(f, pipeline: pipeline, feed: feed, table: "stage_lines")
        #expect(try f.int("SELECT count(*) FROM orders") == 150_003)
        #expect(try f.int("SELECT count(*) FROM order_items") == 300_004)
    }

    @Test
    func sigkillDuringATrackingRunLeavesTheDatabaseAsBefore() throws {
        let f = try PipelineFixture()
        let orders = 60_000
        try f.run(try f.definition(), [try bigFeed(f, orders: orders)])
        var csv = TrackingRunTests.header
        for i in 0..<orders {
            csv += "UPS,1z\(i),OutForDelivery,2026-11-03T10:00:00Z,,,Newark,Out for delivery\n"
            csv += "ups,1Z\(i),InTransit,2026-11-02T10:00:00Z,,,Newark,Departed facility\n"
        }
        let feed = try f.file("events.csv", csv, gzip: true)
        let pipeline = try f.file("t.yaml", "name: kill-tracking\nkind: tracking\nsource: legacy\nguards:\n  max_rejects: 0\n")
        try killMidCopyThenRunAgain(f, pipeline: pipeline, feed: feed, table: "stage_events")
        #expect(try f.int("SELECT count(*) FROM orders WHERE status = 'out_for_delivery' AND status_event_at = '2026-11-03T10:00:00Z'") == orders)
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'status_changed'") == orders)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalDuringCopyRollsBackWithACancelledReport(signal: Int32) throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        let before = try f.fingerprint()
        let feed = try bigFeed(f, orders: 100_000, prefix: "G")
        let pipeline = try f.file("p.yaml", "name: signal-test\nkind: orders\nsource: legacy\n")
        let reportDir = f.dir.appendingPathComponent("r-\(signal)")
        let process = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", reportDir.path], in: f)
        try DatabaseWatch.waitForCopy(into: "stage_lines", on: f.conn)
        let sent = Date()
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1, "\(process.stderr)")
        #expect(Date().timeIntervalSince(sent) < 20)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: reportDir.appendingPathComponent("report.json")))
        #expect(report.outcome == .cancelled)
        #expect(report.message?.contains(signal == SIGINT ? "SIGINT" : "SIGTERM") == true)
        #expect(try f.fingerprint() == before)
    }

    @Test
    func exitCodesAndReports() throws {
        let f = try PipelineFixture()
        let good = try f.file("good.csv", OrderRunTests.feed)
        let pipeline = try f.file("p.yaml", "name: codes\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 0\n")
        func run(_ args: [String]) throws -> Int32 {
            let p = try launch(args + ["--database", f.url], in: f)
            p.waitUntilExit()
            return p.terminationStatus
        }
        #expect(try run(["run", pipeline, good, "--report-dir", f.dir.appendingPathComponent("ok").path]) == 0)
        #expect(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("ok/report.json").path))
        #expect(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("ok/report.md").path))
        let bad = try f.file("bad.csv", PipelineFixture.header + "Z1,c,processing,USD,2026-10-01T10:00:00Z,,,p,0,1\n")
        #expect(try run(["run", pipeline, bad, "--report-dir", f.dir.appendingPathComponent("guard").path]) == 3)
        let json = try Data(contentsOf: f.dir.appendingPathComponent("guard/report.json"))
        let report = try JSONDecoder().decode(RunReport.self, from: json)
        #expect(report.outcome == .aborted)
        #expect(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("guard/rejects.csv").path))
        let broken = try f.file("broken.yaml", "name: x\nkind: orders\nsource: s\nmode: maybe\n")
        #expect(try run(["run", broken, good]) == 2)
        #expect(try run(["run", pipeline, "/nonexistent.csv"]) == 2)
    }

    @Test
    func standardInputIsAFeedToo() throws {
        let f = try PipelineFixture()
        let feed = try f.file("stdin.csv", OrderRunTests.feed, gzip: true)
        let pipeline = try f.file("p.yaml", "name: stdin\nkind: orders\nsource: legacy\n")
        let p = try OrderflowBinary.launch(["run", pipeline, "-", "--database", f.url, "--report-dir", f.dir.appendingPathComponent("r").path],
                                           errorLog: f.dir.appendingPathComponent("stderr.log").path, standardInput: feed)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(p.stderr)")
        #expect(try f.int("SELECT count(*) FROM orders") == 3)
        #expect(try f.scalar("SELECT input_name FROM import_runs") == "stdin")
    }

    @Test func aReportThatCannotBeWrittenMeansNothingIsApplied() throws {
        let f = try PipelineFixture()
        let before = try f.fingerprint()
        var options = RunOptions()
        options.force = true
        struct DiskFull: Error {}
        #expect(throws: DiskFull.self) {
            try PipelineRun(definition: try f.definition(), inputs: [try f.file("o.csv", OrderRunTests.feed)], options: options)
                .run(on: f.conn, runId: "t") { _, _ in throw DiskFull() }
        }
        #expect(try f.fingerprint() == before)
        #expect(!f.conn.inTransaction)
    }

    @Test func aSecondRunWaitsForTheLockThenGivesUpClearly() throws {
        let f = try PipelineFixture()
        let holder = try PostgresConnection(f.url)
        try holder.query("SELECT pg_advisory_lock(\(PipelineRun.lockKey))")
        var options = RunOptions()
        options.lockTimeoutSeconds = 1
        let started = Date()
        let error = try #require(throws: RunError.self) {
            try PipelineRun(definition: try f.definition(), inputs: [try f.file("o.csv", OrderRunTests.feed)], options: options)
                .run(on: f.conn, runId: "t") { report, _ in report }
        }
        #expect("\(error)".contains("lock"))
        #expect(Date().timeIntervalSince(started) >= 1)
        try holder.query("SELECT pg_advisory_unlock(\(PipelineRun.lockKey))")
        #expect(try f.int("SELECT count(*) FROM orders") == 0)
        // Once the lock is free the same run goes through.
        #expect(try f.run(try f.definition(), [try f.file("o2.csv", OrderRunTests.feed)]).counts.created == 3)
    }

    @Test func twoRunsAtOnceAreSerializedAndEqualRunningThemInTurn() throws {
        let together = try PipelineFixture(), inTurn = try PipelineFixture()
        let a = try bigFeed(together, orders: 20_000, prefix: "S")
        // B overlaps A: same refs with a later status for the first half, plus new ones.
        var csv = PipelineFixture.header
        for i in 0..<10_000 { csv += "S\(i),cust-\(i % 977),delivered,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),p\(i % 50),\(1 + i % 4),\(i % 100).99\n" }
        for i in 0..<5_000 { csv += "N\(i),c,processing,USD,2026-10-01T10:00:00Z,,,p,1,1\n" }
        let b = try together.file("b.csv", csv)
        let def = try together.definition()

        try inTurn.run(def, [a])
        try inTurn.run(def, [b])

        // The test holds the bulk-run lock while A and then B queue for it; PostgreSQL grants
        // waiting locks in order, so A runs first, as in the sequential run.
        let holder = try PostgresConnection(together.url)
        try holder.query("SELECT pg_advisory_lock(\(PipelineRun.lockKey))")
        func waiting() throws -> Int {
            try holder.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").rows[0].decode("n", as: Int.self)
        }
        func waitForWaiters(_ n: Int) throws {
            let deadline = Date().addingTimeInterval(30)
            while try waiting() < n && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        }
        let urlA = together.url
        var runs: [WorkerThread<Void>] = []
        for (n, input) in [a, b].enumerated() {
            runs.append(WorkerThread(name: "run-\(n)") {
                let conn = try PostgresConnection(urlA)
                var options = RunOptions()
                options.force = true
                _ = try PipelineRun(definition: def, inputs: [input], options: options).run(on: conn, runId: "t") { report, _ in report }
            })
            try waitForWaiters(n + 1)
        }
        #expect(try waiting() == 2)
        try holder.query("SELECT pg_advisory_unlock(\(PipelineRun.lockKey))")
        for run in runs { #expect(throws: Never.self) { try run.wait().get() } }
        let state = "SELECT md5(string_agg(external_ref || status || i.product_id || i.quantity, ',' ORDER BY external_ref, line_no)) FROM orders o JOIN order_items i ON i.order_id = o.id"
        #expect(try together.scalar(state) == inTurn.scalar(state))
        #expect(try together.int("SELECT count(*) FROM orders") == 25_000)
    }
}
