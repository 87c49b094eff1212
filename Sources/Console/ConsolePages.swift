import Export
import Foundation
import Mustache
import OrderModel
import OrderStore
import Pipeline
import Reports
import RunSupport

/// The console's HTML. Views hold plain text, which the templates (Templates/*.mustache) escape;
/// the one unescaped value is a report body from `HTMLReport`, whose own templates escaped it.
enum ConsolePages {
    /// What the frame shows: the navigation (when signed in) and which entry is current.
    struct Chrome {
        let signedIn: Bool
        /// A sign-out button only makes sense when there is a login.
        let canSignOut: Bool
        // Stored, not computed: templates see a view's stored properties only.
        let runsCurrent: Bool
        let ordersCurrent: Bool
        let exportsCurrent: Bool
        /// The stylesheet's URL names its content, so a browser never keeps an old one after an upgrade.
        let stylesheet = ConsolePages.stylesheetPath

        init(signedIn: Bool, canSignOut: Bool, section: String) {
            self.signedIn = signedIn
            self.canSignOut = canSignOut
            runsCurrent = section == "runs"
            ordersCurrent = section == "orders"
            exportsCurrent = section == "exports"
        }
    }

    struct Login {
        let chrome: Chrome
        let next: String
        let error: String?
        let notice: String?
    }

    struct Choice {
        let value: String
        let label: String
        let selected: Bool
    }

    struct Runs {
        struct Row {
            let href: String
            let key: String
            let started: String
            let pipeline: String
            let kind: String
            let status: String
            let inputs: String
            let inputsFull: String
            let records: String
            let rejected: String
            let created: String
            let updated: String
            let deleted: String
            let duration: String
            let message: String?
        }

        struct Chart {
            let pipeline: String
            let records: String
            let rejected: String
            let duration: String
            let totalRecords: Int
            let totalRejected: Int
            let nights: Int
        }

        let chrome: Chrome
        let pipelines: [Choice]
        let outcomes: [Choice]
        let kinds: [Choice]
        let fromDay: String
        let toDay: String
        let charts: [Chart]
        let sinceDay: String
        let rows: [Row]
        let older: String?
        let newest: String?
    }

    struct RunPage {
        struct Download {
            let href: String
            let name: String
        }

        let chrome: Chrome
        let title: String
        let body: String?
        let summary: String?
        let downloads: [Download]
        let missing: [String]
    }

    struct ExportPage {
        let chrome: Chrome
        let title: String
        let body: String
        let download: String?
        let downloadName: String
        let missing: String?
        let id: Int64
    }

    struct Exports {
        struct Row {
            let href: String
            let key: String
            let id: Int64
            let finished: String
            let pipeline: String
            let dataset: String
            let format: String
            let status: String
            let rows: String
            let bytes: String
            let sha256: String
            let totals: String
        }

        let chrome: Chrome
        let pipelines: [Choice]
        let rows: [Row]
        let older: String?
        let newest: String?
    }

    struct Lookup {
        struct Row {
            let href: String
            let id: String
            let source: String
            let externalRef: String
            let customer: String
            let status: String
            let created: String
        }

        let chrome: Chrome
        let query: String
        let rows: [Row]
        let searched: Bool
        let limited: Bool
    }

    struct OrderPage {
        struct Line {
            let lineNo: Int
            let product: String
            let quantity: Int
            let unitPrice: String
        }

        struct ShipmentRow {
            let id: Int64
            let carrier: String
            let trackingNumber: String
            let status: String
            let shipped: String
            let delivered: String
            let attempts: Int
            let exception: String
            let lines: String
            let source: String
        }

        struct Event {
            let at: String
            let what: String
            let detail: String
            let origin: String
            let sourceLabel: String
            let sourceHref: String?
        }

        let chrome: Chrome
        let id: String
        let source: String
        let externalRef: String
        let customer: String
        let status: String
        let currency: String
        let total: String
        let created: String
        let updated: String
        let lines: [Line]
        let shipments: [ShipmentRow]
        let events: [Event]
    }

    struct ErrorPage {
        let chrome: Chrome
        let status: Int
        let title: String
        let message: String
    }

    // MARK: Rendering

    static let templates: MustacheLibrary = {
        let sources: [(name: String, bytes: [UInt8])] = [
            ("console-page", PackageResources.console_page_mustache),
            ("login", PackageResources.login_mustache),
            ("runs", PackageResources.runs_mustache),
            ("run", PackageResources.run_mustache),
            ("exports", PackageResources.exports_mustache),
            ("export", PackageResources.export_mustache),
            ("orders", PackageResources.orders_mustache),
            ("order", PackageResources.order_mustache),
            ("error", PackageResources.error_mustache),
        ]
        return HTMLReport.library(sources, in: "Console")
    }()

    static func render(_ view: Any, _ template: String) -> String {
        guard let html = templates.render(view, withTemplate: template) else { fatalError("no template \(template).mustache") }
        return html
    }

    /// The one stylesheet: the reports' rules and the console's own.
    static let stylesheet = HTMLReport.stylesheet + "\n" + String(decoding: PackageResources.console_css, as: UTF8.self)
    static let stylesheetPath = "/console/console.css?v=" + ContentHash.sha256Hex(stylesheet.utf8).prefix(12)

    // MARK: Formatting

    /// `2026-12-03 17:04:05` (UTC, seconds): what a person compares with a log line.
    static func time(_ t: Timestamp?) -> String {
        guard let t else { return "" }
        let text = t.description
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        return String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60)
    }

    static func number(_ n: Int?) -> String { n.map(String.init) ?? "" }

    static func totals(_ t: ControlTotals?) -> String {
        guard let t else { return "" }
        if t.keyedBy == "currency" {
            return t.groups.map { "\($0.key) \($0.total)" }.joined(separator: " · ")
        }
        return t.groups.map { "\($0.key): \($0.rows)" }.joined(separator: " · ")
    }
}

// Lookups by name instead of Mirror for the views a page repeats 50 times (see HTMLReport's charts).
extension ConsolePages.Runs.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "href": href
        case "key": key
        case "started": started
        case "pipeline": pipeline
        case "kind": kind
        case "status": status
        case "inputs": inputs
        case "inputsFull": inputsFull
        case "records": records
        case "rejected": rejected
        case "created": created
        case "updated": updated
        case "deleted": deleted
        case "duration": duration
        case "message": message
        default: nil
        }
    }
}

extension ConsolePages.Exports.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "href": href
        case "key": key
        case "id": id
        case "finished": finished
        case "pipeline": pipeline
        case "dataset": dataset
        case "format": format
        case "status": status
        case "rows": rows
        case "bytes": bytes
        case "sha256": sha256
        case "totals": totals
        default: nil
        }
    }
}
