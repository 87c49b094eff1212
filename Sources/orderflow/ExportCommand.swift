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
            rename); a failed export leaves none. The reports go beside the file as FILE.report.json, .md and
            .html (or to --report-dir as report.json, …). --incremental writes what changed since the pipeline's
            last incremental export; every export is recorded in the export ledger (orderflow exports), and
            --rerun ID writes an exported file's bytes again.
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
    @Option(name: [.short, .customLong("output")], help: "Output file, or - for standard output (with --rerun: default the original path).")
    var output: String?
    @Option(help: "Where report.json/.md/.html go (default: beside the output file, as FILE.report.json, …).") var reportDir: String?
    @Flag(help: "Only what changed since this pipeline's last incremental export of the dataset (no period).") var incremental = false
    @Option(help: "Write the file of export ID (orderflow exports lists them) again, byte for byte, from the ledger.") var rerun: Int64?
    @Option(help: "Write the export's Prometheus metrics to this file, for node exporter's textfile collector (docs/metrics.md).")
    var metricsFile: String?

    func validate() throws {
        if rerun == nil && output == nil { throw ValidationError("-o FILE (or -o - for standard output) is required") }
        if rerun != nil && (pipeline != nil || incremental) {
            throw ValidationError("--rerun writes a recorded export again; it takes no pipeline and no --incremental")
        }
    }

    func run() throws {
        logging.bootstrap()
        if let rerun { return try rerunExport(rerun) }
        let output = self.output ?? "-"
        let definition = try configuring {
            let definition = try resolvedDefinition()
            try definition.validate()
            return definition
        }
        let exportId = RunCommand.makeRunId(definition.name)
        let path = output == "-" ? nil : output
        let reports = reportFiles(path: path, exportId: exportId)
        let cancellation = Cancellation()
        let trap = SignalTrap([SIGINT, SIGTERM]) { signal in
            note("orderflow: \(signal == SIGINT ? "SIGINT" : "SIGTERM"): cancelling the export…")
            cancellation.cancel(reason: "cancelled by \(signal == SIGINT ? "SIGINT" : "SIGTERM"); no file was written")
        }
        defer { trap.restore() }
        var report: ExportReport
        let failure: Error?
        do {
            let conn = try db.connect()
            var export = FinanceExport(definition: definition)
            export.cancellation = cancellation
            let result = export.execute(on: conn, output: path, exportId: exportId)
            (report, failure) = (result.report, result.error)
        } catch {
            report = ExportReport(exportId: exportId, definition: definition, database: "(not connected)", startedAt: Timestamp.now.description)
            report.message = "\(error)"
            report.finishedAt = Timestamp.now.description
            failure = error
        }
        if let failure {
            if report.outcome != .cancelled { report.message = (report.message ?? "\(failure)") + " (no file was written)" }
            // Best effort: the failure may be the report directory itself.
            try? reports.write(report)
            note("error: \(failure)")
            note("no file was written; report: \(reports.markdownPath)")
            writeMetrics(report)
            if let e = failure as? ExportError, e.code == .invalidDefinition { throw Exit.usage }
            throw Exit.failed
        }
        do {
            try reports.write(report)
        } catch {
            note("warning: the export is complete and in the ledger, but its report could not be written: \(error)")
        }
        printSummary(report, reportPath: reports.markdownPath)
        writeMetrics(report)
    }

    /// Where this export's reports go: beside the file, named after it, so exports into one
    /// directory keep their own; or the directory --report-dir names.
    func reportFiles(path: String?, exportId: String) -> ExportReportWriter {
        if let reportDir { return ExportReportWriter(directory: URL(fileURLWithPath: reportDir)) }
        guard let path else { return ExportReportWriter(directory: URL(fileURLWithPath: "reports/\(exportId)")) }
        let url = URL(fileURLWithPath: path)
        return ExportReportWriter(directory: url.deletingLastPathComponent(), prefix: url.lastPathComponent + ".")
    }

    /// `--rerun ID`: the recorded file's bytes, written again (atomically) and checked against the ledger.
    func rerunExport(_ id: Int64) throws {
        do {
            let conn = try db.connect()
            let written = try ExportRerun(id: id).write(on: conn, to: output)
            note("export \(id) written again: \(written.path) (\(written.bytes) bytes, sha256 \(written.sha256), as the ledger recorded)")
        } catch {
            note("error: \(error)")
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
        let lower = (output ?? "-").lowercased()
        if incremental {
            // The flag turns a period pipeline into an incremental one: its period does not apply.
            d.incremental = true
            if from == nil && to == nil { (d.from, d.to, d.relativePeriod) = (nil, nil, nil) }
        }
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

    func printSummary(_ r: ExportReport, reportPath: String) {
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
            note("\(r.pipeline): exported \(o.rows) rows: \(s.orders) orders, \(s.units) units; totals \(totals.isEmpty ? "none" : totals.joined(separator: ", "))")
        }
        note(String(format: "  %.2f s; %@ (%lld bytes, sha256 %@)", total, o.path, o.bytes, o.sha256))
        if let i = r.incremental {
            note("  incremental: changes since export \(i.sinceExport.map(String.init) ?? "(none: the first takes everything)"); ledger id \(r.ledgerId ?? 0)")
        } else if let id = r.ledgerId {
            note("  ledger id \(id)")
        }
        note("  report: \(reportPath)")
    }
}
