/// The ladder as SVG for the report: the same model as `LadderText`, with arrows drawn from the
/// sender's step down to the step where the other end's record shows them arriving.
public enum LadderSVG {
    static let width = 960.0
    static let leftLine = 330.0, rightLine = 630.0
    static let rowHeight = 26.0, headerHeight = 52.0

    public static func render(_ ladder: Ladder, id: String) -> String {
        let rows = ladder.steps.count
        let height = headerHeight + Double(rows) * rowHeight + 24 + Double(ladder.outcome.count) * 16
        let marker = id + "-head"
        var svg = #"<svg id="\#(id)" class="ladder" viewBox="0 0 \#(Int(width)) \#(Int(height))" xmlns="http://www.w3.org/2000/svg" role="img">"#
        svg += #"<defs><marker id="\#(marker)" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>"#
        svg += endTitle(ladder.left, x: leftLine, anchor: "end")
        svg += endTitle(ladder.right, x: rightLine, anchor: "start")
        let bottom = headerHeight + Double(rows) * rowHeight
        for (x, end) in [(leftLine, ladder.left), (rightLine, ladder.right)] {
            svg += #"<line x1="\#(x)" y1="\#(headerHeight - 8)" x2="\#(x)" y2="\#(bottom)" class="\#(end.remote ? "lifeline remote" : "lifeline")"/>"#
        }
        let first = ladder.steps.compactMap(\.atNs).min()
        for (index, step) in ladder.steps.enumerated() {
            let y = rowY(index)
            if let state = step.state, let side = step.side {
                var label = state.name
                if let ns = step.atNs, let first { label = side == .left ? "\(LadderText.duration(ns - first))  \(label)" : "\(label)  \(LadderText.duration(ns - first))" }
                let x = side == .left ? leftLine - 8 : rightLine + 8
                svg += #"<text x="\#(x)" y="\#(y + 4)" class="state" text-anchor="\#(side == .left ? "end" : "start")" data-side="\#(side == .left ? "left" : "right")">\#(HTMLText.escaped(label))</text>"#
            }
            if let note = step.note, let side = step.side {
                let x = side == .left ? leftLine - 8 : rightLine + 8
                let dy = step.state == nil ? 4.0 : 16.0
                svg += #"<text x="\#(x)" y="\#(y + dy)" class="note" text-anchor="\#(side == .left ? "end" : "start")">\#(HTMLText.escaped(note))</text>"#
            }
            for arrow in step.arrows { svg += self.arrow(arrow, at: index, marker: marker) }
        }
        var y = bottom + 24
        for line in ladder.outcome {
            svg += #"<text x="\#(leftLine)" y="\#(y)" class="outcome">\#(HTMLText.escaped(line))</text>"#
            y += 16
        }
        return svg + "</svg>"
    }

    static func rowY(_ index: Int) -> Double { headerHeight + Double(index) * rowHeight + rowHeight / 2 }

    private static func endTitle(_ end: Ladder.End, x: Double, anchor: String) -> String {
        var svg = #"<text x="\#(x)" y="18" class="end" text-anchor="\#(anchor)">\#(HTMLText.escaped(end.title))</text>"#
        let owner = end.owner ?? (end.remote ? "not on this host" : "")
        svg += #"<text x="\#(x)" y="34" class="owner" text-anchor="\#(anchor)">\#(HTMLText.escaped(owner))</text>"#
        return svg
    }

    private static func arrow(_ a: Ladder.Arrow, at index: Int, marker: String) -> String {
        let fromX = a.from == .left ? leftLine : rightLine
        let toX = a.from == .left ? rightLine : leftLine
        let y = rowY(index)
        var y1 = y - 6, y2 = y + 8
        if let received = a.receivedAtStep {
            if received == index { y1 = y - 14; y2 = y } else { y2 = rowY(received) }
        }
        let kind = a.segment == .rst ? "rst" : (a.retransmit ? "retransmit" : "segment")
        var svg = #"<g class="arrow \#(kind)" data-segment="\#(a.segment.rawValue)"><title>\#(HTMLText.escaped(a.label))</title>"#
        svg += #"<line x1="\#(fromX)" y1="\#(SVGChart.f(y1))" x2="\#(toX)" y2="\#(SVGChart.f(y2))" marker-end="url(#\#(marker))"/>"#
        let midX = (fromX + toX) / 2, midY = (y1 + y2) / 2 - 4
        svg += #"<text x="\#(midX)" y="\#(SVGChart.f(midY))" text-anchor="middle">\#(HTMLText.escaped(a.label))</text></g>"#
        return svg
    }
}
