import Foundation

/// A `type:"metrics"` line of the metrics log: every sample of one snapshot.
public struct LoggedMetrics: Sendable {
    public struct Sample: Decodable, Sendable {
        public var name: String
        public var labels: [String: String]
        /// Nil where the daemon wrote `null` (a value that was not finite).
        public var value: Double?
    }

    public var unixMs: Int64
    public var samples: [Sample]

    private struct Line: Decodable {
        var unix_ms: Int64
        var samples: [Wanted]
    }

    /// A sample decoded whole only when `read` names it: building every sample's label
    /// dictionary was most of the cost of a snapshot's line.
    private struct Wanted: Decodable {
        var sample: Sample?

        enum Keys: String, CodingKey { case name, labels, value }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            let name = try c.decode(String.self, forKey: .name)
            guard LoggedMetrics.read.contains(name) else { return }
            sample = Sample(name: name, labels: try c.decode([String: String].self, forKey: .labels),
                            value: try c.decodeIfPresent(Double.self, forKey: .value))
        }
    }

    /// The families the report reads; the others are skipped.
    static let read: Set<String> = MetricsTimeline.countedFamilies.union([
        "synwave_uptime_seconds", "synwave_listener_syn_queue", "synwave_listener_accept_queue", "synwave_listener_backlog",
    ])

    public init?(json: Data, decoder: JSONDecoder = JSONDecoder()) {
        guard let line = try? decoder.decode(Line.self, from: json) else { return nil }
        unixMs = line.unix_ms
        samples = line.samples.compactMap(\.sample)
    }

    public init(unixMs: Int64, samples: [Sample]) {
        self.unixMs = unixMs
        self.samples = samples
    }
}

extension LoggedMetrics.Sample {
    public init(_ name: String, _ labels: [String: String] = [:], _ value: Double?) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}
