import Foundation
import Mustache

// The charts' geometry is worked out here. A bar chart's markup is in Templates/bar-chart.mustache,
// escaped by the template like every other value. A column chart's is written by `svg` below,
// escaping its texts itself: it has an element per day, and the console draws 27 of them on a
// page, where Mustache's reflection per `{{…}}` took most of the page's time.
extension HTMLReport {
    /// Horizontal bars, one per label; lengths relative to the largest value.
    struct BarChart {
        struct Bar {
            let label: String
            let value: String
            let textY: Int
            let rectY: Int
            let length: Int
            let valueX: Int
        }

        let width: Int
        let height: Int
        let labelX: Int
        let barX: Int
        let barHeight: Int
        let color: String
        let bars: [Bar]

        /// Nil for no items: an empty chart is left out rather than drawn as a blank box.
        init?(_ items: [(String, Double)], format: (Double) -> String, color: String = "#2e86de") {
            guard !items.isEmpty else { return nil }
            let rowHeight = 24, labelWidth = 220, barSpace = 420
            let top = max(items.map(\.1).max() ?? 0, 1e-9)
            width = labelWidth + barSpace + 110
            height = items.count * rowHeight + 8
            labelX = labelWidth - 8
            barX = labelWidth
            barHeight = rowHeight - 6
            self.color = color
            bars = items.enumerated().map { i, item in
                let y = 4 + i * rowHeight
                let length = item.1 > 0 ? max(2, Int((item.1 / top) * Double(barSpace))) : 0
                return Bar(label: item.0, value: format(item.1), textY: y + 16, rectY: y + 3, length: length,
                           valueX: labelWidth + length + 6)
            }
        }
    }

    /// Vertical columns along a time axis (days), labelled at the ends and every seventh day.
    struct ColumnChart {
        struct Column {
            let label: String
            let value: String
            let x: Int
            let y: Int
            let height: Int
            /// Whether the label is written under the axis; every day's would overlap.
            let tick: Bool
        }

        let width: Int
        let height: Int
        let left: Int
        let axisY: Int
        let axisEnd: Int
        let scaleX: Int
        let tickY: Int
        let top: String
        let columnWidth: Int
        let color: String
        let columns: [Column]

        /// Nil for no items, as for `BarChart`.
        init?(_ items: [(String, Double)], format: (Double) -> String, color: String = "#27ae60",
              plotHeight: Int = 200, maxStep: Int = 40, ticks: Bool = true) {
            guard !items.isEmpty else { return nil }
            let left = ticks ? 90 : 40, bottom = ticks ? 40 : 6
            let step = max(min(6, maxStep), min(maxStep, 900 / items.count))
            let top = max(items.map(\.1).max() ?? 0, 1e-9)
            width = left + items.count * step + (ticks ? 80 : 10)
            height = plotHeight + bottom + 10
            self.left = left
            axisY = plotHeight + 5
            axisEnd = width - 10
            scaleX = left - 6
            tickY = plotHeight + 24
            self.top = format(top)
            columnWidth = max(step - 2, 2)
            self.color = color
            columns = items.enumerated().map { i, item in
                let h = item.1 > 0 ? max(1, Int((item.1 / top) * Double(plotHeight - 10))) : 0
                return Column(label: item.0, value: format(item.1), x: left + i * step + 1, y: plotHeight + 5 - h, height: h,
                              tick: ticks && (i == 0 || i == items.count - 1 || i % 7 == 0))
            }
        }
    }
}

// Lookups by name instead of Mirror: a chart has hundreds of bars or columns, and a Mirror per
// `{{…}}` made the console's runs page (24 small charts) spend most of its time in reflection.
extension HTMLReport.BarChart: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "width": width
        case "height": height
        case "labelX": labelX
        case "barX": barX
        case "barHeight": barHeight
        case "color": color
        case "bars": bars
        default: nil
        }
    }
}

extension HTMLReport.BarChart.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "value": value
        case "textY": textY
        case "rectY": rectY
        case "length": length
        case "valueX": valueX
        default: nil
        }
    }
}

extension HTMLReport.ColumnChart: MustacheParent {
    /// Templates place a column chart with `{{{svg}}}`.
    func child(named name: String) -> Any? { name == "svg" ? svg : nil }

    /// The chart as inline SVG: an axis, the scale's top and 0, a column per item with its label
    /// and value as a tooltip, and the ticked labels under the axis.
    var svg: String {
        let e = HTMLText.escaped
        var out = #"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" role="img">"#
        out += ##"<line x1="\##(left)" y1="\##(axisY)" x2="\##(axisEnd)" y2="\##(axisY)" stroke="#555"/>"##
        out += #"<text x="\#(scaleX)" y="16" text-anchor="end">\#(e(top))</text><text x="\#(scaleX)" y="\#(axisY)" text-anchor="end">0</text>"#
        for c in columns {
            out += #"<rect x="\#(c.x)" y="\#(c.y)" width="\#(columnWidth)" height="\#(c.height)" fill="\#(color)"><title>\#(e(c.label)): \#(e(c.value))</title></rect>"#
            if c.tick { out += #"<text x="\#(c.x)" y="\#(tickY)" font-size="11">\#(e(c.label))</text>"# }
        }
        return out + "</svg>"
    }
}

/// Text for HTML: the five characters that could end an element or an attribute, as entities
/// (what Mustache's `{{…}}` does, for the markup written outside a template).
public enum HTMLText {
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
