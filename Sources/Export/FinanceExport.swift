import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

/// An export: `COPY (…) TO STDOUT` streamed through a compressor thread into a file that
/// appears only when complete, with its summary built from the same rows on the way.
public struct FinanceExport {
    public let definition: ExportDefinition
    /// Bytes collected before a buffer goes to the writer thread.
    public var chunkSize = 1 << 20
    /// Buffers in flight between the reader and the writer (memory bound: about this × chunkSize).
    /// A deep queue lets PostgreSQL run ahead while the compressor is descheduled on a busy
    /// machine, and the compressor catch up while the server is: 16 MiB, well inside the budget.
    public var buffersInFlight = 16
    public var cancellation: Cancellation?
    /// Called on the exporting thread with the rows so far, once per buffer handed on.
    public var progress: ((Int) -> Void)?
    /// The current time, for periods relative to it (`previous_month`).
    public var now = Date()

    public init(definition: ExportDefinition) {
        self.definition = definition
    }

    /// Exports to `output` (a path, or `nil` for standard output) and returns the report; the
    /// caller writes it. On failure nothing is left at `output` and the error is thrown.
    public func run(on conn: PostgresConnection, output: String?, exportId: String) throws -> ExportReport {
        let result = execute(on: conn, output: output, exportId: exportId)
        if let error = result.error { throw error }
        return result.report
    }

    /// What `execute` ends with: the report, and the error when the export failed.
    public struct Result {
        public var report: ExportReport
        public var error: Error?
    }

    /// Exports and records the export in the ledger, whatever its outcome: a successful one in its
    /// own transaction (so an incremental export's cursor moves exactly when it commits), a failed
    /// or cancelled one after the rollback. Never throws; the report says what happened.
    public func execute(on conn: PostgresConnection, output: String?, exportId: String) -> Result {
        var report = ExportReport(exportId: exportId, definition: definition, database: conn.target, startedAt: Timestamp.now.description)
        let ledger = ExportLedger(conn: conn)
        do {
            try definition.validate()
            try Migrator().requireCurrent(conn)
            let id = try ledger.reserveId()
            report.ledgerId = id
            do {
                return Result(report: try export(on: conn, ledger: ledger, id: id, output: output, report: report))
            } catch {
                let cancelled = (error as? ExportError)?.code == .cancelled || cancellation?.requested != nil
                report.outcome = cancelled ? .cancelled : .failed
                report.message = "\(error)"
                report.finishedAt = Timestamp.now.description
                conn.rollbackQuietly()
                do {
                    try conn.withTransaction { _ in
                        try ledger.record(report, id: id, format: definition.format.rawValue, incremental: definition.incremental,
                                          cursorFrom: nil, cursorTo: nil)
                    }
                } catch let ledgerError {
                    report.message = "\(error); it could not be recorded in the export ledger: \(ledgerError)"
                }
                return Result(report: report, error: error)
            }
        } catch {
            report.outcome = .failed
            report.message = "\(error)"
            report.finishedAt = Timestamp.now.description
            return Result(report: report, error: error)
        }
    }

    private func export(on conn: PostgresConnection, ledger: ExportLedger, id: Int64, output: String?, report initial: ExportReport) throws -> ExportReport {
        var report = initial
        let clock = StageClock()

        // Two incremental exports at once would both continue from the same cursor. The lock is
        // taken before the transaction, so this export's snapshot is taken after the previous one
        // committed: successive snapshots only grow, and every change falls between exactly two.
        if definition.incremental {
            try ledger.lock(pipeline: definition.name, dataset: definition.dataset.rawValue)
        }
        defer { if definition.incremental { ledger.unlock(pipeline: definition.name, dataset: definition.dataset.rawValue) } }

        // One snapshot for the whole export, and the ledger row written in it. It writes nothing
        // else, so it never blocks (nor waits for) a run.
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        defer { conn.rollbackQuietly() }
        cancellation?.attach(conn.cancelHandle())
        defer { cancellation?.attach(nil) }
        let snapshot = try conn.query("SELECT pg_current_snapshot()::text AS s").rows[0].decode("s", as: String.self)

        var since: ExportLedger.Cursor?
        if definition.incremental {
            since = try ledger.cursor(pipeline: definition.name, dataset: definition.dataset.rawValue)
            report.incremental = ExportReport.Incremental(since: since?.snapshot, sinceExport: since?.exportRunId, until: snapshot)
        }

        var from = definition.from, to = definition.to
        if from == nil, to == nil, let relative = definition.relativePeriod {
            (from, to) = relative.bounds(now: now, timezone: definition.timezone)
            report.period.from = from?.description
            report.period.to = to?.description
        }
        let (fromInstant, toInstant) = try clock.measure("resolve period") {
            try (resolve(from, conn: conn), resolve(to, conn: conn))
        }
        report.period.fromInstant = fromInstant
        report.period.toInstant = toInstant
        if let fromInstant, let toInstant,
           let a = Timestamp(rfc3339: fromInstant), let b = Timestamp(rfc3339: toInstant), !(a < b) {
            throw ExportError(.invalidDefinition, "the period is empty: from \(from!) (\(fromInstant)) is not before to \(to!) (\(toInstant))")
        }

        let query = ExportQuery(definition: definition, from: fromInstant, to: toInstant, since: since?.snapshot)
        for setting in query.settings {
            try conn.query("SELECT set_config(\(setting.name), \(setting.value), true)")
        }
        var summary = try ExportSummaryBuilder(query: query)
        let snapshotId = try conn.query("SELECT pg_export_snapshot() AS id").rows[0].decode("id", as: String.self)
        let control = try ControlTotalsWorker(query, snapshotId: snapshotId, beside: conn)
        var controlDone = false
        defer { if !controlDone { control.stop() } }

        let destination = try ExportDestination(path: output)
        defer { destination.abort() }
        let channel = BoundedChannel<[UInt8]>(capacity: buffersInFlight)
        let xlsxSummary = definition.format == .xlsx ? XLSXSummaryHandOff() : nil
        let writer = xlsxSummary.map { XLSXExportWriter.start(channel: channel, destination: destination, query: query, summary: $0) }
            ?? ExportWriter.start(channel: channel, destination: destination, gzip: definition.gzip)
        func nextBuffer() -> [UInt8] {
            guard var b = channel.spare() else {
                var fresh = [UInt8]()
                fresh.reserveCapacity(chunkSize + 65_536)
                return fresh
            }
            b.removeAll(keepingCapacity: true)
            return b
        }

        let streamStart = DispatchTime.now().uptimeNanoseconds
        var buffer = nextBuffer()
        if definition.bom && definition.format == .csv { buffer.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        let copied: Int
        do {
            copied = try conn.copyOut(query.copySQL) { row in
                buffer.append(contentsOf: row)
                try summary.add(row: row)
                if buffer.count >= chunkSize {
                    if let reason = cancellation?.requested { throw ExportError(.cancelled, reason) }
                    try channel.send(buffer)
                    buffer = nextBuffer()
                    progress?(summary.rowCount)
                }
            }
            try channel.send(buffer)
            xlsxSummary?.deliver(summary.summary())
            channel.finish()
        } catch {
            channel.finish(error: error)
            _ = writer.wait()
            if let reason = cancellation?.requested { throw ExportError(.cancelled, reason) }
            throw error
        }
        let written = try writer.wait().get()
        if let reason = cancellation?.requested { throw ExportError(.cancelled, reason) }
        var result = summary.summary()
        guard result.rows == copied else {
            throw ExportError(.unexpectedRow, "the server sent \(copied) rows but \(result.rows) were read")
        }
        let streamSeconds = Double(DispatchTime.now().uptimeNanoseconds - streamStart) / 1e9
        let stage = definition.format == .xlsx ? "copy out + xlsx" : definition.gzip ? "copy out + gzip" : "copy out"
        clock.record(stage, seconds: streamSeconds, rows: copied)

        if FaultInjection.isActive("export: miscount") { result.rows -= 1 }
        // Computed beside the COPY; what is left of it is what the export waits for.
        var totals = try clock.measure("control totals (wait)") { try control.result() }
        controlDone = true
        try totals.check(result, dataset: definition.dataset)

        report.outcome = .exported
        report.output = ExportReport.Output(path: output ?? "-", format: definition.format.rawValue, gzip: definition.gzip,
                                            bom: definition.bom, spreadsheetSafe: definition.format != .ndjson, rows: copied,
                                            bytes: written.bytes, sha256: written.sha256)
        report.summary = result
        report.control = totals
        try clock.measure("sync") { try destination.sync() }
        try clock.measure("ledger") {
            report.stages = clock.stages
            report.finishedAt = Timestamp.now.description
            try ledger.record(report, id: id, format: definition.format.rawValue, incremental: definition.incremental,
                              cursorFrom: since?.snapshot, cursorTo: snapshot)
            let fd = try destination.readBack()
            defer { close(fd) }
            try ledger.storeFile(id: id, fd: fd)
        }
        FaultInjection.point("export: commit")
        try conn.execute("COMMIT")
        // Committed: the ledger has the file's bytes, so a file that cannot be put in place can be
        // written again with --rerun; the export is marked failed so its cursor does not count.
        FaultInjection.point("export: rename")
        do {
            try clock.measure("rename") { try destination.publish() }
        } catch {
            try? conn.withTransaction { _ in try ledger.markFailed(id: id, message: "\(error)") }
            throw error
        }
        report.stages = clock.stages
        report.finishedAt = Timestamp.now.description
        return report
    }

    /// The exact instant of a bound: a date is midnight in the export's zone, resolved by
    /// PostgreSQL's own zone rules (the same ones the query runs with).
    private func resolve(_ bound: PeriodBound?, conn: PostgresConnection) throws -> String? {
        guard let bound else { return nil }
        switch bound {
        case .instant(let ts):
            return ts.exactDescription
        case .date:
            let local = "\(bound.description) 00:00:00"
            do {
                let row = try conn.query("""
                    SELECT to_char(((\(local))::timestamp AT TIME ZONE \(definition.timezone)) AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS instant
                    """).rows[0]
                return try row.decode("instant", as: String.self)
            } catch let error as PostgresError where error.sqlState == "22023" {
                throw ExportError(.invalidDefinition, "PostgreSQL does not know the time zone \(definition.timezone)")
            }
        }
    }
}
