import Foundation
import PostgresClient

/// The export ledger (`export_runs`, `export_files`, migration 6): every export with its
/// outcome, the snapshots an incremental one read between, its file's SHA-256, rows and totals,
/// and the file's bytes so `export --rerun` can write them again (docs/export.md#the-export-ledger).
public struct ExportLedger {
    /// One export as the ledger has it.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var exportId: String
        public var pipeline: String
        public var dataset: String
        public var format: String
        public var incremental: Bool
        public var status: String
        public var message: String?
        /// The snapshot the previous incremental export read at (`nil`: from the beginning).
        public var cursorFrom: String?
        /// The snapshot this export read at.
        public var cursorTo: String?
        public var outputPath: String?
        public var rows: Int?
        public var bytes: Int64?
        public var sha256: String?
        /// Bytes of the file the ledger keeps (0 when it keeps none).
        public var storedBytes: Int64
        public var startedAt: String
        public var finishedAt: String
    }

    /// What an incremental export continues from: the last successful one of its pipeline and dataset.
    public struct Cursor: Sendable, Equatable {
        public var exportRunId: Int64
        public var snapshot: String
    }

    let conn: PostgresConnection

    public init(conn: PostgresConnection) {
        self.conn = conn
    }

    /// The next ledger id, reserved before the export's transaction so a failure is recorded under it too.
    func reserveId() throws -> Int64 {
        try conn.query("SELECT nextval(pg_get_serial_sequence('export_runs', 'id')) AS id").rows[0].decode("id", as: Int64.self)
    }

    /// Takes the session lock of one pipeline's incremental exports (released by `unlock` or when
    /// the connection ends): two at once would both continue from the same cursor.
    func lock(pipeline: String, dataset: String) throws {
        let got = try conn.query("SELECT pg_try_advisory_lock(\(Self.lockClass), hashtext(\(pipeline + "\u{1F}" + dataset))) AS ok")
            .rows[0].decode("ok", as: Bool.self)
        guard got else {
            throw ExportError(.busy, "another incremental export of \(pipeline) (\(dataset)) is running; nothing was written, try again when it has finished")
        }
    }

    func unlock(pipeline: String, dataset: String) {
        _ = try? conn.query("SELECT pg_advisory_unlock(\(Self.lockClass), hashtext(\(pipeline + "\u{1F}" + dataset)))")
    }

    /// Advisory-lock class of the export cursors (the second key is the pipeline's hash).
    static let lockClass: Int32 = 0x6f66_6578 // "ofex"

    /// Where the next incremental export of `pipeline`'s `dataset` starts; nil before the first.
    public func cursor(pipeline: String, dataset: String) throws -> Cursor? {
        guard let row = try conn.query("""
            SELECT id, cursor_to::text AS snapshot FROM export_runs
            WHERE pipeline = \(pipeline) AND dataset = \(dataset) AND incremental AND status = 'exported'
            ORDER BY id DESC LIMIT 1
            """).first else { return nil }
        return Cursor(exportRunId: try row.decode("id"), snapshot: try row.decode("snapshot"))
    }

    /// Writes the row of an export, in the caller's transaction for a successful one (so the
    /// cursor moves exactly when the export commits) or in one of its own for a failure.
    func record(_ report: ExportReport, id: Int64, format: String, incremental: Bool, cursorFrom: String?, cursorTo: String?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        let totals = try report.control.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let rows = report.output.map { Int64($0.rows) }
        // Absolute, so `--rerun` (and anyone reading the ledger) finds it from any directory.
        let path = report.output.map { $0.path == "-" || $0.path.hasPrefix("/") ? $0.path : URL(fileURLWithPath: $0.path).standardizedFileURL.path }
        try conn.query("""
            INSERT INTO export_runs (id, export_id, pipeline, dataset, format, incremental, status, message, cursor_from, cursor_to,
                                     period_from, period_to, output_path, rows, bytes, sha256, totals, report, started_at)
            OVERRIDING SYSTEM VALUE
            VALUES (\(id), \(report.exportId), \(report.pipeline), \(report.dataset), \(format), \(incremental), \(report.outcome.rawValue),
                    \(report.message), \(cursorFrom)::pg_snapshot, \(cursorTo)::pg_snapshot,
                    \(report.period.fromInstant)::timestamptz, \(report.period.toInstant)::timestamptz, \(path),
                    \(rows), \(report.output?.bytes), \(report.output?.sha256), \(totals)::jsonb, \(json)::jsonb, \(report.startedAt)::timestamptz)
            ON CONFLICT (id) DO NOTHING -- a failure after COMMIT (the rename) was marked by markFailed
            """)
    }

    /// Marks an export that committed but whose file could not be put in place as failed, so the
    /// cursor goes back to the export before it.
    func markFailed(id: Int64, message: String) throws {
        try conn.query("UPDATE export_runs SET status = 'failed', message = \(message) WHERE id = \(id)")
    }

    /// Keeps the file's bytes (read from `fd` from its start) with the export, in 1 MiB rows, by
    /// a binary COPY: bytea needs no escaping there.
    func storeFile(id: Int64, fd: Int32) throws {
        let chunk = 1 << 20
        var data = [UInt8](repeating: 0, count: chunk)
        var offset: off_t = 0
        _ = try conn.copyIn("COPY export_files (export_run_id, seq, data) FROM STDIN WITH (FORMAT binary)") { writer in
            var buffer = CopyBinaryFormat.header
            var seq: Int32 = 0
            while true {
                let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, chunk, offset) }
                if n < 0 { throw ExportError(.output, "cannot read back the export file: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                offset += off_t(n)
                CopyBinaryFormat.beginTuple(fields: 3, in: &buffer)
                CopyBinaryFormat.appendInt64(id, to: &buffer)
                CopyBinaryFormat.appendInt32(seq, to: &buffer)
                CopyBinaryFormat.appendText(data[0..<n], to: &buffer)
                try writer.write(buffer)
                buffer.removeAll(keepingCapacity: true)
                seq += 1
            }
            buffer.append(contentsOf: CopyBinaryFormat.trailer)
            try writer.write(buffer)
        }
    }

    /// The ledger's entries, newest first, optionally of one pipeline and before an id (keyset paging).
    public func entries(pipeline: String? = nil, before: Int64? = nil, limit: Int = 50) throws -> [Entry] {
        try conn.query("""
            SELECT r.id, r.export_id, r.pipeline, r.dataset, r.format, r.incremental, r.status, r.message,
                   r.cursor_from::text AS cursor_from, r.cursor_to::text AS cursor_to, r.output_path, r.rows, r.bytes, r.sha256,
                   (SELECT coalesce(sum(length(f.data)), 0) FROM export_files f WHERE f.export_run_id = r.id) AS stored,
                   to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started,
                   to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS finished
            FROM export_runs r
            WHERE (\(pipeline)::text IS NULL OR r.pipeline = \(pipeline)) AND (\(before)::bigint IS NULL OR r.id < \(before))
            ORDER BY r.id DESC LIMIT \(limit)
            """).rows.map { row in
            Entry(id: try row.decode("id"), exportId: try row.decode("export_id"), pipeline: try row.decode("pipeline"),
                  dataset: try row.decode("dataset"), format: try row.decode("format"), incremental: try row.decode("incremental"),
                  status: try row.decode("status"), message: row["message"], cursorFrom: row["cursor_from"], cursorTo: row["cursor_to"],
                  outputPath: row["output_path"], rows: try row.decode("rows", as: Int?.self), bytes: try row.decode("bytes", as: Int64?.self),
                  sha256: row["sha256"], storedBytes: try row.decode("stored"), startedAt: try row.decode("started"),
                  finishedAt: try row.decode("finished"))
        }
    }

    /// One entry, or nil.
    public func entry(_ id: Int64) throws -> Entry? {
        try entries(before: id + 1, limit: 1).first { $0.id == id }
    }

    /// The stored report.json of export `id`.
    public func report(_ id: Int64) throws -> ExportReport? {
        guard let text = try conn.query("SELECT report::text AS report FROM export_runs WHERE id = \(id)").first?["report"] else { return nil }
        return try JSONDecoder().decode(ExportReport.self, from: Data(text.utf8))
    }

    /// Hands the stored file's chunks to `body` in order.
    func readFile(id: Int64, _ body: ([UInt8]) throws -> Void) throws {
        let count = try conn.query("SELECT count(*) AS n FROM export_files WHERE export_run_id = \(id)").rows[0].decode("n", as: Int.self)
        for seq in 0..<count {
            guard let hex = try conn.query("SELECT encode(data, 'hex') AS data FROM export_files WHERE export_run_id = \(id) AND seq = \(seq)")
                .first?["data"] else {
                throw ExportError(.notInLedger, "export \(id)'s file is missing its part \(seq) in export_files")
            }
            try body(Self.bytes(hex: hex))
        }
    }

    static func bytes(hex: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8 = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
