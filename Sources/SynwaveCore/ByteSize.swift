/// Sizes written like `16M`, `64MiB`, `512k` or `1048576`.
public enum ByteSize {
    public static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text.lowercased())
        var multiplier: UInt64 = 1
        for suffix in ["ib", "b"] where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            break
        }
        switch digits.last {
        case "k": multiplier = 1 << 10
        case "m": multiplier = 1 << 20
        case "g": multiplier = 1 << 30
        default: break
        }
        if multiplier > 1 { digits = digits.dropLast() }
        guard let value = UInt64(digits), value <= UInt64.max / multiplier else { return nil }
        return value * multiplier
    }
}
