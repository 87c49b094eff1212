import Export
import Foundation
import Mustache
import Pipeline

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external assets)
/// that opens anywhere, including from a mail attachment.
///
/// Every figure sits in an element with a `data-key` naming its place in report.json, so a test
/// (or a reader) can check the page against the JSON.
///
/// The markup is in Templates/*.mustache; the views handed to them hold plain text, which the
/// templates HTML-escape (`{{…}}`), since report values may come from feeds.
public enum HTMLReport {
    /// The page of an import run: outcome, counts per action and per reject reason, stage timings.
    public static func run(_ r: RunReport) -> String {
        render(RunPage(r), with: "run")
    }

    /// The page of an export: the file, totals by currency × status, totals by day, timings.
    public static func export(_ r: ExportReport) -> String {
        render(ExportPage(r), with: "export")
    }

    /// The run page's content without the frame, for pages that have their own (the console).
    public static func runBody(_ r: RunReport) -> String {
        render(RunPage(r), with: "run-body")
    }

    /// The export page's content without the frame.
    public static func exportBody(_ r: ExportReport) -> String {
        render(ExportPage(r), with: "export-body")
    }

    /// The CSS report.html inlines, for pages that link a stylesheet instead.
    public static var stylesheet: String { String(decoding: PackageResources.report_css_mustache, as: UTF8.self) }

    /// A small column chart (inline SVG, labels escaped) of one value per day; empty for no items.
    public static func smallColumnChart(_ items: [(label: String, value: Double)], format: (Double) -> String, color: String) -> String {
        guard let chart = ColumnChart(items.map { ($0.label, $0.value) }, format: format, color: color, plotHeight: 30, maxStep: 5, ticks: false) else {
            return ""
        }
        return chart.svg
    }

    /// Parsed once.
    static let templates: MustacheLibrary = {
        let sources: [(name: String, bytes: [UInt8])] = [
            ("page", PackageResources.page_mustache),
            ("run", PackageResources.run_mustache),
            ("run-body", PackageResources.run_body_mustache),
            ("export", PackageResources.export_mustache),
            ("export-body", PackageResources.export_body_mustache),
            ("report-css", PackageResources.report_css_mustache),
            ("figures", PackageResources.figures_mustache),
            ("stages", PackageResources.stages_mustache),
            ("bar-chart", PackageResources.bar_chart_mustache),
        ]
        return library(sources, in: "Reports")
    }()

    /// A library of templates compiled into a module's binary (`.embedInCode`): one that does not
    /// parse is a bug in that module, caught by its first page, not something a user can cause.
    public static func library(_ sources: [(name: String, bytes: [UInt8])], in module: String) -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, bytes) in sources {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                fatalError("\(module)/Templates/\(name).mustache does not parse: \(error)")
            }
        }
        return library
    }

    static func render(_ view: Any, with template: String) -> String {
        guard let html = templates.render(view, withTemplate: template) else {
            fatalError("no template \(template).mustache")
        }
        return html
    }

    // MARK: - Pieces both pages use

    /// One figure in a two-column table (Templates/figures.mustache).
    struct FigureRow {
        let label: String
        /// Where report.json has the figure.
        let key: String
        let value: Int

        init(_ label: String, key: String, _ value: Int) {
            self.label = label
            self.key = key
            self.value = value
        }

        static func chart(_ rows: [FigureRow]) -> BarChart? {
            BarChart(rows.map { ($0.label, Double($0.value)) }, format: { String(Int($0)) })
        }
    }

    struct FigureTable {
        let labelHeading: String
        let figureHeading: String
        let rows: [FigureRow]

        init(_ labelHeading: String, _ figureHeading: String, _ rows: [FigureRow]) {
            self.labelHeading = labelHeading
            self.figureHeading = figureHeading
            self.rows = rows
        }
    }

    /// One line of Templates/stages.mustache; numbers formatted as report.json rounds them.
    struct StageRow {
        let name: String
        let seconds: String
        let rows: Int
        let rowsPerSecond: String

        init(_ stage: RunReport.Stage) {
            name = stage.name
            seconds = String(format: "%.3f", stage.seconds)
            rows = stage.rows
            rowsPerSecond = String(format: "%.0f", stage.rowsPerSecond)
        }

        static func chart(_ stages: [RunReport.Stage]) -> BarChart? {
            BarChart(stages.map { ($0.name, $0.seconds) }, format: { String(format: "%.3f s", $0) }, color: "#8e44ad")
        }
    }
}
