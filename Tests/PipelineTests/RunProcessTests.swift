import Foundation
import Pipeline
import PostgresClient
import Testing

/// Tests that run the real `orderflow` binary, as users and schedulers do.
@Suite("orderflow run as a process", .serialized)
struct RunProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = root.appendingPathComponent(".build/debug/orderflow").path

    func bigFeed(_ f: PipelineFixture, orders: Int, prefix: String = "K") throws -> String {
        var csv = PipelineFixture.header
        csv.reserveCapacity(orders * 160)
        for i in 0..<orders {
            csv += "\(prefix)\(i),cust-\(i % 977),shipped,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),p\(i % 50),\(1 + i % 4),\(i % 100).99\n"
            csv += "\(prefix)\(i),cust-\(i % 977),shipped,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),q\(i % 50),1,1.00\n"
        }
        return try f.file("big-\(prefix).csv", csv, gzip: true)
    }

    func launch(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs the built orderflow binary (swift build)"))
    func sigkillWhileCopyIsStreamingLeavesTheDatabaseAsBefore() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        let before = try f.fingerprint()
        let feed = try bigFeed(f, orders: 150_000)
        let pipeline = try f.file("p.yaml", "name: kill-test\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 0\n")
        let process = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("r1").path])
        // Wait until the binary's COPY is streaming, then kill it without warning.
        var sawCopy = false
        for _ in 0..<400 {
            if try f.int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY stage_lines%' AND state = 'active'") > 0 { sawCopy = true; break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawCopy)
        #expect(process.terminationReason == .uncaughtSignal)
        // The server notices the dead client and rolls its transaction back.
        for _ in 0..<200 where try f.int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'orderflow' AND pid <> pg_backend_pid()") > 0 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(try f.fingerprint() == before)

        // The same command again completes the work.
        let again = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("r2").path])
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        #expect(try f.int("SELECT count(*) FROM orders") == 150_003)
        #expect(try f.int("SELECT count(*) FROM order_items") == 300_004)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs the built orderflow binary (swift build)"))
    func sigkillDuringATrackingRunLeavesTheDatabaseAsBefore() throws {
        let f = try PipelineFixture()
        let orders = 60_000
        try f.run(try f.definition(), [try bigFeed(f, orders: orders)])
        let before = try f.fingerprint()
        var csv = TrackingRunTests.header
        for i in 0..<orders {
            csv += "UPS,1z\(i),OutForDelivery,2026-11-03T10:00:00Z,,,Newark,Out for delivery\n"
            csv += "ups,1Z\(i),InTransit,2026-11-02T10:00:00Z,,,Newark,Departed facility\n"
        }
        let feed = try f.file("events.csv", csv, gzip: true)
        let pipeline = try f.file("t.yaml", "name: kill-tracking\nkind: tracking\nsource: legacy\nguards:\n  max_rejects: 0\n")
        let process = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("t1").path])
        var sawCopy = false
        for _ in 0..<400 {
            if try f.int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY stage_events%' AND state = 'active'") > 0 { sawCopy = true; break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawCopy)
        for _ in 0..<200 where try f.int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'orderflow' AND pid <> pg_backend_pid()") > 0 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(try f.fingerprint() == before)

        let again = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", f.dir.appendingPathComponent("t2").path])
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        #expect(try f.int("SELECT count(*) FROM orders WHERE status = 'out_for_delivery' AND status_event_at = '2026-11-03T10:00:00Z'") == orders)
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'status_changed'") == orders)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs the built orderflow binary (swift build)"),
          arguments: [SIGTERM, SIGINT])
    func signalDuringCopyRollsBackWithACancelledReport(signal: Int32) throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        let before = try f.fingerprint()
        let feed = try bigFeed(f, orders: 100_000, prefix: "G")
        let pipeline = try f.file("p.yaml", "name: signal-test\nkind: orders\nsource: legacy\n")
        let reportDir = f.dir.appendingPathComponent("r-\(signal)")
        let process = try launch(["run", pipeline, feed, "--database", f.url, "--report-dir", reportDir.path])
        for _ in 0..<400 {
            if try f.int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY stage_lines%' AND state = 'active'") > 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let sent = Date()
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1)
        #expect(Date().timeIntervalSince(sent) < 20)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: reportDir.appendingPathComponent("report.json")))
        #expect(report.outcome == .cancelled)
        #expect(report.message?.contains(signal == SIGINT ? "SIGINT" : "SIGTERM") == true)
        #expect(try f.fingerprint() == before)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs the built orderflow binary (swift build)"))
    func exitCodesAndReports() throws {
        let f = try PipelineFixture()
        let good = try f.file("good.csv", OrderRunTests.feed)
        let pipeline = try f.file("p.yaml", "name: codes\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 0\n")
        func run(_ args: [String]) throws -> Int32 {
            let p = try launch(args + ["--database", f.url])
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

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs the built orderflow binary (swift build)"))
    func standardInputIsAFeedToo() throws {
        let f = try PipelineFixture()
        let feed = try f.file("stdin.csv", OrderRunTests.feed, gzip: true)
        let pipeline = try f.file("p.yaml", "name: stdin\nkind: orders\nsource: legacy\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["run", pipeline, "-", "--database", f.url, "--report-dir", f.dir.appendingPathComponent("r").path]
        p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: feed))
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
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

        let urlA = together.url
        let results = ThreadResults()
        let threads = [a, b].map { input in
            Thread {
                do {
                    let conn = try PostgresConnection(urlA)
                    var options = RunOptions()
                    options.force = true
                    _ = try PipelineRun(definition: def, inputs: [input], options: options).run(on: conn, runId: "t") { report, _ in report }
                    results.add(nil)
                } catch {
                    results.add("\(error)")
                }
            }
        }
        threads[0].start()
        Thread.sleep(forTimeInterval: 0.05) // A takes the lock first, as in the sequential run
        threads[1].start()
        let errors = results.wait(count: 2)
        #expect(errors.compactMap { $0 }.isEmpty)
        let state = "SELECT md5(string_agg(external_ref || status || i.product_id || i.quantity, ',' ORDER BY external_ref, line_no)) FROM orders o JOIN order_items i ON i.order_id = o.id"
        #expect(try together.scalar(state) == inTurn.scalar(state))
        #expect(try together.int("SELECT count(*) FROM orders") == 25_000)
    }
}

final class ThreadResults: @unchecked Sendable {
    private let lock = NSCondition()
    private var values: [String?] = []
    func add(_ v: String?) { lock.lock(); values.append(v); lock.broadcast(); lock.unlock() }
    func wait(count: Int) -> [String?] {
        lock.lock(); defer { lock.unlock() }
        while values.count < count { lock.wait() }
        return values
    }
}
