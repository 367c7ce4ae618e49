/// A cumulative-at-export histogram with fixed upper bounds, Prometheus style (seconds).
public struct Histogram: Equatable, Sendable {
    public let upperBounds: [Double]
    /// Per bucket (not cumulative); the last slot is +Inf.
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        self.counts = Array(repeating: 0, count: upperBounds.count + 1)
    }

    public mutating func observe(_ value: Double) {
        var index = upperBounds.count
        for (i, bound) in upperBounds.enumerated() where value <= bound {
            index = i
            break
        }
        counts[index] += 1
        sum += value
        count += 1
    }

    /// 100 µs to 10 s: loopback handshakes to SYN retransmits.
    public static func handshakeSeconds() -> Histogram {
        Histogram(upperBounds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    }

    /// 1 ms to a day.
    public static func durationSeconds() -> Histogram {
        Histogram(upperBounds: [0.001, 0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 21600, 86400])
    }
}
