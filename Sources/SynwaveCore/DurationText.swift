/// Durations written for humans on the command line: 250ms, 1s, 1.5s, 2m, 1h, 2d.
public enum DurationText {
    /// Nanoseconds, or nil for text that is not a positive number with a unit.
    public static func parseNanoseconds(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86_400e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite, number > 0,
                  number * scale < Double(UInt64.max) else { return nil }
            return UInt64(number * scale)
        }
        return nil
    }
}
