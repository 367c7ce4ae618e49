/// The page's charts as inline SVG: stacked columns over time, lines over time, and bars.
/// Every mark carries a `<title>`, so hovering says its numbers without any script.
enum SVGChart {
    struct Series {
        var name: String
        var color: String
        var values: [Double]
    }

    static let width = 960.0, height = 220.0
    static let left = 64.0, right = 12.0, top = 10.0, bottom = 28.0

    /// Columns per time bin, series stacked; `times` are the bins' starts and one more for the end.
    static func stackedColumns(_ series: [Series], times: [Int64], unit: String, id: String) -> String {
        let bins = max(0, times.count - 1)
        guard bins > 0 else { return empty(id) }
        let totals = (0..<bins).map { i in series.reduce(0) { $0 + ($1.values.indices.contains(i) ? $1.values[i] : 0) } }
        let maxY = niceCeiling(totals.max() ?? 0)
        var svg = open(id)
        svg += axes(maxY: maxY, unit: unit, times: times)
        let plotW = width - left - right, plotH = height - top - bottom
        let columnW = plotW / Double(bins)
        for i in 0..<bins {
            var y = top + plotH
            for s in series where s.values.indices.contains(i) && s.values[i] > 0 {
                let h = s.values[i] / maxY * plotH
                y -= h
                svg += #"<rect x="\#(f(left + Double(i) * columnW))" y="\#(f(y))" width="\#(f(max(columnW - 0.5, 0.5)))" height="\#(f(h))" fill="\#(s.color)">"#
                svg += "<title>\(HTMLText.escaped(s.name)): \(HTMLText.number(s.values[i])) \(unit) at \(HTMLText.utc(times[i]))</title></rect>"
            }
        }
        return svg + legend(series) + "</svg>"
    }

    /// One polyline per series over the same time bins.
    static func lines(_ series: [Series], times: [Int64], unit: String, id: String) -> String {
        let bins = max(0, times.count - 1)
        guard bins > 0 else { return empty(id) }
        let maxY = niceCeiling(series.flatMap(\.values).max() ?? 0)
        var svg = open(id)
        svg += axes(maxY: maxY, unit: unit, times: times)
        let plotW = width - left - right, plotH = height - top - bottom
        let columnW = plotW / Double(bins)
        for s in series {
            let points = s.values.prefix(bins).enumerated().map { i, v in
                "\(f(left + (Double(i) + 0.5) * columnW)),\(f(top + plotH - v / maxY * plotH))"
            }
            svg += #"<polyline fill="none" stroke="\#(s.color)" stroke-width="1.5" points="\#(points.joined(separator: " "))">"#
            svg += "<title>\(HTMLText.escaped(s.name)): max \(HTMLText.number(s.values.max() ?? 0))</title></polyline>"
        }
        return svg + legend(series) + "</svg>"
    }

    /// Bars with their labels under them (a histogram's buckets).
    static func bars(_ labels: [String], _ values: [Double], unit: String, id: String, color: String = "#3b6ea8") -> String {
        guard !values.isEmpty, values.contains(where: { $0 > 0 }) else { return empty(id) }
        let maxY = niceCeiling(values.max() ?? 0)
        var svg = open(id)
        let plotW = width - left - right, plotH = height - top - bottom
        svg += yAxis(maxY: maxY, unit: unit)
        let w = plotW / Double(values.count)
        for (i, v) in values.enumerated() {
            let h = v / maxY * plotH
            let x = left + Double(i) * w
            svg += #"<rect x="\#(f(x + 1))" y="\#(f(top + plotH - h))" width="\#(f(max(w - 2, 1)))" height="\#(f(h))" fill="\#(color)">"#
            svg += "<title>\(HTMLText.escaped(labels[i])): \(HTMLText.number(v))</title></rect>"
            if values.count <= 24 || i % 2 == 0 {
                svg += #"<text x="\#(f(x + w / 2))" y="\#(f(height - 8))" class="tick" text-anchor="middle">\#(HTMLText.escaped(labels[i]))</text>"#
            }
        }
        return svg + "</svg>"
    }

    private static func open(_ id: String) -> String {
        #"<svg id="\#(id)" class="chart" viewBox="0 0 \#(Int(width)) \#(Int(height))" xmlns="http://www.w3.org/2000/svg" role="img">"#
    }

    private static func empty(_ id: String) -> String {
        open(id) + #"<text x="\#(width / 2)" y="\#(height / 2)" text-anchor="middle" class="none">nothing in this range</text></svg>"#
    }

    private static func axes(maxY: Double, unit: String, times: [Int64]) -> String {
        var svg = yAxis(maxY: maxY, unit: unit)
        let plotW = width - left - right
        let span = max(1, (times.last ?? 0) - (times.first ?? 0))
        let withDate = span > 86_400_000
        for k in 0...4 {
            let ms = (times.first ?? 0) + span * Int64(k) / 4
            let x = left + plotW * Double(k) / 4
            let anchor = k == 0 ? "start" : (k == 4 ? "end" : "middle")
            svg += #"<text x="\#(f(x))" y="\#(f(height - 8))" class="tick" text-anchor="\#(anchor)">\#(HTMLText.utc(ms, date: withDate))</text>"#
        }
        return svg
    }

    private static func yAxis(maxY: Double, unit: String) -> String {
        let plotH = height - top - bottom
        var svg = #"<line x1="\#(left)" y1="\#(top)" x2="\#(left)" y2="\#(top + plotH)" class="axis"/>"#
        svg += #"<line x1="\#(left)" y1="\#(top + plotH)" x2="\#(width - right)" y2="\#(top + plotH)" class="axis"/>"#
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            let y = top + plotH - plotH * Double(k) / 4
            svg += #"<line x1="\#(left)" y1="\#(f(y))" x2="\#(width - right)" y2="\#(f(y))" class="grid"/>"#
            svg += #"<text x="\#(left - 6)" y="\#(f(y + 4))" class="tick" text-anchor="end">\#(HTMLText.number(v))</text>"#
        }
        svg += #"<text x="12" y="\#(f(top + plotH / 2))" class="tick" transform="rotate(-90 12 \#(f(top + plotH / 2)))" text-anchor="middle">\#(HTMLText.escaped(unit))</text>"#
        return svg
    }

    private static func legend(_ series: [Series]) -> String {
        var svg = ""
        var x = left + 8
        for s in series where s.values.contains(where: { $0 > 0 }) {
            svg += #"<rect x="\#(f(x))" y="\#(top + 2)" width="10" height="10" fill="\#(s.color)"/>"#
            svg += #"<text x="\#(f(x + 14))" y="\#(top + 11)" class="legend">\#(HTMLText.escaped(s.name))</text>"#
            x += 24 + Double(s.name.count) * 6.5
        }
        return svg
    }

    /// 1, 2, 5 × 10^n at or above the value, so the axis reads in round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        // Small counts still get whole-number ticks (0, 1, 2, 3, 4).
        guard value > 4 else { return 4 }
        var scale = 1.0
        while scale * 10 <= value { scale *= 10 }
        while scale > value { scale /= 10 }
        for step in [1.0, 2, 5, 10] where step * scale >= value { return step * scale }
        return 10 * scale
    }

    static func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }
}
