import Export
import Foundation
import Pipeline

/// Writes a run's `report.json`, `report.md` and `report.html` into its report directory.
public struct ReportWriter {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// Writes everything a run leaves behind: the rejects file (when records were rejected),
    /// then report.json and report.md; returns the report naming its rejects file.
    public func write(_ report: RunReport, rejects: RejectList?, definition: PipelineDefinition, inputs: [String]) throws -> RunReport {
        var report = report
        if let rejects, report.counts.recordsRejected > 0 {
            let files = try RejectsFileWriter(definition: definition).write(rejects: rejects, inputs: inputs, directory: directory)
            report.rejectsFile = files.joined(separator: ", ")
        }
        try write(report)
        return report
    }

    /// Creates the directory and writes the three files (each through a temp file and a rename).
    public func write(_ report: RunReport) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try atomicWrite(try encoder.encode(report), to: "report.json")
        try atomicWrite(Data(Self.markdown(report).utf8), to: "report.md")
        try atomicWrite(Data(HTMLReport.run(report).utf8), to: "report.html")
    }

    func atomicWrite(_ data: Data, to name: String) throws {
        let target = directory.appendingPathComponent(name)
        let temp = directory.appendingPathComponent(".\(name).tmp")
        try data.write(to: temp)
        if rename(temp.path, target.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
        }
    }

    /// The human report: outcome first, then counts, rejects with examples, inputs, timings.
    public static func markdown(_ r: RunReport) -> String {
        let c = r.counts
        let would = r.outcome == .applied ? "" : "would be "
        var md = "# orderflow run \(r.runId)\n\n"
        md += "**Outcome: \(r.outcome.rawValue)**\(r.dryRun ? " (dry run: nothing was committed)" : "")"
        if let m = r.message { md += " — \(m)" }
        md += "\n\n"
        md += "- Pipeline: `\(r.pipeline)` (\(r.kind), mode \(r.mode), source `\(r.source)`) from `\(r.pipelineFile)`\n"
        md += "- Database: `\(r.database)`\n"
        if let id = r.importRunId { md += "- Run history: \(id) (`orderflow runs \(id)`)\n" }
        if let e = r.historyError { md += "- Run history: not recorded (\(e))\n" }
        md += "- Started \(r.startedAt), finished \(r.finishedAt ?? "—")\n\n"
        md += would.isEmpty ? "## Changes applied\n\n" : "## Changes that would be applied (nothing was)\n\n"
        if let t = r.tracking {
            md += trackingTables(t, would: would)
        } else {
            md += ordersTable(c, would: would)
            if let t = r.releasedEvents {
                md += "### Held carrier events released\n\n| | count |\n|---|---:|\n"
                for (label, n) in [("released (their order or shipment now exists)", t.released), ("released and rejected", t.releasedRejected),
                                   ("expired (held too long, dropped)", t.expired)] + trackingActions(t, would: would) {
                    md += "| \(label) | \(n) |\n"
                }
                md += "\n"
            }
        }
        md += "Records read \(c.recordsRead) = accepted \(c.recordsAccepted) + rejected \(c.recordsRejected). "
        md += r.tracking == nil ? "Orders in the feed \(c.orders) = created + updated + unchanged + deleted + rejected.\n\n"
            : "Accepted events = held + matched; matches = informational + stale + superseded + the latest event of each shipment (change, confirmation, illegal).\n\n"
        if !r.rejectsByReason.isEmpty {
            md += "## Rejected records\n\n| reason | records | examples |\n|---|---:|---|\n"
            for (reason, n) in r.rejectsByReason.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
                let ex = (r.rejectExamples[reason] ?? []).prefix(3).map { "\($0.input):\($0.line): \($0.message)".replacingOccurrences(of: "|", with: "\\|") }
                md += "| `\(reason)` | \(n) | \(ex.joined(separator: "<br>")) |\n"
            }
            if let f = r.rejectsFile { md += "\nAll rejected records, with `line`, `reason` and `message` added: `\(f)`\n" }
            md += "\n"
        }
        if let notifications = r.notifications, !notifications.isEmpty {
            md += "## Notifications\n\n| webhook | event | delivered | attempts | answer |\n|---|---|---|---:|---|\n"
            for n in notifications {
                let answer = n.error ?? n.status.map { "HTTP \($0)" } ?? ""
                md += "| `\(n.url)` | \(n.event) | \(n.delivered ? "yes" : "**no**") | \(n.attempts) | \(answer.replacingOccurrences(of: "|", with: "\\|")) |\n"
            }
            md += "\n"
        }
        md += "## Inputs\n\n| input | format | bytes | sha256 |\n|---|---|---:|---|\n"
        for i in r.inputs { md += "| `\(i.name)` | \(i.format) | \(i.bytes) | `\(i.sha256)` |\n" }
        md += "\n## Stages\n\n| stage | seconds | rows | rows/s |\n|---|---:|---:|---:|\n"
        for s in r.stages { md += String(format: "| %@ | %.3f | %d | %.0f |\n", s.name, s.seconds, s.rows, s.rowsPerSecond) }
        return md
    }

    /// What carrier events did to orders and shipments (shared by the Markdown and HTML reports).
    public static func trackingActions(_ t: RunReport.TrackingCounts, would: String) -> [(String, Int)] {
        [("orders: status \(would)changed", t.statusChanged),
         ("orders: status kept (their shipments moved, the order may not follow)", t.statusKept),
         ("shipments \(would)added", t.shipmentsAdded), ("shipments: status \(would)changed", t.shipmentStatusChanged),
         ("status confirmed (newer event, same status)", t.confirmed), ("illegal transition (rejected)", t.illegalTransition)]
    }

    static func ordersTable(_ c: RunReport.Counts, would: String) -> String {
        var md = "| | orders |\n|---|---:|\n"
        let indent = "&nbsp;&nbsp;"
        let rows: [(String, Int)] = [
            ("\(would)created", c.created), ("\(would)updated", c.updated),
            ("\(indent)status changed", c.statusChanged), ("\(indent)shipping updated", c.shippingChanged),
            ("\(indent)line items changed", c.itemsChanged), ("\(indent)other fields changed", c.otherChanged),
            ("unchanged", c.unchanged), ("\(would)deleted (feed)", c.deleted),
            ("\(would)deleted (mirror: missing from feed)", c.mirrorDeleted), ("rejected", c.rejectedOrders),
        ]
        for (label, n) in rows { md += "| \(label) | \(n) |\n" }
        return md + "\n"
    }

    static func trackingTables(_ t: RunReport.TrackingCounts, would: String) -> String {
        var md = "| | count |\n|---|---:|\n"
        for (label, n) in trackingActions(t, would: would) { md += "| \(label) | \(n) |\n" }
        md += "\n| | events |\n|---|---:|\n"
        for (label, n) in [("matched (to one or more shipments or orders)", t.eventsMatched), ("matches (event × shipment)", t.matches),
                           ("informational (code maps to no status)", t.informational),
                           ("stale (not newer than the shipment's last event)", t.stale), ("superseded by a later event", t.superseded),
                           ("new in the shipment event log", t.eventsLogged),
                           ("held (match nothing yet)", t.held), ("released (held earlier, matched now)", t.released),
                           ("released and rejected", t.releasedRejected), ("expired (held too long, dropped)", t.expired),
                           ("unknown shipment (rejected)", t.unknownShipment), ("ambiguous shipment (rejected)", t.ambiguousShipment)] {
            md += "| \(label) | \(n) |\n"
        }
        md += "\n### Per carrier\n\n| carrier | events | matched | stale | status changes |\n|---|---:|---:|---:|---:|\n"
        for (name, k) in t.byCarrier.sorted(by: { $0.key < $1.key }) {
            md += "| \(name) | \(k.events) | \(k.matched) | \(k.stale) | \(k.statusChanged) |\n"
        }
        md += "\n### Per mapped status\n\n| status | events | orders \(would)moved to it |\n|---|---:|---:|\n"
        for (name, k) in t.byStatus.sorted(by: { $0.key < $1.key }) {
            md += "| \(name) | \(k.events) | \(k.ordersChanged) |\n"
        }
        return md + "\n"
    }
}
