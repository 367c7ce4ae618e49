import SynwaveCore

/// A registry histogram takes observations one at a time; the daemon's histograms hold only
/// bucket counts and a sum. What was observed between two snapshots is replayed as values
/// chosen inside each bucket, so that every bucket count stays exact and the sum matches up to
/// floating-point rounding.
public enum HistogramReplay {
    /// One `(value, count)` per bucket that gained observations between `old` and `new` (same bounds).
    public static func observations(from old: Histogram, to new: Histogram) -> [(value: Double, count: Int)] {
        let bounds = new.upperBounds
        guard old.upperBounds == bounds, !bounds.isEmpty else { return [] }
        let gained = zip(new.counts, old.counts).map { Int($0 >= $1 ? $0 - $1 : 0) }
        guard gained.contains(where: { $0 > 0 }) else { return [] }
        let sum = new.sum - old.sum
        // Bucket i holds (lower, upper]; the first bucket also holds its lower bound, 0.
        func lower(_ i: Int) -> Double { i == 0 ? 0 : bounds[i - 1] }
        func lowest(_ i: Int) -> Double { i == 0 ? 0 : bounds[i - 1].nextUp }
        let last = bounds.count
        var values = [Double](repeating: 0, count: gained.count)
        if gained[last] == 0 {
            // Every value at the same relative place in its bucket, chosen to give the sum.
            var minimum = 0.0, maximum = 0.0
            for i in 0..<last where gained[i] > 0 {
                minimum += Double(gained[i]) * lowest(i)
                maximum += Double(gained[i]) * bounds[i]
            }
            let place = maximum > minimum ? min(1, max(0, (sum - minimum) / (maximum - minimum))) : 1
            for i in 0..<last where gained[i] > 0 {
                values[i] = min(bounds[i], max(lowest(i), lower(i) + place * (bounds[i] - lower(i))))
            }
        } else {
            // Finite buckets at their lowest; the values past the last bound share the rest.
            var finite = 0.0
            for i in 0..<last where gained[i] > 0 {
                values[i] = lowest(i)
                finite += Double(gained[i]) * values[i]
            }
            values[last] = max(bounds[last - 1].nextUp, (sum - finite) / Double(gained[last]))
        }
        return gained.indices.compactMap { gained[$0] > 0 ? (values[$0], gained[$0]) : nil }
    }
}
