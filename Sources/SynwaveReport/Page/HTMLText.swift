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
        let seconds = unixMs / 1000
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let second = seconds - day * 86_400
        let time = two(second / 3600) + ":" + two(second / 60 % 60) + ":" + two(second % 60)
        guard date else { return time }
        let (y, m, d) = civil(fromDays: day)
        return "\(y)-\(two(Int64(m)))-\(two(Int64(d))) \(time)"
    }

    private static func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Howard Hinnant's civil_from_days.
    private static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
