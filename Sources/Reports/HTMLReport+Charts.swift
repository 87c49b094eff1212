import Foundation
import Mustache

// The charts' geometry is worked out here and their markup is in Templates/bar-chart.mustache and
// Templates/column-chart.mustache, so labels (reject reasons, event kinds, stage names) are
// escaped by the template like every other value.
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
    func child(named name: String) -> Any? {
        switch name {
        case "width": width
        case "height": height
        case "left": left
        case "axisY": axisY
        case "axisEnd": axisEnd
        case "scaleX": scaleX
        case "tickY": tickY
        case "top": top
        case "columnWidth": columnWidth
        case "color": color
        case "columns": columns
        default: nil
        }
    }
}

extension HTMLReport.ColumnChart.Column: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "value": value
        case "x": x
        case "y": y
        case "height": height
        case "tick": tick
        default: nil
        }
    }
}
