/// The ladder in a terminal: a row per step, time since the first step and since the previous
/// one, each side's state beside its line, arrows between the lines (retransmissions dashed).
public enum LadderText {
    static let middle = 36
    static let stateWidth = 12

    public static func render(_ ladder: Ladder) -> [String] {
        var lines: [String] = []
        let indent = String(repeating: " ", count: 20)
        let head = pad(ladder.left.title, middle + stateWidth + 3)
        lines.append(indent + head + ladder.right.title)
        lines.append(indent + pad(ladder.left.owner ?? (ladder.left.remote ? "not on this host" : ""), middle + stateWidth + 3)
                     + (ladder.right.owner ?? (ladder.right.remote ? "not on this host" : "")))
        let first = ladder.steps.compactMap(\.atNs).min()
        var previous: UInt64?
        for step in ladder.steps {
            var at = "", after = ""
            if let ns = step.atNs, let first {
                at = duration(ns - first)
                if let previous { after = "+" + duration(ns >= previous ? ns - previous : 0) }
                previous = ns
            }
            let prefix = leftPad(at, 9) + " " + leftPad(after, 9) + " "
            let leftState = step.side == .left ? step.state?.name ?? "" : ""
            let rightState = step.side == .right ? step.state?.name ?? "" : ""
            // Notes go in the right margin; a left-side note says whose it is.
            let note = step.note.map { step.side == .left ? "(\(ladder.left.role.rawValue)) \($0)" : $0 }
            let arrows = step.arrows.isEmpty ? [nil] : step.arrows.map(Optional.some)
            for (index, arrow) in arrows.enumerated() {
                let lead = index == 0 ? prefix : String(repeating: " ", count: prefix.count)
                var line = lead + leftPad(index == 0 ? leftState : "", stateWidth) + " |"
                line += arrow.map(drawn) ?? String(repeating: " ", count: middle)
                line += "| " + (index == 0 ? rightState : "")
                if index == 0, let note { line += (rightState.isEmpty ? "" : "  ") + note }
                lines.append(trimmed(line))
            }
        }
        lines.append("")
        lines += ladder.outcome
        return lines
    }

    /// `|------ SYN ------>|`, `|<.... SYN retransmit x3 ....|`.
    static func drawn(_ arrow: Ladder.Arrow) -> String {
        let label = " " + arrow.label + " "
        let fill: Character = arrow.retransmit ? "." : (arrow.segment == .rst ? "=" : "-")
        let room = max(0, middle - 1 - label.count)
        let before = room / 2, after = room - before
        let body = String(repeating: fill, count: before) + label + String(repeating: fill, count: after)
        return arrow.from == .left ? String(body) + ">" : "<" + String(body)
    }

    static func duration(_ ns: UInt64) -> String {
        let us = ns / 1000
        switch us {
        case ..<1000: return "\(us)us"
        case ..<1_000_000: return "\(Double(us / 10) / 100)ms"
        default: return "\(Double(us / 10_000) / 100)s"
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private static func trimmed(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }
}
