import Export
import Foundation
import Pipeline

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external assets)
/// that opens anywhere, including from a mail attachment.
///
/// Every figure sits in an element with a `data-key` naming its place in report.json, so a test
/// (or a reader) can check the page against the JSON.
public enum HTMLReport {
    /// The page of an import run: outcome, counts per action and per reject reason, stage timings.
    public static func run(_ r: RunReport) -> String {
        let c = r.counts
        let would = r.outcome == .applied ? "" : "would be "
        var body = "<h1>orderflow run <code>\(esc(r.runId))</code></h1>\n"
        body += "<p class=\"outcome \(esc(r.outcome.rawValue))\">Outcome: <b data-key=\"outcome\">\(esc(r.outcome.rawValue))</b>"
        if let m = r.message { body += " — \(esc(m))" }
        body += "</p>\n<ul>"
        body += "<li>Pipeline <code>\(esc(r.pipeline))</code> (\(esc(r.kind)), mode \(esc(r.mode)), source <code>\(esc(r.source))</code>) from <code>\(esc(r.pipelineFile))</code></li>"
        body += "<li>Database <code>\(esc(r.database))</code></li>"
        body += "<li>Started \(esc(r.startedAt)), finished \(esc(r.finishedAt ?? "—"))</li></ul>\n"

        if let t = r.tracking {
            body += trackingSection(t, would: would)
        } else {
            let actions: [(String, String, Int)] = [
                ("\(would)created", "counts.created", c.created), ("\(would)updated", "counts.updated", c.updated),
                ("unchanged", "counts.unchanged", c.unchanged), ("\(would)deleted (feed)", "counts.deleted", c.deleted),
                ("\(would)deleted (mirror)", "counts.mirrorDeleted", c.mirrorDeleted), ("rejected", "counts.rejectedOrders", c.rejectedOrders),
            ]
            body += "<h2>Orders per action</h2>\n"
            body += barChart(actions.map { ($0.0, Double($0.2)) }, format: { String(Int($0)) })
            body += table(["action", "orders"], actions.map { [esc($0.0), num($0.2, key: $0.1)] })
            let details: [(String, String, Int)] = [
                ("status changed", "counts.statusChanged", c.statusChanged), ("shipping updated", "counts.shippingChanged", c.shippingChanged),
                ("line items changed", "counts.itemsChanged", c.itemsChanged), ("other fields changed", "counts.otherChanged", c.otherChanged),
                ("records read", "counts.recordsRead", c.recordsRead), ("records accepted", "counts.recordsAccepted", c.recordsAccepted),
                ("records rejected", "counts.recordsRejected", c.recordsRejected), ("orders in the feed", "counts.orders", c.orders),
            ]
            body += table(["of which / records", "count"], details.map { [esc($0.0), num($0.2, key: $0.1)] })
        }
        body += "<h2>Rejected records per reason</h2>\n"
        let reasons = r.rejectsByReason.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        if reasons.isEmpty {
            body += "<p>None.</p>\n"
        } else {
            body += barChart(reasons.map { ($0.key, Double($0.value)) }, format: { String(Int($0)) }, color: "#c0392b")
            body += table(["reason", "records", "examples"], reasons.map { reason, n in
                let examples = (r.rejectExamples[reason] ?? []).prefix(3).map { esc("\($0.input):\($0.line): \($0.message)") }
                return ["<code>\(esc(reason))</code>", num(n, key: "rejectsByReason.\(reason)"), examples.joined(separator: "<br>")]
            })
            if let f = r.rejectsFile { body += "<p>All rejected records: <code>\(esc(f))</code></p>\n" }
        }
        body += "<h2>Inputs</h2>\n"
        body += table(["input", "format", "bytes", "sha256"], r.inputs.map {
            ["<code>\(esc($0.name))</code>", esc($0.format), String($0.bytes), "<code>\(esc($0.sha256))</code>"]
        })
        body += stagesSection(r.stages)
        return page(title: "orderflow run \(r.runId)", body: body)
    }

    /// The page of an export: the file, totals by currency × status, totals by day, timings.
    public static func export(_ r: ExportReport) -> String {
        var body = "<h1>orderflow export <code>\(esc(r.exportId))</code></h1>\n"
        body += "<p class=\"outcome \(esc(r.outcome.rawValue))\">Outcome: <b data-key=\"outcome\">\(esc(r.outcome.rawValue))</b>"
        if let m = r.message { body += " — \(esc(m))" }
        body += "</p>\n<ul>"
        body += "<li>Pipeline <code>\(esc(r.pipeline))</code> from <code>\(esc(r.pipelineFile))</code>, dataset <b>\(esc(r.dataset))</b></li>"
        body += "<li>Database <code>\(esc(r.database))</code></li>"
        let p = r.period
        body += "<li>Period on \(esc(p.on)) time, half-open [from, to), zone \(esc(p.timezone)): \(esc(p.from ?? "(open)")) to \(esc(p.to ?? "(open)"))"
        if p.fromInstant != nil || p.toInstant != nil { body += " = [\(esc(p.fromInstant ?? "−∞")), \(esc(p.toInstant ?? "+∞")))" }
        body += "</li>"
        for (name, values) in [("Status", r.filters.status), ("Source", r.filters.source), ("Customer", r.filters.customer)] where !values.isEmpty {
            body += "<li>\(name): \(values.map(esc).joined(separator: ", "))</li>"
        }
        body += "<li>Started \(esc(r.startedAt)), finished \(esc(r.finishedAt ?? "—"))</li></ul>\n"
        if let o = r.output {
            body += "<h2>File</h2>\n"
            body += table(["path", "format", "rows", "bytes", "sha256"], [[
                "<code>\(esc(o.path))</code>", esc(o.format + (o.gzip ? ", gzip" : "") + (o.bom ? ", BOM" : "")),
                num(o.rows, key: "output.rows"), num(Int(o.bytes), key: "output.bytes"),
                "<code data-key=\"output.sha256\">\(esc(o.sha256))</code>",
            ]])
        }
        if let s = r.summary {
            if r.dataset == "history" {
                body += "<h2>Events by kind</h2>\n"
                let kinds = s.eventsByKind.sorted { $0.key < $1.key }
                body += barChart(kinds.map { ($0.key, Double($0.value)) }, format: { String(Int($0)) })
                body += table(["kind", "events"], kinds.map { [esc($0.key), num($0.value, key: "eventsByKind.\($0.key)")] })
                body += "<h2>Events by day (\(esc(p.timezone)))</h2>\n"
                let days = s.eventsByDay.sorted { $0.key < $1.key }
                body += columnChart(days.map { ($0.key, Double($0.value)) }, format: { String(Int($0)) })
                body += table(["day", "events"], days.map { [esc($0.key), num($0.value, key: "eventsByDay.\($0.key)")] })
            } else {
                // The charts first: they are what a reader looks at; the exact figures follow.
                body += "<h2>Totals</h2>\n<p><b data-key=\"summary.orders\">\(s.orders)</b> orders, "
                body += "<b data-key=\"summary.units\">\(s.units)</b> units in <b data-key=\"summary.rows\">\(s.rows)</b> rows.</p>\n"
                for currency in Array(Set(s.byDay.map(\.currency))).sorted() {
                    let days = s.byDay.filter { $0.currency == currency }
                    body += "<h3>\(esc(currency)) by day (\(esc(p.timezone)))</h3>\n"
                    body += columnChart(days.map { ($0.day, Double($0.total) ?? 0) }, format: { String(format: "%.2f", $0) })
                }
                body += "<h3>By currency and status</h3>\n"
                body += table(["currency", "status", "orders", "units", "total"], s.byCurrencyStatus.map { g in
                    let k = "byCurrencyStatus.\(g.currency).\(g.status)"
                    return [esc(g.currency), esc(g.status), num(g.orders, key: "\(k).orders"), num(g.units, key: "\(k).units"),
                            "<span data-key=\"\(esc(k)).total\">\(esc(g.total))</span>"]
                })
                body += "<h3>By day (\(esc(p.timezone)))</h3>\n"
                body += table(["day", "currency", "orders", "units", "total"], s.byDay.map { d in
                    let k = "byDay.\(d.day).\(d.currency)"
                    return [esc(d.day), esc(d.currency), num(d.orders, key: "\(k).orders"), num(d.units, key: "\(k).units"),
                            "<span data-key=\"\(esc(k)).total\">\(esc(d.total))</span>"]
                })
            }
        }
        body += stagesSection(r.stages)
        return page(title: "orderflow export \(r.exportId)", body: body)
    }

    /// A tracking run: what its events did to orders, what happened to the events, per carrier.
    static func trackingSection(_ t: RunReport.TrackingCounts, would: String) -> String {
        let actions: [(String, String, Int)] = [
            ("status \(would)changed", "tracking.statusChanged", t.statusChanged),
            ("shipping info \(would)set", "tracking.shippingUpdated", t.shippingUpdated),
            ("status confirmed", "tracking.confirmed", t.confirmed),
            ("illegal transition (rejected)", "tracking.illegalTransition", t.illegalTransition),
        ]
        var html = "<h2>Orders per action</h2>\n"
        html += barChart(actions.map { ($0.0, Double($0.2)) }, format: { String(Int($0)) })
        html += table(["action", "orders"], actions.map { [esc($0.0), num($0.2, key: $0.1)] })
        let events: [(String, String, Int)] = [
            ("matched one order", "tracking.eventsMatched", t.eventsMatched), ("informational", "tracking.informational", t.informational),
            ("stale", "tracking.stale", t.stale), ("superseded", "tracking.superseded", t.superseded),
            ("unknown shipment", "tracking.unknownShipment", t.unknownShipment), ("ambiguous shipment", "tracking.ambiguousShipment", t.ambiguousShipment),
        ]
        html += "<h2>Events</h2>\n" + table(["events", "count"], events.map { [esc($0.0), num($0.2, key: $0.1)] })
        let carriers = t.byCarrier.sorted { $0.key < $1.key }
        if !carriers.isEmpty {
            html += table(["carrier", "events", "matched", "stale", "status changed"], carriers.map { name, c in
                let k = "tracking.byCarrier.\(name)"
                return [esc(name), num(c.events, key: "\(k).events"), num(c.matched, key: "\(k).matched"),
                        num(c.stale, key: "\(k).stale"), num(c.statusChanged, key: "\(k).statusChanged")]
            })
        }
        return html
    }

    // MARK: - Pieces

    static func stagesSection(_ stages: [RunReport.Stage]) -> String {
        var html = "<h2>Stage timings</h2>\n"
        html += barChart(stages.map { ($0.name, $0.seconds) }, format: { String(format: "%.3f s", $0) }, color: "#8e44ad")
        html += table(["stage", "seconds", "rows", "rows/s"], stages.map {
            [esc($0.name), "<span data-key=\"stages.\(esc($0.name)).seconds\">\(String(format: "%.3f", $0.seconds))</span>",
             String($0.rows), String(format: "%.0f", $0.rowsPerSecond)]
        })
        return html
    }

    static func num(_ n: Int, key: String) -> String {
        "<span data-key=\"\(esc(key))\">\(n)</span>"
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var html = "<table><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        // Figures (cells holding a data-key) are right-aligned.
        for row in rows { html += "<tr>" + row.map { $0.contains("data-key") ? "<td class=\"n\">\($0)</td>" : "<td>\($0)</td>" }.joined() + "</tr>\n" }
        return html + "</tbody></table>\n"
    }

    /// Horizontal bars, one per label; lengths relative to the largest value.
    static func barChart(_ items: [(String, Double)], format: (Double) -> String, color: String = "#2e86de") -> String {
        guard !items.isEmpty else { return "" }
        let rowHeight = 24, labelWidth = 220, barSpace = 420, width = labelWidth + barSpace + 110
        let height = items.count * rowHeight + 8
        let top = max(items.map(\.1).max() ?? 0, 1e-9)
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\">"
        for (i, (label, value)) in items.enumerated() {
            let y = 4 + i * rowHeight
            let w = value > 0 ? max(2, Int((value / top) * Double(barSpace))) : 0
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 16)\" text-anchor=\"end\">\(esc(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 16)\">\(esc(format(value)))</text>"
        }
        return svg + "</svg>\n"
    }

    /// Vertical columns along a time axis (days), labelled at the ends and every seventh day.
    static func columnChart(_ items: [(String, Double)], format: (Double) -> String, color: String = "#27ae60") -> String {
        guard !items.isEmpty else { return "" }
        let plotHeight = 200, left = 90, bottom = 40
        let step = max(6, min(40, 900 / items.count))
        let width = left + items.count * step + 80, height = plotHeight + bottom + 10
        let top = max(items.map(\.1).max() ?? 0, 1e-9)
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\">"
        svg += "<line x1=\"\(left)\" y1=\"\(plotHeight + 5)\" x2=\"\(width - 10)\" y2=\"\(plotHeight + 5)\" stroke=\"#555\"/>"
        svg += "<text x=\"\(left - 6)\" y=\"16\" text-anchor=\"end\">\(esc(format(top)))</text>"
        svg += "<text x=\"\(left - 6)\" y=\"\(plotHeight + 5)\" text-anchor=\"end\">0</text>"
        for (i, (label, value)) in items.enumerated() {
            let h = value > 0 ? max(1, Int((value / top) * Double(plotHeight - 10))) : 0
            let x = left + i * step + 1
            svg += "<rect x=\"\(x)\" y=\"\(plotHeight + 5 - h)\" width=\"\(max(step - 2, 2))\" height=\"\(h)\" fill=\"\(color)\"><title>\(esc(label)): \(esc(format(value)))</title></rect>"
            if i == 0 || i == items.count - 1 || i % 7 == 0 {
                svg += "<text x=\"\(x)\" y=\"\(plotHeight + 24)\" font-size=\"11\">\(esc(label))</text>"
            }
        }
        return svg + "</svg>\n"
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px; color: #222; background: #fff; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f2f2f2; }
        .outcome { font-size: 16px; } .applied, .exported { color: #1e8449; } .failed, .aborted, .cancelled { color: #c0392b; }
        svg.chart { display: block; margin: 8px 0; font-size: 12px; } svg text { fill: #333; }
        code { font-size: 12px; }
        </style></head>
        <body>
        \(body)
        </body></html>

        """
    }

    /// HTML text escaping; report values may come from feeds.
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
