import Crypto
import Foundation
import Monitoring
import Notifications
import OrderflowTestSupport
import Pipeline
import PostgresClient
import Testing

/// The night shift's view (docs/operations.md): the history of every run, and the inbox, through
/// the real `orderflow` binary as a scheduler starts it.
@Suite("nightly operations", .serialized)
struct OperationsTests {
    static func feed(_ prefix: String, _ count: Int, bad: Bool = false) -> String {
        var csv = PipelineFixture.header
        for i in 0..<count {
            csv += "\(prefix)\(i),cust-\(i),processing,USD,2026-10-01T10:00:00Z,,,p\(i),1,\(i).50\n"
        }
        if bad { csv += "\(prefix)-bad,cust,processing,USD,not-a-time,,,p,1,1.00\n" }
        return csv
    }

    func orderflow(_ args: [String], _ f: PipelineFixture, environment: [String: String]? = nil) throws -> ProgramOutput {
        try TestProgram.run(try OrderflowBinary.path(), args + ["--database", f.url], environment: environment)
    }

    static let secret = "s3cret-for-tests"

    /// The HMAC a receiver computes to trust a post.
    static func signature(_ body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    func text(_ output: ProgramOutput) -> String { String(decoding: output.output, as: UTF8.self) }

    /// Writes `content` gzip'd into the inbox, optionally cut short (a transfer that broke off).
    func gzipFile(_ f: PipelineFixture, _ path: String, _ content: String, truncated: Bool = false) throws {
        var bytes = try TestProgram.gzip(["-c"], input: Array(content.utf8))
        if truncated { bytes = Array(bytes.prefix(bytes.count / 2)) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func everyOutcomeIsInTheHistoryAndRunsShowsIt() throws {
        let f = try PipelineFixture()
        let pipeline = try f.file("p.yaml", "name: nightly\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 0\n")
        let good = try f.file("good.csv", Self.feed("A", 3))
        let bad = try f.file("bad.csv", Self.feed("B", 2, bad: true))
        let broken = f.path("broken.csv.gz")
        try gzipFile(f, broken, Self.feed("C", 200), truncated: true)
        let reports = f.dir.appendingPathComponent("reports").path

        #expect(try orderflow(["run", pipeline, good, "--report-dir", reports + "/1"], f).status == 0)
        #expect(try orderflow(["run", pipeline, good, "--report-dir", reports + "/2"], f).status == 0) // skipped
        #expect(try orderflow(["run", pipeline, good, "--dry-run", "--force", "--report-dir", reports + "/3"], f).status == 0)
        #expect(try orderflow(["run", pipeline, bad, "--report-dir", reports + "/4"], f).status == 3)
        #expect(try orderflow(["run", pipeline, broken, "--report-dir", reports + "/5"], f).status == 1)

        let rows = try f.conn.query("SELECT id, status, report_path, message, report->>'outcome' AS stored, finished_at IS NOT NULL AS done FROM import_runs ORDER BY id").rows
        #expect(rows.map { $0["status"] ?? "" } == ["applied", "skipped", "dry_run", "aborted", "failed"])
        #expect(rows.allSatisfy { $0["stored"] == $0["status"] && $0["done"] == "t" })
        #expect(rows.map { $0["report_path"] ?? "" } == (1...5).map { "\(reports)/\($0)" })
        #expect(rows[3]["message"]?.contains("max_rejects") == true, "\(rows[3]["message"] ?? "")")
        #expect(rows[4]["message"]?.contains("nothing was applied") == true)
        // Nothing but the first run changed the data.
        #expect(try f.int("SELECT count(*) FROM orders") == 3)
        // Each report names the history row it is stored under.
        for (i, row) in rows.enumerated() {
            let json = try Data(contentsOf: URL(fileURLWithPath: "\(reports)/\(i + 1)/report.json"))
            let report = try JSONDecoder().decode(RunReport.self, from: json)
            #expect(report.importRunId.map(String.init) == row["id"], "report \(i + 1)")
        }

        let failedOnly = text(try orderflow(["runs", "--outcome", "failed"], f))
        #expect(failedOnly.contains("failed") && failedOnly.contains("broken.csv.gz") && !failedOnly.contains("applied "), "\(failedOnly)")
        let all = text(try orderflow(["runs", "--pipeline", "nightly"], f))
        for outcome in ["applied", "skipped", "dry_run", "aborted", "failed"] { #expect(all.contains(outcome), "\(all)") }
        #expect(text(try orderflow(["runs", "--pipeline", "other"], f)).contains("no runs match"))

        let abortedId = rows[3]["id"] ?? ""
        let summary = text(try orderflow(["runs", abortedId], f))
        #expect(summary.contains("**Outcome: aborted**") && summary.contains("## Rejected records"), "\(summary)")
        let stored = try orderflow(["runs", abortedId, "--json"], f)
        let decoded = try JSONDecoder().decode(RunReport.self, from: Data(stored.output))
        #expect(decoded.outcome == .aborted && decoded.importRunId.map(String.init) == abortedId)
    }

    @Test func anInboxOfFiveFilesEndsInTheRightPlacesWithFiveHistoryRows() throws {
        try withWebhookReceiver { receiver in try inboxOfFive(receiver) }
    }

    func inboxOfFive(_ receiver: WebhookReceiver) throws {
        let f = try PipelineFixture()
        let inbox = f.path("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let pipeline = try f.file("p.yaml", """
            name: nightly-inbox
            kind: orders
            source: legacy
            guards:
              max_rejects: 0
            inbox:
              directory: \(inbox)
              pattern: "*.csv*"
              settle_seconds: 0
            notify:
              - url: http://127.0.0.1:\(receiver.port)/alerts
                on: [failed, aborted]
                secret_env: OF_TEST_SECRET
                backoff_seconds: 0
              - url: http://127.0.0.1:\(receiver.port)/chat
                on: [applied]
                format: slack
            """)
        let environment = ProcessInfo.processInfo.environment.merging(["OF_TEST_SECRET": Self.secret]) { $1 }
        // Applied the night before, by hand: the inbox's copy is skipped, then filed as processed.
        let earlier = try f.file("earlier.csv", Self.feed("D", 2))
        #expect(try orderflow(["run", pipeline, earlier, "--report-dir", f.path("r0")], f, environment: environment).status == 0)

        try Self.feed("A", 3).write(toFile: "\(inbox)/20261201-a.csv", atomically: false, encoding: .utf8)
        try gzipFile(f, "\(inbox)/20261202-b.csv.gz", Self.feed("B", 4))
        try Self.feed("D", 2).write(toFile: "\(inbox)/20261203-dup.csv", atomically: false, encoding: .utf8)
        try gzipFile(f, "\(inbox)/20261204-broken.csv.gz", Self.feed("C", 300), truncated: true)
        try Self.feed("E", 2, bad: true).write(toFile: "\(inbox)/20261205-rejects.csv", atomically: false, encoding: .utf8)
        // Not feeds, or not ready: left alone.
        try "x".write(toFile: "\(inbox)/notes.txt", atomically: false, encoding: .utf8)
        try Self.feed("F", 1).write(toFile: "\(inbox)/.20261206-hidden.csv", atomically: false, encoding: .utf8)
        try Self.feed("G", 1).write(toFile: "\(inbox)/20261207-upload.csv.part", atomically: false, encoding: .utf8)

        let metrics = f.path("metrics/orderflow.prom")
        try FileManager.default.createDirectory(atPath: f.path("metrics"), withIntermediateDirectories: true)
        let batch = try orderflow(["run", pipeline, "--report-dir", f.path("reports"), "--metrics-file", metrics], f, environment: environment)
        let out = text(batch)
        #expect(batch.status == 1, "the worst outcome is the broken file's: \(out)\n\(batch.error)")
        func names(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }
        #expect(names("\(inbox)/processed") == ["20261201-a.csv", "20261202-b.csv.gz", "20261203-dup.csv"])
        #expect(names("\(inbox)/failed") == ["20261204-broken.csv.gz", "20261204-broken.csv.gz.report", "20261205-rejects.csv", "20261205-rejects.csv.report"])
        #expect(names(inbox).filter { !$0.hasPrefix(".orderflow") } == [".20261206-hidden.csv", "20261207-upload.csv.part", "failed", "notes.txt", "processed"])
        // The link beside a failed file leads to the report that says why.
        let why = try String(contentsOfFile: "\(inbox)/failed/20261205-rejects.csv.report/report.md", encoding: .utf8)
        #expect(why.contains("**Outcome: aborted**"))

        let history = try f.conn.query("SELECT status, input_name FROM import_runs WHERE id > 1 ORDER BY id").rows
        #expect(history.map { $0["status"] ?? "" } == ["applied", "applied", "skipped", "failed", "aborted"])
        #expect(history.map { URL(fileURLWithPath: $0["input_name"] ?? "").lastPathComponent }
                == ["20261201-a.csv", "20261202-b.csv.gz", "20261203-dup.csv", "20261204-broken.csv.gz", "20261205-rejects.csv"])
        for (name, outcome) in [("20261201-a.csv", "applied"), ("20261203-dup.csv", "skipped"), ("20261204-broken.csv.gz", "failed")] {
            #expect(out.contains("inbox: \(name): \(outcome)"), "\(out)")
        }
        #expect(try f.int("SELECT count(*) FROM orders") == 2 + 3 + 4)

        // Exactly the posts asked for: the applied runs in chat, the failed and aborted ones
        // signed to the alerts hook; the skip is told to nobody.
        let posts = receiver.waitForRequests(5)
        #expect(posts.count == 5)
        #expect(posts.filter { $0.path == "/chat" }.count == 3, "the earlier run and two inbox files were applied")
        let alerts = posts.filter { $0.path == "/alerts" }
        #expect(alerts.count == 2)
        var alerted: [String: RunNotification] = [:]
        for post in alerts {
            #expect(post.header("X-Orderflow-Signature") == Self.signature(post.body), "a valid signature")
            let notification = try JSONDecoder().decode(RunNotification.self, from: Data(post.body))
            alerted[notification.outcome] = notification
            #expect(post.header("X-Orderflow-Event") == notification.event)
        }
        #expect(alerted["failed"]?.inputs.first?.hasSuffix("20261204-broken.csv.gz") == true)
        #expect(alerted["aborted"]?.counts["recordsRejected"] == 1 && alerted["aborted"]?.historyId != nil)
        let failedId = alerted["failed"]?.historyId ?? -1
        #expect(try f.scalar("SELECT notifications->0->>'delivered' FROM import_runs WHERE id = \(failedId)") == "true")
        #expect(try f.scalar("SELECT status FROM import_runs WHERE id = \(failedId)") == "failed")
        for post in posts.filter({ $0.path == "/chat" }) {
            #expect(post.header("X-Orderflow-Signature") == nil && post.bodyText.hasPrefix("{\"text\":\"orderflow nightly-inbox: applied"), "\(post.bodyText)")
        }

        // The metrics file: the last run of the batch, and the last success from the history.
        let prom = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(prom.contains("orderflow_job_last_outcome{command=\"run\",pipeline=\"nightly-inbox\",kind=\"orders\",outcome=\"aborted\"} 1"), "\(prom)")
        #expect(prom.contains("orderflow_job_last_success_timestamp_seconds{command=\"run\",pipeline=\"nightly-inbox\""))
        #expect(prom.contains("orderflow_job_last_rejects{command=\"run\",pipeline=\"nightly-inbox\",kind=\"orders\",reason="), "\(prom)")
        let check = try TestProgram.run("/usr/bin/promtool", ["check", "metrics"], input: Array(prom.utf8))
        #expect(check.status == 0 && check.error.isEmpty && check.output.isEmpty, "\(check.error)")

        // The next night: nothing new is ready.
        let again = try orderflow(["run", pipeline, "--report-dir", f.path("reports")], f, environment: environment)
        #expect(again.status == 0 && text(again).contains("no ready files"), "\(text(again))")
    }

    @Test func aFileStillBeingWrittenWaitsUntilItSettles() throws {
        let f = try PipelineFixture()
        let inbox = f.path("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let pipeline = try f.file("p.yaml", "name: settle\nkind: orders\nsource: legacy\n")
        try Self.feed("A", 1).write(toFile: "\(inbox)/a.csv", atomically: false, encoding: .utf8)
        let fresh = try orderflow(["run", pipeline, "--inbox", inbox, "--report-dir", f.path("reports")], f)
        // The default settle time is 10 s: a file written just now is not ready.
        #expect(fresh.status == 0 && text(fresh).contains("no ready files"), "\(text(fresh))")
        #expect(FileManager.default.fileExists(atPath: "\(inbox)/a.csv"))
        // Modified a minute ago: ready.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: "\(inbox)/a.csv")
        let settled = try orderflow(["run", pipeline, "--inbox", inbox, "--report-dir", f.path("reports")], f)
        #expect(settled.status == 0 && FileManager.default.fileExists(atPath: "\(inbox)/processed/a.csv"), "\(text(settled))")
    }

    @Test func twoInboxRunsStartedTogetherRunEachFileOnce() throws {
        let f = try PipelineFixture()
        let inbox = f.path("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let pipeline = try f.file("p.yaml", "name: twice\nkind: orders\nsource: legacy\n")
        for i in 0..<6 {
            try Self.feed("N\(i)-", 50).write(toFile: "\(inbox)/file-\(i).csv", atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: "\(inbox)/file-\(i).csv")
        }
        let binary = try OrderflowBinary.path()
        let args = ["run", pipeline, "--inbox", inbox, "--database", f.url]
        let first = try OrderflowBinary.launch(args + ["--report-dir", f.path("r1")], errorLog: f.path("first.log"))
        let second = try OrderflowBinary.launch(args + ["--report-dir", f.path("r2")], errorLog: f.path("second.log"))
        first.waitUntilExit()
        second.waitUntilExit()
        _ = binary
        #expect(first.terminationStatus == 0 && second.terminationStatus == 0, "\(first.stderr)\n\(second.stderr)")
        #expect(try f.int("SELECT count(*) FROM import_runs") == 6)
        #expect(try f.int("SELECT count(DISTINCT input_name) FROM import_runs WHERE status = 'applied'") == 6)
        #expect(try f.int("SELECT count(*) FROM orders") == 300)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(inbox)/processed")) ?? []).count == 6)
    }

    @Test func aWebhookThatIsDownOrAnswers500ChangesNoOutcomeAndIsNotedInTheReportAndHistory() throws {
        let f = try PipelineFixture()
        let down = try WebhookReceiver.downURL()
        try withWebhookReceiver(.init(status: 500)) { failing in
            let pipeline = try f.file("p.yaml", """
                name: told
                kind: orders
                source: legacy
                notify:
                  - url: \(down.absoluteString)
                    on: [applied, failed]
                    retries: 1
                    backoff_seconds: 0
                  - url: \(failing.url.absoluteString)/hook
                    on: [applied, failed]
                    retries: 2
                    backoff_seconds: 0.01
                """)
            let good = try orderflow(["run", pipeline, try f.file("a.csv", Self.feed("A", 2)), "--report-dir", f.path("ok")], f)
            #expect(good.status == 0, "\(good.error)")
            #expect(good.error.contains("not told about the run"))
            #expect(failing.requests.count == 3, "one attempt and two retries")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: f.path("ok/report.json"))))
            #expect(report.outcome == .applied)
            #expect(report.notifications?.map(\.delivered) == [false, false])
            #expect(report.notifications?.last?.status == 500 && report.notifications?.last?.attempts == 3)
            #expect(try String(contentsOfFile: f.path("ok/report.md"), encoding: .utf8).contains("## Notifications"))
            #expect(try f.int("SELECT jsonb_array_length(notifications) FROM import_runs WHERE status = 'applied'") == 2)

            let broken = f.path("broken.csv.gz")
            try gzipFile(f, broken, Self.feed("C", 300), truncated: true)
            #expect(try orderflow(["run", pipeline, broken, "--report-dir", f.path("bad")], f).status == 1, "still the run's own exit code")
        }
        // A secret the pipeline names but the environment lacks stops the run before it starts.
        let signed = try f.file("s.yaml", "name: s\nkind: orders\nsource: legacy\nnotify:\n  - url: http://127.0.0.1:1/x\n    secret_env: OF_NOT_SET_ANYWHERE\n")
        let refused = try orderflow(["run", signed, try f.file("b.csv", Self.feed("B", 1))], f)
        #expect(refused.status == 2 && refused.error.contains("OF_NOT_SET_ANYWHERE"), "\(refused.error)")
    }

    @Test func jsonLogLinesCarryTheRunId() throws {
        let f = try PipelineFixture()
        let pipeline = try f.file("p.yaml", "name: logged\nkind: orders\nsource: legacy\n")
        let broken = f.path("broken.csv.gz")
        try gzipFile(f, broken, Self.feed("C", 300), truncated: true)
        let out = try orderflow(["run", pipeline, broken, "--log-format", "json", "--report-dir", f.path("r")], f)
        #expect(out.status == 1)
        let lines = out.error.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] is String && object?["level"] is String && object?["message"] is String, "\(line)")
            #expect((object?["run_id"] as? String)?.contains("logged") == true, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"level\":\"error\"") })
    }

    @Test func oneMetricsFileHoldsSeveralPipelinesAndEachWriteReplacesOnlyItsOwn() throws {
        let dir = try TemporaryDirectory(prefix: "of-metrics")
        let path = dir.path("orderflow.prom")
        func job(_ pipeline: String, _ outcome: String, at t: Double) -> JobMetrics {
            var m = JobMetrics(command: "run", pipeline: pipeline, kind: "tracking", outcome: outcome, startedAt: t - 2, finishedAt: t,
                               lastSuccessAt: outcome == "applied" ? t : nil)
            m.stages = [(name: "read+stage", seconds: 1.5), (name: "apply: \"quoted\" \\ stage", seconds: 0.25)]
            m.records = ["read": 10, "accepted": 9, "rejected": 1]
            m.rejectsByReason = ["invalid_timestamp": 1]
            return m
        }
        try MetricsTextFile.write(job("ups", "applied", at: 1_000), to: path)
        try MetricsTextFile.write(job("dhl \"eu\"", "failed", at: 2_000), to: path)
        try MetricsTextFile.write(job("ups", "aborted", at: 3_000), to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // ups was replaced (its last outcome is aborted, once); dhl's series are kept, escaped.
        #expect(text.contains(#"orderflow_job_last_outcome{command="run",pipeline="ups",kind="tracking",outcome="aborted"} 1"#), "\(text)")
        #expect(!text.contains(#"pipeline="ups",kind="tracking",outcome="applied"} 1"#))
        #expect(text.contains(#"orderflow_job_last_run_timestamp_seconds{command="run",pipeline="dhl \"eu\"",kind="tracking"} 2000"#))
        #expect(text.contains(#"stage="apply: \"quoted\" \\ stage""#))
        #expect(text.components(separatedBy: "# TYPE orderflow_job_last_outcome gauge").count == 2, "one TYPE line per family")
        #expect(text.components(separatedBy: "\n").filter { $0.hasPrefix("orderflow_job_last_outcome{") }.count == 12)
        #expect(MetricsTextFile.value(of: "orderflow_job_last_run_timestamp_seconds", command: "run", pipeline: "dhl \"eu\"", in: text) == 2000)
        let check = try TestProgram.run("/usr/bin/promtool", ["check", "metrics"], input: Array(text.utf8))
        #expect(check.status == 0 && check.error.isEmpty && check.output.isEmpty, "\(check.error)")
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theSchedulingFilesInTheDocsAreValidAndAreTheOnesShipped() throws {
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let deploy = Self.root.appendingPathComponent("deploy")
        for file in ["systemd/orderflow-tracking.service", "systemd/orderflow-tracking.timer", "prometheus/orderflow-alerts.yml"] {
            let text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
            #expect(docs.contains(text), "docs/operations.md shows deploy/\(file) as it is")
        }
        let rules = try TestProgram.run("/usr/bin/promtool", ["check", "rules", deploy.appendingPathComponent("prometheus/orderflow-alerts.yml").path])
        #expect(rules.status == 0, "\(rules.error)")

        // systemd-analyze checks that ExecStart's program exists: point it at the built binary.
        let scratch = try TemporaryDirectory(prefix: "of-units")
        let binary = try OrderflowBinary.path()
        for unit in ["orderflow-tracking.service", "orderflow-tracking.timer"] {
            let text = try String(contentsOf: deploy.appendingPathComponent("systemd/\(unit)"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/orderflow", with: binary)
                .replacingOccurrences(of: "WorkingDirectory=/var/lib/orderflow", with: "WorkingDirectory=\(scratch.url.path)")
            try text.write(toFile: scratch.path(unit), atomically: false, encoding: .utf8)
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let verify = try TestProgram.run("/usr/bin/systemd-analyze", ["verify", scratch.path("orderflow-tracking.service"), scratch.path("orderflow-tracking.timer")])
        #expect(verify.status == 0 && !verify.error.contains("orderflow-tracking"), "\(verify.error)")
    }
}
