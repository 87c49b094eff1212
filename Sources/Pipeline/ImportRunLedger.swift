import Foundation
import OrderModel
import PostgresClient

/// A run's rows in `import_runs`: the applied input it may repeat, its start, and its report.
struct ImportRunLedger {
    let conn: PostgresConnection
    let pipeline: String
    /// The digest of the run's inputs (one input's SHA-256, or the digest of all of theirs).
    let inputSHA256: String

    /// The last run of this pipeline that applied these exact inputs.
    func lastApplied() throws -> (id: String, finishedAt: String)? {
        let earlier = try conn.query("""
            SELECT id, finished_at FROM import_runs
            WHERE pipeline = \(pipeline) AND input_sha256 = \(inputSHA256) AND status = 'applied'
            ORDER BY id DESC LIMIT 1
            """)
        return earlier.first.map { ($0["id"] ?? "?", $0["finished_at"] ?? "?") }
    }

    /// Records the run as running under its reserved id (the history rows carry it).
    func start(_ id: Int64, kind: String, inputNames: [String], at now: Timestamp) throws {
        try conn.query("""
            INSERT INTO import_runs (id, pipeline, kind, input_name, input_sha256, started_at, status)
            OVERRIDING SYSTEM VALUE
            VALUES (\(id), \(pipeline), \(kind), \(inputNames.joined(separator: ", ")), \(inputSHA256), \(now), 'running')
            """)
    }

    /// Marks the run applied with its counts and report (in the run's transaction, so a
    /// rollback takes it back too; `RunHistory.record` then writes what happened instead).
    func finish(_ id: Int64, report: RunReport) throws {
        let json = try RunHistory.json(report)
        try conn.query("""
            UPDATE import_runs SET status = 'applied', finished_at = \(Timestamp.now), counts = \(json.counts)::jsonb,
                   report = \(json.report)::jsonb, run_id = \(report.runId), message = \(report.message),
                   report_path = \(report.reportDirectory)
            WHERE id = \(id)
            """)
    }
}

/// The run history (`import_runs`) outside a run's transaction: every run that did not commit
/// is recorded after its rollback, so the history holds every outcome (docs/operations.md).
public enum RunHistory {
    /// The next run id, taken from the history's identity sequence.
    static func reserveId(on conn: PostgresConnection) throws -> Int64 {
        try conn.query("SELECT nextval(pg_get_serial_sequence('import_runs', 'id')) AS id").rows[0].decode("id", as: Int64.self)
    }

    /// Writes the row of a run that ended without committing (failed, aborted, cancelled,
    /// skipped, dry run) in a transaction of its own, under the id the run reserved at its start
    /// (`reserveId`), so its report and its history agree.
    public static func record(_ report: RunReport, id: Int64, inputSHA256: String, on conn: PostgresConnection) throws {
        let json = try json(report)
        let inputs = report.inputs.map(\.name).joined(separator: ", ")
        let started = Timestamp(rfc3339: report.startedAt) ?? .now
        let finished = report.finishedAt.flatMap { Timestamp(rfc3339: $0) } ?? .now
        try conn.query("""
            INSERT INTO import_runs (id, pipeline, kind, input_name, input_sha256, started_at, finished_at, status, counts, report,
                                     run_id, message, report_path)
            OVERRIDING SYSTEM VALUE
            VALUES (\(id), \(report.pipeline), \(report.kind), \(inputs), \(inputSHA256), \(started), \(finished), \(report.outcome.rawValue),
                    \(json.counts)::jsonb, \(json.report)::jsonb, \(report.runId), \(report.message), \(report.reportDirectory))
            """)
    }

    /// Stores what the run's webhooks answered, and the report that now says so.
    public static func noteNotifications(_ report: RunReport, on conn: PostgresConnection) throws {
        guard let id = report.importRunId else { return }
        let json = try json(report)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let notifications = String(decoding: try encoder.encode(report.notifications ?? []), as: UTF8.self)
        try conn.query("""
            UPDATE import_runs SET notifications = \(notifications)::jsonb, report = \(json.report)::jsonb WHERE id = \(id)
            """)
    }

    /// The stored report of run `id`, or nil when there is none.
    public static func report(_ id: Int64, on conn: PostgresConnection) throws -> RunReport? {
        guard let text = try conn.query("SELECT report::text AS report FROM import_runs WHERE id = \(id)").first?["report"] else {
            return nil
        }
        return try JSONDecoder().decode(RunReport.self, from: Data(text.utf8))
    }

    static func json(_ report: RunReport) throws -> (counts: String, report: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (String(decoding: try encoder.encode(report.counts), as: UTF8.self),
                String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
