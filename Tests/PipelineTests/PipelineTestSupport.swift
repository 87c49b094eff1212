import Foundation
import Pipeline
import PostgresClient
import OrderflowTestSupport
import Reports

/// A fresh migrated database plus helpers to run pipelines over feeds written in the test.
struct PipelineFixture {
    let url: String
    let conn: PostgresConnection
    let dir: URL

    init() throws {
        url = try TestDatabase.fresh()
        conn = try PostgresConnection(url)
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("of-pipe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    static let header = "external_ref,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price\n"

    /// Writes a feed file (gzip'd with the system's gzip when asked) and returns its path.
    func file(_ name: String, _ content: String, gzip: Bool = false) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        guard gzip else { return path }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-f", path]
        try p.run()
        p.waitUntilExit()
        return path + ".gz"
    }

    func definition(_ extra: String = "", mode: String = "upsert", maxRejects: String = "100") throws -> PipelineDefinition {
        try PipelineDefinition.parse(yaml: """
            name: test-\(mode)
            kind: orders
            source: legacy
            mode: \(mode)
            guards:
              max_rejects: \(maxRejects)
            \(extra)
            """)
    }

    /// Runs a pipeline over inputs, writing reports into the fixture's directory.
    @discardableResult
    func run(_ def: PipelineDefinition, _ inputs: [String], dryRun: Bool = false, force: Bool = true, firstLoad: Bool = true) throws -> RunReport {
        var options = RunOptions()
        options.firstLoad = firstLoad
        options.dryRun = dryRun
        options.force = force
        options.chunkSize = 4096 // many chunks even for small feeds: exercises the hand-off
        let reportDir = dir.appendingPathComponent("report-\(UInt32.random(in: 0...UInt32.max))")
        return try PipelineRun(definition: def, inputs: inputs, options: options).run(on: conn, runId: "test") { report, rejects in
            let written = try ReportWriter(directory: reportDir).write(report, rejects: rejects, definition: def, inputs: inputs)
            lastReport.value = written
            return written
        }
    }

    final class Box: @unchecked Sendable { var value: RunReport? }
    let lastReport = Box()

    func scalar(_ sql: String) throws -> String? {
        try conn.query(PostgresQuery(unsafeSQL: sql)).rows.first?[0]
    }

    func int(_ sql: String) throws -> Int { Int(try scalar(sql) ?? "") ?? -1 }

    /// A checksum of every order and item row, to prove "nothing changed".
    func fingerprint() throws -> String {
        try scalar("""
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT o::text AS x FROM orders o UNION ALL SELECT i::text FROM order_items i
              UNION ALL SELECT 'events:' || count(*) FROM order_events UNION ALL SELECT 'runs:' || count(*) FROM import_runs) t
            """) ?? ""
    }
}
