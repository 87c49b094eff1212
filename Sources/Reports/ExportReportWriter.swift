import Export
import Foundation
import Pipeline


/// Writes an export's report.json, report.md and report.html.
public struct ExportReportWriter {
    public let directory: URL
    /// Put before each file's name (`orders.csv.gz.` gives `orders.csv.gz.report.json`).
    public let prefix: String

    public init(directory: URL, prefix: String = "") {
        self.directory = directory
        self.prefix = prefix
    }

    /// The report.md this writer writes.
    public var markdownPath: String { directory.appendingPathComponent(prefix + "report.md").path }

    /// Creates the directory and writes the three files, each through a temp file and a rename.
    public func write(_ report: ExportReport) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let files = ReportWriter(directory: directory)
        try files.atomicWrite(try encoder.encode(report), to: prefix + "report.json")
        try files.atomicWrite(Data(Self.markdown(report).utf8), to: prefix + "report.md")
        try files.atomicWrite(Data(HTMLReport.export(report).utf8), to: prefix + "report.html")
    }

    /// The human report: outcome and file first, then the totals finance reconciles against.
    public static func markdown(_ r: ExportReport) -> String {
        var md = "# orderflow export \(r.exportId)\n\n"
        md += "**Outcome: \(r.outcome.rawValue)**"
        if let m = r.message { md += " — \(m)" }
        md += "\n\n"
        md += "- Pipeline: `\(r.pipeline)` from `\(r.pipelineFile)`, dataset `\(r.dataset)`\n"
        md += "- Database: `\(r.database)`\n"
        let p = r.period
        md += "- Period on `\(p.on)` time, half-open [from, to), zone \(p.timezone): "
        md += "from \(p.from ?? "(open)") to \(p.to ?? "(open)")"
        if p.fromInstant != nil || p.toInstant != nil { md += " = [\(p.fromInstant ?? "−∞"), \(p.toInstant ?? "+∞"))" }
        md += "\n"
        let f = r.filters
        if !f.status.isEmpty { md += "- Status: \(f.status.joined(separator: ", "))\n" }
        if !f.source.isEmpty { md += "- Source: \(f.source.joined(separator: ", "))\n" }
        if !f.customer.isEmpty { md += "- Customer: \(f.customer.joined(separator: ", "))\n" }
        if let id = r.ledgerId { md += "- Ledger id: \(id) (`orderflow export --rerun \(id)` writes the same file again)\n" }
        if let i = r.incremental {
            md += "- Incremental: what changed since " + (i.sinceExport.map { "export \($0) (snapshot `\(i.since ?? "")`)" } ?? "the beginning (the first incremental export)")
            md += ", up to snapshot `\(i.until)`\n"
        }
        md += "- Started \(r.startedAt), finished \(r.finishedAt ?? "—")\n\n"
        if let o = r.output {
            md += "## File\n\n| path | format | rows | bytes | sha256 |\n|---|---|---:|---:|---|\n"
            let shape = o.format + (o.gzip ? ", gzip" : "") + (o.bom ? ", BOM" : "") + (o.spreadsheetSafe ? ", spreadsheet-safe" : "")
            md += "| `\(o.path)` | \(shape) | \(o.rows) | \(o.bytes) | `\(o.sha256)` |\n\n"
        }
        if let s = r.summary {
            if let shipments = s.shipments {
                md += "## Shipments\n\n\(shipments.shipments) shipments, \(shipments.itemized) of them with lines (\(shipments.units) units); "
                md += "\(shipments.withoutCarrierStatus) without a carrier status yet, counted as shipped.\n\n"
                md += "| carrier | status | shipments | units |\n|---|---|---:|---:|\n"
                for g in shipments.byCarrierStatus { md += "| \(cell(g.carrier)) | \(g.status) | \(g.shipments) | \(g.units) |\n" }
                md += "\n## By day (\(p.timezone), \(p.on) time)\n\n| day | shipments | units |\n|---|---:|---:|\n"
                for d in shipments.byDay { md += "| \(d.day) | \(d.shipments) | \(d.units) |\n" }
            } else if r.dataset == "history" {
                md += "## Events by kind\n\n| kind | events |\n|---|---:|\n"
                for (k, n) in s.eventsByKind.sorted(by: { $0.key < $1.key }) { md += "| \(k) | \(n) |\n" }
                md += "\n## Events by day\n\n| day | events |\n|---|---:|\n"
                for (d, n) in s.eventsByDay.sorted(by: { $0.key < $1.key }) { md += "| \(d) | \(n) |\n" }
            } else {
                md += "## Totals\n\n\(s.orders) orders, \(s.units) units in \(s.rows) rows.\n\n"
                md += "| currency | status | orders | units | total |\n|---|---|---:|---:|---:|\n"
                for g in s.byCurrencyStatus { md += "| \(g.currency) | \(g.status) | \(g.orders) | \(g.units) | \(g.total) |\n" }
                md += "\n## By day (\(p.timezone))\n\n| day | currency | orders | units | total |\n|---|---|---:|---:|---:|\n"
                for d in s.byDay { md += "| \(d.day) | \(d.currency) | \(d.orders) | \(d.units) | \(d.total) |\n" }
            }
            md += "\n"
        }
        if let c = r.control {
            md += "## Control totals\n\nPostgreSQL over the same snapshot: \(c.rows) rows; "
            md += c.matched ? "equal to the file's.\n\n" : "not checked.\n\n"
            md += "| \(c.keyedBy) | rows | units | total |\n|---|---:|---:|---:|\n"
            for g in c.groups { md += "| \(cell(g.key)) | \(g.rows) | \(g.units) | \(g.total) |\n" }
            md += "\n"
        }
        md += "## Stages\n\n| stage | seconds | rows | rows/s |\n|---|---:|---:|---:|\n"
        for s in r.stages { md += String(format: "| %@ | %.3f | %d | %.0f |\n", s.name, s.seconds, s.rows, s.rowsPerSecond) }
        return md
    }

    /// A table cell of free text (a carrier's name comes from feeds): a `|` or a line break would
    /// end the cell or the row.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
