/// Counters from successive metrics snapshots turned into increases per interval. A counter
/// that went down started over (a daemon restart, or a listener series that came back), so its
/// increase is its new value.
struct CounterDeltas {
    struct Key: Hashable {
        var name: String
        var labels: [String: String]
    }

    private var previous: [Key: Double] = [:]

    /// The increase of each counter since the previous snapshot; `restarted` when the daemon
    /// started since (all counters began at zero).
    mutating func deltas(_ samples: [LoggedMetrics.Sample], restarted: Bool, counted: (String) -> Bool) -> [Key: Double] {
        var out: [Key: Double] = [:]
        var seen: [Key: Double] = [:]
        for sample in samples where counted(sample.name) {
            guard let value = sample.value else { continue }
            let key = Key(name: sample.name, labels: sample.labels)
            seen[key] = value
            if restarted {
                out[key] = value
            } else if let before = previous[key] {
                out[key] = value >= before ? value - before : value
            } else {
                // A series new since the last snapshot (a new label value) counted from zero.
                out[key] = value
            }
        }
        previous = seen
        return out
    }

    /// A snapshot that only sets the baseline (before `--since`, or the first one of a daemon that
    /// had been running longer than the logs go back).
    mutating func baseline(_ samples: [LoggedMetrics.Sample], counted: (String) -> Bool) {
        previous = [:]
        for sample in samples where counted(sample.name) {
            if let value = sample.value { previous[Key(name: sample.name, labels: sample.labels)] = value }
        }
    }
}
