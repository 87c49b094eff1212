import Export
import Foundation

extension HTMLReport {
    /// What Templates/export.mustache shows of an `ExportReport`.
    ///
    /// As in `RunPage`, optional fields of nested views are named unlike anything around them:
    /// Mustache looks a nil one up in the enclosing views.
    struct ExportPage {
        struct Instants {
            let start: String
            let end: String
        }

        struct Filter {
            let filter: String
            let values: [String]
        }

        struct Output {
            let path: String
            let format: String
            let rows: Int
            let bytes: Int64
            let sha256: String
        }

        struct Ledger {
            let ledgerId: Int64
            /// "changes since export 12", "everything (the first incremental export)"; nil for a period export.
            let incrementalRange: String?
        }

        struct ControlGroup {
            let groupKey: String
            let groupRows: Int
            let groupUnits: Int
            let groupTotal: String
        }

        struct Control {
            let keyedBy: String
            let controlRows: Int
            let verdict: String
            let controlGroups: [ControlGroup]
        }

        struct History {
            let kindChart: BarChart?
            let kinds: FigureTable
            let dayChart: ColumnChart?
            let days: FigureTable
        }

        struct Shipments {
            let shipments: Int
            let itemized: Int
            let units: Int
            let withoutCarrierStatus: Int
            let carrierChart: BarChart?
            let byCarrierStatus: [ExportSummary.Shipments.CarrierStatus]
            let dayChart: ColumnChart?
            let byDay: [ExportSummary.Shipments.Day]
        }

        struct Totals {
            struct Currency {
                let currency: String
                let currencyChart: ColumnChart?
            }

            let orders: Int
            let units: Int
            let rows: Int
            let currencies: [Currency]
            let byCurrencyStatus: [ExportSummary.CurrencyStatus]
            let byDay: [ExportSummary.Day]
        }

        /// The report's text fields (`report.exportId`, …) go to the template as they are.
        let report: ExportReport
        let outcome: String
        let periodOn: String
        let timezone: String
        let periodFrom: String
        let periodTo: String
        /// Only when an end of the period resolved to an instant.
        let instants: Instants?
        /// Only the filters that restrict something.
        let filters: [Filter]
        let finishedAt: String
        let output: Output?
        let ledger: Ledger?
        let control: Control?
        /// History exports' summary.
        let history: History?
        /// Shipments exports' summary.
        let shipments: Shipments?
        /// Every other dataset's summary.
        let totals: Totals?
        let stageChart: BarChart?
        let stages: [StageRow]

        init(_ r: ExportReport) {
            report = r
            outcome = r.outcome.rawValue
            let p = r.period
            periodOn = p.on
            timezone = p.timezone
            periodFrom = p.from ?? "(open)"
            periodTo = p.to ?? "(open)"
            instants = p.fromInstant == nil && p.toInstant == nil ? nil : Instants(start: p.fromInstant ?? "−∞", end: p.toInstant ?? "+∞")
            filters = [("Status", r.filters.status), ("Source", r.filters.source), ("Customer", r.filters.customer)]
                .filter { !$0.1.isEmpty }.map { Filter(filter: $0.0, values: $0.1) }
            finishedAt = r.finishedAt ?? "—"
            output = r.output.map {
                Output(path: $0.path, format: $0.format + ($0.gzip ? ", gzip" : "") + ($0.bom ? ", BOM" : ""),
                       rows: $0.rows, bytes: $0.bytes, sha256: $0.sha256)
            }
            ledger = r.ledgerId.map { id in
                Ledger(ledgerId: id, incrementalRange: r.incremental.map { i in
                    i.sinceExport.map { "changes since export \($0)" } ?? "everything (the first incremental export)"
                })
            }
            control = r.control.map { c in
                Control(keyedBy: c.keyedBy, controlRows: c.rows, verdict: c.matched ? "equal to the file's" : "not checked",
                        controlGroups: c.groups.map { ControlGroup(groupKey: $0.key, groupRows: $0.rows, groupUnits: $0.units, groupTotal: $0.total) })
            }
            if let s = r.summary?.shipments {
                // Shipments per carrier over every status: the chart; the exact split follows.
                var perCarrier: [String: Int] = [:]
                for g in s.byCarrierStatus { perCarrier[g.carrier, default: 0] += g.shipments }
                shipments = Shipments(
                    shipments: s.shipments, itemized: s.itemized, units: s.units, withoutCarrierStatus: s.withoutCarrierStatus,
                    carrierChart: BarChart(perCarrier.sorted { $0.key < $1.key }.map { ($0.key, Double($0.value)) }, format: { String(Int($0)) }),
                    byCarrierStatus: s.byCarrierStatus,
                    dayChart: ColumnChart(s.byDay.map { ($0.day, Double($0.shipments)) }, format: { String(Int($0)) }),
                    byDay: s.byDay)
                history = nil
                totals = nil
            } else if let s = r.summary, r.dataset == "history" {
                shipments = nil
                let kinds = s.eventsByKind.sorted { $0.key < $1.key }.map { FigureRow($0.key, key: "eventsByKind.\($0.key)", $0.value) }
                let days = s.eventsByDay.sorted { $0.key < $1.key }.map { FigureRow($0.key, key: "eventsByDay.\($0.key)", $0.value) }
                history = History(kindChart: FigureRow.chart(kinds), kinds: FigureTable("kind", "events", kinds),
                                  dayChart: ColumnChart(days.map { ($0.label, Double($0.value)) }, format: { String(Int($0)) }),
                                  days: FigureTable("day", "events", days))
                totals = nil
            } else if let s = r.summary {
                shipments = nil
                history = nil
                totals = Totals(
                    orders: s.orders, units: s.units, rows: s.rows,
                    currencies: Set(s.byDay.map(\.currency)).sorted().map { currency in
                        let days = s.byDay.filter { $0.currency == currency }
                        return Totals.Currency(currency: currency, currencyChart: ColumnChart(
                            days.map { ($0.day, Double($0.total) ?? 0) }, format: { String(format: "%.2f", $0) }))
                    },
                    byCurrencyStatus: s.byCurrencyStatus, byDay: s.byDay)
            } else {
                shipments = nil
                history = nil
                totals = nil
            }
            stageChart = StageRow.chart(r.stages)
            stages = r.stages.map(StageRow.init)
        }
    }
}
