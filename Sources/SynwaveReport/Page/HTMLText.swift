import SynwaveCore

/// Text safe inside HTML and SVG elements and attribute values.
enum HTMLText {
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// 1234567 -> "1,234,567"; fractions to one decimal below 10.
    static func number(_ value: Double) -> String {
        if value != value.rounded(), abs(value) < 10 { return String((value * 10).rounded() / 10) }
        let whole = Int64(value.rounded())
        var digits = String(abs(whole))
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        return (whole < 0 ? "-" : "") + digits + grouped
    }

    /// UTC wall time of a unix-ms instant: `2026-12-06 02:40:00`, or only the time of day.
    static func utc(_ unixMs: Int64, date: Bool = true) -> String {
        let seconds = unixMs >= 0 ? unixMs / 1000 : (unixMs - 999) / 1000
        return StateEventFormatter.utcText(unixSeconds: seconds, withDate: date)
    }
}
