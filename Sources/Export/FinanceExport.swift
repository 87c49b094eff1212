import Foundation
import OrderModel
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
        try definition.validate()
        var report = ExportReport(exportId: exportId, definition: definition, database: conn.target, startedAt: Timestamp.now.description)
        let clock = StageClock()

        // One snapshot for the whole export; read-only, so it never blocks or is blocked by runs.
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { conn.rollbackQuietly() }
        cancellation?.attach(conn.cancelHandle())
        defer { cancellation?.attach(nil) }

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

        let query = ExportQuery(definition: definition, from: fromInstant, to: toInstant)
        for setting in query.settings {
            try conn.query("SELECT set_config(\(setting.name), \(setting.value), true)")
        }
        var summary = try ExportSummaryBuilder(query: query)

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
        let result = summary.summary()
        guard result.rows == copied else {
            throw ExportError(.unexpectedRow, "the server sent \(copied) rows but \(result.rows) were read")
        }
        let streamSeconds = Double(DispatchTime.now().uptimeNanoseconds - streamStart) / 1e9
        let stage = definition.format == .xlsx ? "copy out + xlsx" : definition.gzip ? "copy out + gzip" : "copy out"
        clock.record(stage, seconds: streamSeconds, rows: copied)
        try clock.measure("sync + rename") { try destination.commit() }
        try conn.execute("COMMIT")

        report.outcome = .exported
        report.output = ExportReport.Output(path: output ?? "-", format: definition.format.rawValue, gzip: definition.gzip,
                                            bom: definition.bom, spreadsheetSafe: definition.format != .ndjson, rows: copied,
                                            bytes: written.bytes, sha256: written.sha256)
        report.summary = result
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
