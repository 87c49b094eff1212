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

    /// Records the run as running and returns its id (the history rows carry it).
    func start(kind: String, inputNames: [String], at now: Timestamp) throws -> Int64 {
        try conn.query("""
            INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, status)
            VALUES (\(pipeline), \(kind), \(inputNames.joined(separator: ", ")), \(inputSHA256), \(now), 'running')
            RETURNING id
            """).rows[0].decode("id", as: Int64.self)
    }

    /// Marks the run applied with its counts and report (in the run's transaction, so a
    /// rollback takes it back too).
    func finish(_ id: Int64, report: RunReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let countsJSON = String(decoding: try encoder.encode(report.counts), as: UTF8.self)
        let reportJSON = String(decoding: try encoder.encode(report), as: UTF8.self)
        try conn.query("""
            UPDATE import_runs SET status = 'applied', finished_at = \(Timestamp.now), counts = \(countsJSON)::jsonb, report = \(reportJSON)::jsonb
            WHERE id = \(id)
            """)
    }
}
