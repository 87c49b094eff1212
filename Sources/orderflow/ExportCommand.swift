import ArgumentParser
import Foundation
import Monitoring
import OrderModel
import Pipeline
import PostgresClient
import Export
import Reports
import RunSupport

extension ExportDefinition.Dataset: ExpressibleByArgument {}
extension ExportDefinition.TimeField: ExpressibleByArgument {}
extension ExportDefinition.Format: ExpressibleByArgument {}

/// `orderflow export`: orders, line items, history or shipments out of the database.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export orders, line items, change history or shipments as CSV, NDJSON (gzip optional) or xlsx, with a summary report.",
        discussion: """
            Settings come from a `kind: export` pipeline (e.g. pipelines/finance-monthly.yaml); flags override it.
            The period is half-open, [--from, --to): a date means midnight in --timezone (default UTC), a
            timestamp needs a zone (Z or an offset). The file appears only when complete (temp file, fsync,
            rename); a failed export leaves none. report.json, report.md and report.html go to --report-dir,
            by default the output file's directory (reports/<export id> for standard output).
            """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var logging: LogOptions
    @Argument(help: "An export pipeline (kind: export); optional when flags say everything.") var pipeline: String?
    @Option(help: "orders (totals per order), lines (one row per line item), history (order events) or shipments (one row per shipment with its order).")
    var dataset: ExportDefinition.Dataset?
    @Option(help: "Start of the period, inclusive: 2026-10-01 or an RFC 3339 timestamp with a zone.") var from: String?
    @Option(help: "End of the period, exclusive.") var to: String?
    @Option(help: "Which time the period applies to: created, updated or event; for shipments also shipped (shipped_at, else created_at; their default).")
    var on: ExportDefinition.TimeField?
    @Option(help: "IANA time zone of dates and of the report's days (default UTC).") var timezone: String?
    @Option(help: "Only these statuses (repeat or comma-separate); for shipments the shipment's status.") var status: [String] = []
    @Option(help: "Only these sources (repeat or comma-separate).") var source: [String] = []
    @Option(help: "Only these customers (repeatable).") var customer: [String] = []
    @Option(help: "csv (snake_case header), ndjson (camelCase keys) or xlsx (typed cells and a Totals sheet; default for a .xlsx file name).")
    var format: ExportDefinition.Format?
    @Flag(inversion: .prefixedNo, help: "gzip the output (default: when the file name ends in .gz).") var gzip: Bool?
    @Flag(inversion: .prefixedNo, help: "Start a CSV with a UTF-8 byte order mark (for Excel).") var bom: Bool?
    @Option(name: [.short, .customLong("output")], help: "Output file, or - for standard output.") var output: String
    @Option(help: "Where report.json/.md/.html go (default: beside the output file).") var reportDir: String?
    @Option(help: "Write the export's Prometheus metrics to this file, for node exporter's textfile collector (docs/metrics.md).")
    var metricsFile: String?

    func run() throws {
        logging.bootstrap()
        let definition = try configuring {
            let definition = try resolvedDefinition()
            try definition.validate()
            return definition
        }
        let exportId = RunCommand.makeRunId(definition.name)
        let path = output == "-" ? nil : output
        let directory = URL(fileURLWithPath: reportDir ?? path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "reports/\(exportId)")
        let cancellation = Cancellation()
        let trap = SignalTrap([SIGINT, SIGTERM]) { signal in
            note("orderflow: \(signal == SIGINT ? "SIGINT" : "SIGTERM"): cancelling the export…")
            cancellation.cancel(reason: "cancelled by \(signal == SIGINT ? "SIGINT" : "SIGTERM"); no file was written")
        }
        defer { trap.restore() }
        var target = "(not connected)"
        do {
            let conn = try db.connect()
            target = conn.target
            var export = FinanceExport(definition: definition)
            export.cancellation = cancellation
            let report = try export.run(on: conn, output: path, exportId: exportId)
            try ExportReportWriter(directory: directory).write(report)
            printSummary(report, directory: directory)
            writeMetrics(report)
        } catch {
            var report = ExportReport(exportId: exportId, definition: definition, database: target, startedAt: Timestamp.now.description)
            let cancelled = (error as? ExportError)?.code == .cancelled
            report.outcome = cancelled ? .cancelled : .failed
            report.message = "\(error)" + (cancelled ? "" : " (no file was written)")
            report.finishedAt = Timestamp.now.description
            // Best effort: the failure may be the report directory itself.
            try? ExportReportWriter(directory: directory).write(report)
            note("error: \(error)")
            note("no file was written; report: \(directory.path)/report.md")
            writeMetrics(report)
            if let e = error as? ExportError, e.code == .invalidDefinition { throw Exit.usage }
            throw Exit.failed
        }
    }

    /// The pipeline's settings with the flags on top.
    func resolvedDefinition() throws -> ExportDefinition {
        var d = try pipeline.map { try ExportDefinition.load(path: $0) } ?? ExportDefinition()
        func bound(_ text: String, _ flag: String) throws -> PeriodBound {
            guard let b = PeriodBound(text) else {
                throw ValidationError("\(flag) \(text): expected a date (2026-10-01) or an RFC 3339 timestamp with a zone (2026-10-01T00:00:00+02:00)")
            }
            return b
        }
        if let dataset { d.dataset = dataset }
        if let from { d.from = try bound(from, "--from") }
        if let to { d.to = try bound(to, "--to") }
        if let on { d.on = on }
        if let timezone { d.timezone = timezone }
        func list(_ values: [String]) -> [String] { values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
        if !status.isEmpty { d.statuses = list(status) }
        if !source.isEmpty { d.sources = list(source) }
        if !customer.isEmpty { d.customers = customer }
        let lower = output.lowercased()
        if let format { d.format = format } else if pipeline == nil && (lower.contains(".ndjson") || lower.contains(".jsonl")) { d.format = .ndjson }
        else if pipeline == nil && lower.hasSuffix(".xlsx") { d.format = .xlsx }
        if let gzip { d.gzip = gzip } else if lower.hasSuffix(".gz") { d.gzip = true }
        if let bom { d.bom = bom }
        return d
    }

    /// The export's metrics file (docs/metrics.md); a file that cannot be written is a warning.
    func writeMetrics(_ r: ExportReport) {
        guard let metricsFile else { return }
        func seconds(_ text: String?) -> Double { text.flatMap { Timestamp(rfc3339: $0)?.unixSeconds } ?? Timestamp.now.unixSeconds }
        let finished = seconds(r.finishedAt)
        let existing = (try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? ""
        let lastSuccess = r.outcome == .exported ? finished
            : MetricsTextFile.value(of: "orderflow_job_last_success_timestamp_seconds", command: "export", pipeline: r.pipeline, in: existing)
        var metrics = JobMetrics(command: "export", pipeline: r.pipeline, kind: "export", outcome: r.outcome == .exported ? "applied" : r.outcome.rawValue,
                                 startedAt: seconds(r.startedAt), finishedAt: finished, lastSuccessAt: lastSuccess)
        metrics.stages = r.stages.map { (name: $0.name, seconds: $0.seconds) }
        if let o = r.output { metrics.changes = ["rows": o.rows, "bytes": Int(o.bytes)] }
        do {
            try MetricsTextFile.write(metrics, to: metricsFile)
        } catch {
            note("warning: cannot write the metrics file \(metricsFile): \(error)")
        }
    }

    func printSummary(_ r: ExportReport, directory: URL) {
        guard let o = r.output, let s = r.summary else { return }
        let total = r.stages.reduce(0) { $0 + $1.seconds }
        // stderr: standard output may be the export itself.
        if let shipments = s.shipments {
            let carriers = shipments.byCarrierStatus.reduce(into: [String: Int]()) { $0[$1.carrier, default: 0] += $1.shipments }
            note("\(r.pipeline): exported \(o.rows) shipments (\(carriers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        } else if r.dataset == "history" {
            note("\(r.pipeline): exported \(o.rows) events (\(s.eventsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        } else {
            let totals = s.totalsByCurrency.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            note("\(r.pipeline): exported \(o.rows) rows: \(s.orders) orders, \(s.units) units; totals \(totals.joined(separator: ", "))")
        }
        note(String(format: "  %.2f s; %@ (%lld bytes, sha256 %@)", total, o.path, o.bytes, o.sha256))
        note("  report: \(directory.path)/report.md")
    }
}
