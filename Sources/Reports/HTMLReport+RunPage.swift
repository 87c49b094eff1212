import Foundation
import Pipeline

extension HTMLReport {
    /// What Templates/run.mustache shows of a `RunReport`, every value as text ready to escape.
    ///
    /// A nil field inside a section makes Mustache look the name up in the enclosing views, so
    /// optional fields of nested views are named unlike anything around them.
    struct RunPage {
        struct Tracking {
            struct Carrier {
                let carrier: String
                let events: Int
                let matched: Int
                let stale: Int
                let statusChanged: Int
            }

            let events: FigureTable
            let carriers: [Carrier]
        }

        struct Rejects {
            struct Reason {
                let reason: String
                let records: Int
                let examples: [String]
            }

            let reasonChart: BarChart?
            let reasons: [Reason]
            let rejectsFile: String?
        }

        struct Input {
            let name: String
            let format: String
            let bytes: Int64
            let sha256: String
        }

        /// The report's text fields (`report.runId`, …) go to the template as they are.
        let report: RunReport
        let outcome: String
        let finishedAt: String
        let actionChart: BarChart?
        let actions: FigureTable
        /// Orders runs only; tracking runs have `tracking` instead.
        let details: FigureTable?
        let tracking: Tracking?
        /// Nil when nothing was rejected.
        let rejects: Rejects?
        let inputs: [Input]
        let stageChart: BarChart?
        let stages: [StageRow]

        init(_ r: RunReport) {
            report = r
            outcome = r.outcome.rawValue
            finishedAt = r.finishedAt ?? "—"

            // Only an applied run did what its counts say; any other outcome reports what it would have done.
            let would = r.outcome == .applied ? "" : "would be "
            let actionRows: [FigureRow]
            if let t = r.tracking {
                actionRows = [
                    FigureRow("orders: status \(would)changed", key: "tracking.statusChanged", t.statusChanged),
                    FigureRow("orders: status kept", key: "tracking.statusKept", t.statusKept),
                    FigureRow("shipments \(would)added", key: "tracking.shipmentsAdded", t.shipmentsAdded),
                    FigureRow("shipments: status \(would)changed", key: "tracking.shipmentStatusChanged", t.shipmentStatusChanged),
                    FigureRow("status confirmed", key: "tracking.confirmed", t.confirmed),
                    FigureRow("illegal transition (rejected)", key: "tracking.illegalTransition", t.illegalTransition),
                ]
                details = nil
                tracking = Tracking(
                    events: FigureTable("events", "count", [
                        FigureRow("matched", key: "tracking.eventsMatched", t.eventsMatched),
                        FigureRow("held (match nothing yet)", key: "tracking.held", t.held),
                        FigureRow("released (held earlier)", key: "tracking.released", t.released),
                        FigureRow("expired", key: "tracking.expired", t.expired),
                        FigureRow("informational", key: "tracking.informational", t.informational),
                        FigureRow("stale", key: "tracking.stale", t.stale),
                        FigureRow("superseded", key: "tracking.superseded", t.superseded),
                        FigureRow("unknown shipment", key: "tracking.unknownShipment", t.unknownShipment),
                        FigureRow("ambiguous shipment", key: "tracking.ambiguousShipment", t.ambiguousShipment),
                    ]),
                    carriers: t.byCarrier.sorted { $0.key < $1.key }.map { name, c in
                        Tracking.Carrier(carrier: name, events: c.events, matched: c.matched, stale: c.stale, statusChanged: c.statusChanged)
                    })
            } else {
                let c = r.counts
                actionRows = [
                    FigureRow("\(would)created", key: "counts.created", c.created),
                    FigureRow("\(would)updated", key: "counts.updated", c.updated),
                    FigureRow("unchanged", key: "counts.unchanged", c.unchanged),
                    FigureRow("\(would)deleted (feed)", key: "counts.deleted", c.deleted),
                    FigureRow("\(would)deleted (mirror)", key: "counts.mirrorDeleted", c.mirrorDeleted),
                    FigureRow("rejected", key: "counts.rejectedOrders", c.rejectedOrders),
                ]
                details = FigureTable("of which / records", "count", [
                    FigureRow("status changed", key: "counts.statusChanged", c.statusChanged),
                    FigureRow("shipping updated", key: "counts.shippingChanged", c.shippingChanged),
                    FigureRow("line items changed", key: "counts.itemsChanged", c.itemsChanged),
                    FigureRow("other fields changed", key: "counts.otherChanged", c.otherChanged),
                    FigureRow("records read", key: "counts.recordsRead", c.recordsRead),
                    FigureRow("records accepted", key: "counts.recordsAccepted", c.recordsAccepted),
                    FigureRow("records rejected", key: "counts.recordsRejected", c.recordsRejected),
                    FigureRow("orders in the feed", key: "counts.orders", c.orders),
                ])
                tracking = nil
            }
            actionChart = FigureRow.chart(actionRows)
            actions = FigureTable("action", "orders", actionRows)

            // Most frequent first; ties by name so the page is the same on every render.
            let reasons = r.rejectsByReason.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            rejects = reasons.isEmpty ? nil : Rejects(
                reasonChart: BarChart(reasons.map { ($0.key, Double($0.value)) }, format: { String(Int($0)) }, color: "#c0392b"),
                reasons: reasons.map { reason, n in
                    Rejects.Reason(reason: reason, records: n, examples: (r.rejectExamples[reason] ?? []).prefix(3).map {
                        "\($0.input):\($0.line): \($0.message)"
                    })
                },
                rejectsFile: r.rejectsFile)
            inputs = r.inputs.map { Input(name: $0.name, format: $0.format, bytes: $0.bytes, sha256: $0.sha256) }
            stageChart = StageRow.chart(r.stages)
            stages = r.stages.map(StageRow.init)
        }
    }
}
