import Export
import Foundation
import OrderModel
import OrderStore
import Pipeline
import PostgresClient

/// The console's reads, SELECTs only; a page that needs several runs them in one READ ONLY
/// snapshot (`readOnly`), so its figures agree with each other.
struct ConsoleQueries {
    let conn: PostgresConnection

    func readOnly<T>(_ body: () throws -> T) throws -> T {
        try conn.withTransaction { conn in
            try conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return try body()
        }
    }

    // MARK: Runs

    /// Import runs (`import_runs`) and exports (`export_runs`) in one list, newest first.
    struct RunRow: Sendable {
        enum Kind: String, Sendable { case run, export }
        var type: Kind
        var id: Int64
        var pipeline: String
        var kind: String
        var status: String
        var inputs: String
        var startedAt: Timestamp
        var seconds: Double?
        /// Records read (runs) or rows written (exports).
        var records: Int?
        var rejected: Int?
        var created: Int?
        var updated: Int?
        var deleted: Int?
        var message: String?

        /// Where the row sits in the list's order: `(started_at, type, id)` descending.
        var cursor: RunCursor { RunCursor(startedAt: startedAt, rank: type == .run ? 1 : 0, id: id) }
    }

    /// Filters of the runs page; nil means any.
    struct RunFilter: Sendable, Equatable {
        var pipeline: String?
        var outcome: String?
        /// `orders`, `tracking`, `shipments` or `export`.
        var kind: String?
        /// UTC days, both included.
        var fromDay: String?
        var toDay: String?

        var from: Timestamp? { fromDay.flatMap { Timestamp(rfc3339: $0 + "T00:00:00Z") } }
        var until: Timestamp? { toDay.flatMap { Timestamp(rfc3339: $0 + "T00:00:00Z") }.map { Timestamp(microseconds: $0.microseconds + 86_400_000_000) } }
    }

    /// A keyset position: the last row of the page before.
    struct RunCursor: Sendable, Equatable {
        var startedAt: Timestamp
        /// 1 for import runs, 0 for exports: the tie-break between the two tables.
        var rank: Int
        var id: Int64

        var text: String { "\(startedAt.microseconds).\(rank).\(id)" }

        init(startedAt: Timestamp, rank: Int, id: Int64) {
            (self.startedAt, self.rank, self.id) = (startedAt, rank, id)
        }

        init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let micros = Int64(parts[0]), let rank = Int(parts[1]), (0...1).contains(rank),
                  let id = Int64(parts[2]) else { return nil }
            self.init(startedAt: Timestamp(microseconds: micros), rank: rank, id: id)
        }
    }

    /// One page of runs after `cursor`, and whether there are more.
    func runs(_ filter: RunFilter, after cursor: RunCursor?, limit: Int) throws -> (rows: [RunRow], more: Bool) {
        // Each table is cut at the cursor on its own (started_at, id) index: rows of the other
        // table at the cursor's instant sort by rank, so the bound on id is all or nothing there.
        let at = cursor?.startedAt
        let runBound: Int64 = cursor.map { $0.rank == 1 ? $0.id : 0 } ?? 0
        let exportBound: Int64 = cursor.map { $0.rank == 0 ? $0.id : Int64.max } ?? 0
        let wantRuns = filter.kind != "export", wantExports = filter.kind == nil || filter.kind == "export"
        let n = limit + 1
        let result = try conn.query("""
            SELECT type, id, pipeline, kind, status, inputs, started_at, seconds, records, rejected, created, updated, deleted, message
            FROM (
                (SELECT 1 AS rank, 'run' AS type, id, pipeline, kind, status, input_name AS inputs, started_at,
                        extract(epoch FROM finished_at - started_at)::float8 AS seconds,
                        (counts->>'recordsRead')::bigint AS records, (counts->>'recordsRejected')::bigint AS rejected,
                        (counts->>'created')::bigint AS created, (counts->>'updated')::bigint AS updated,
                        (counts->>'deleted')::bigint + coalesce((counts->>'mirrorDeleted')::bigint, 0) AS deleted, message
                 FROM import_runs
                 WHERE \(wantRuns) AND (\(filter.pipeline)::text IS NULL OR pipeline = \(filter.pipeline))
                   AND (\(filter.outcome)::text IS NULL OR status = \(filter.outcome))
                   AND (\(filter.kind)::text IS NULL OR kind = \(filter.kind))
                   AND (\(filter.from)::timestamptz IS NULL OR started_at >= \(filter.from))
                   AND (\(filter.until)::timestamptz IS NULL OR started_at < \(filter.until))
                   AND (\(at)::timestamptz IS NULL OR (started_at, id) < (\(at), \(runBound)))
                 ORDER BY started_at DESC, id DESC LIMIT \(n))
                UNION ALL
                (SELECT 0, 'export', id, pipeline, 'export', status, dataset || ' (' || format || ')', started_at,
                        extract(epoch FROM finished_at - started_at)::float8, rows, NULL, NULL, NULL, NULL, message
                 FROM export_runs
                 WHERE \(wantExports) AND (\(filter.pipeline)::text IS NULL OR pipeline = \(filter.pipeline))
                   AND (\(filter.outcome)::text IS NULL OR status = \(filter.outcome))
                   AND (\(filter.from)::timestamptz IS NULL OR started_at >= \(filter.from))
                   AND (\(filter.until)::timestamptz IS NULL OR started_at < \(filter.until))
                   AND (\(at)::timestamptz IS NULL OR (started_at, id) < (\(at), \(exportBound)))
                 ORDER BY started_at DESC, id DESC LIMIT \(n))
            ) u
            ORDER BY started_at DESC, rank DESC, id DESC LIMIT \(n)
            """)
        let rows = try result.rows.map { row in
            RunRow(type: try row.decode("type", as: String.self) == "run" ? .run : .export, id: try row.decode("id"),
                   pipeline: try row.decode("pipeline"), kind: try row.decode("kind"), status: try row.decode("status"),
                   inputs: row["inputs"] ?? "", startedAt: try row.decode("started_at"), seconds: try row.decode("seconds", as: Double?.self),
                   records: try row.decode("records", as: Int?.self), rejected: try row.decode("rejected", as: Int?.self),
                   created: try row.decode("created", as: Int?.self), updated: try row.decode("updated", as: Int?.self),
                   deleted: try row.decode("deleted", as: Int?.self), message: row["message"])
        }
        return (Array(rows.prefix(limit)), rows.count > limit)
    }

    /// Every pipeline that has a run or an export (the filter's choices): a walk down each
    /// table's (pipeline, …) index, one probe per pipeline, however long the history.
    func pipelines() throws -> [String] {
        try conn.query("""
            WITH RECURSIVE runs(p) AS (
                (SELECT pipeline FROM import_runs ORDER BY pipeline LIMIT 1)
                UNION ALL
                SELECT (SELECT r.pipeline FROM import_runs r WHERE r.pipeline > runs.p ORDER BY r.pipeline LIMIT 1) FROM runs WHERE runs.p IS NOT NULL
            ), exports(p) AS (
                (SELECT pipeline FROM export_runs ORDER BY pipeline LIMIT 1)
                UNION ALL
                SELECT (SELECT e.pipeline FROM export_runs e WHERE e.pipeline > exports.p ORDER BY e.pipeline LIMIT 1) FROM exports WHERE exports.p IS NOT NULL
            )
            SELECT p AS pipeline FROM runs WHERE p IS NOT NULL UNION SELECT p FROM exports WHERE p IS NOT NULL ORDER BY 1
            """).rows.map { try $0.decode("pipeline") }
    }

    /// One pipeline's figures on one UTC day.
    struct Night: Sendable {
        var pipeline: String
        var day: String
        var runs: Int
        var records: Int
        var rejected: Int
        var seconds: Double
    }

    /// Per pipeline and UTC day since `since`: runs, records read (rows, for exports), rejects, seconds.
    func nights(since: Timestamp, pipeline: String?) throws -> [Night] {
        try conn.query("""
            SELECT pipeline, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS runs,
                   coalesce(sum(records), 0)::bigint AS records, coalesce(sum(rejected), 0)::bigint AS rejected,
                   coalesce(sum(seconds), 0)::float8 AS seconds
            FROM (
                SELECT pipeline, started_at, (counts->>'recordsRead')::bigint AS records, (counts->>'recordsRejected')::bigint AS rejected,
                       extract(epoch FROM finished_at - started_at) AS seconds
                FROM import_runs WHERE started_at >= \(since) AND (\(pipeline)::text IS NULL OR pipeline = \(pipeline))
                UNION ALL
                SELECT pipeline, started_at, rows, 0, extract(epoch FROM finished_at - started_at)
                FROM export_runs WHERE started_at >= \(since) AND (\(pipeline)::text IS NULL OR pipeline = \(pipeline))
            ) r
            GROUP BY 1, 2 ORDER BY 1, 2
            """).rows.map { row in
            Night(pipeline: try row.decode("pipeline"), day: try row.decode("day"), runs: try row.decode("runs"),
                  records: try row.decode("records"), rejected: try row.decode("rejected"), seconds: try row.decode("seconds"))
        }
    }

    /// A run's row: its stored report (nil while it runs, or for a run recorded without one).
    struct RunDetail: Sendable {
        var id: Int64
        var pipeline: String
        var kind: String
        var status: String
        var inputs: String
        var startedAt: Timestamp
        var report: RunReport?
        /// Why the stored report could not be read (written by another version, or by hand).
        var unreadable: String?
    }

    func run(_ id: Int64) throws -> RunDetail? {
        guard let row = try conn.query("""
            SELECT id, pipeline, kind, status, input_name, started_at, report::text AS report FROM import_runs WHERE id = \(id)
            """).first else { return nil }
        var report: RunReport?, unreadable: String?
        if let text = row["report"] {
            do { report = try JSONDecoder().decode(RunReport.self, from: Data(text.utf8)) } catch { unreadable = "\(error)" }
        }
        return RunDetail(id: try row.decode("id"), pipeline: try row.decode("pipeline"), kind: try row.decode("kind"),
                         status: try row.decode("status"), inputs: row["input_name"] ?? "", startedAt: try row.decode("started_at"),
                         report: report, unreadable: unreadable)
    }

    // MARK: Orders

    /// Orders whose id, external ref (in any source) or shipment tracking number is `text`.
    func lookup(_ text: String, limit: Int) throws -> [Order] {
        let id = text.utf8.count == 36 ? UUID(uuidString: text) : nil
        // The unique index leads with source, so the distinct sources are walked on it first
        // (a loose index scan: one probe per source), then each is probed for the ref. No
        // extra index on external_ref, which every bulk load would have to maintain.
        let ids = try conn.query("""
            WITH RECURSIVE sources(s) AS (
                (SELECT source FROM orders ORDER BY source LIMIT 1)
                UNION ALL
                SELECT (SELECT o.source FROM orders o WHERE o.source > sources.s ORDER BY o.source LIMIT 1)
                FROM sources WHERE sources.s IS NOT NULL
            ), matches(id) AS (
                SELECT o.id FROM sources JOIN orders o ON o.source = sources.s AND o.external_ref = \(text)
                UNION
                SELECT order_id FROM shipments WHERE tracking_number = \(text)
                UNION
                SELECT id FROM orders WHERE id = \(id)
            )
            SELECT o.id FROM matches m JOIN orders o ON o.id = m.id ORDER BY o.created_at DESC, o.id DESC LIMIT \(limit)
            """).rows.map { try $0.decode("id", as: UUID.self) }
        let repository = OrderRepository()
        return try ids.compactMap { try repository.find($0, on: conn) }
    }

    // MARK: Exports

    /// One export ledger row with its control totals.
    struct ExportRow: Sendable {
        var entry: ExportLedger.Entry
        var totals: ControlTotals?
    }

    func exports(pipeline: String?, before: Int64?, limit: Int) throws -> (rows: [ExportRow], more: Bool) {
        let ledger = ExportLedger(conn: conn)
        let entries = try ledger.entries(pipeline: pipeline, before: before, limit: limit + 1)
        let ids = entries.map(\.id)
        var totals: [Int64: ControlTotals] = [:]
        if let low = ids.min(), let high = ids.max() {
            for row in try conn.query("""
                SELECT id, totals::text AS totals FROM export_runs WHERE id BETWEEN \(low) AND \(high) AND totals IS NOT NULL
                """).rows {
                if let text = row["totals"] {
                    totals[try row.decode("id")] = try? JSONDecoder().decode(ControlTotals.self, from: Data(text.utf8))
                }
            }
        }
        let rows = entries.prefix(limit).map { ExportRow(entry: $0, totals: totals[$0.id]) }
        return (Array(rows), entries.count > limit)
    }
}
