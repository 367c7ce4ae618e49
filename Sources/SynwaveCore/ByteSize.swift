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

    /// Each CPU's ring when `total` bytes of ring buffer are split over `cpus`: rounded down to a
    /// power of two (the kernel's requirement), never below a page.
    public static func perCPURing(total: UInt32, cpus: Int) -> UInt32 {
        let share = total / UInt32(max(1, cpus))
        guard share > 4096 else { return 4096 }
        return UInt32(1) << (31 - share.leadingZeroBitCount)
    }

    /// The largest whole unit: "16 MiB", "64 KiB", "4095 B".
    public static func text(_ bytes: UInt64) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) B"
    }
}
