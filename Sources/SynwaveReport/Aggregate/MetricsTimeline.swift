/// What the report draws from the metrics log: per interval, the connections ended by how,
/// retransmits by kind, each listener's queues; over the whole range, the handshake and duration
/// histograms and totals. Counters come as increases (`CounterDeltas`).
public struct MetricsTimeline: Sendable {
    public struct Interval: Sendable {
        public var startMs: Int64
        public var endMs: Int64
        public var ended: [String: Double] = [:]
        public var retransmits: [String: Double] = [:]
    }

    public struct ListenerKey: Hashable, Sendable, Comparable {
        public var namespace: String
        public var address: String
        public var port: String
        public var comm: String

        public var title: String {
            let host = address.contains(":") ? "[\(address)]" : address
            return "\(host):\(port)" + (comm.isEmpty ? "" : " \(comm)") + (namespace.isEmpty ? "" : " (\(namespace))")
        }

        public static func < (a: Self, b: Self) -> Bool { (a.namespace, a.address, a.port) < (b.namespace, b.address, b.port) }
    }

    public struct ListenerPoint: Sendable {
        public var unixMs: Int64
        public var synQueue: Double
        public var acceptQueue: Double
        public var overflows: Double
        public var synDrops: Double
    }

    public struct ListenerSummary: Sendable {
        public var key: ListenerKey
        public var backlog: Double = 0
        public var maxSynQueue: Double = 0
        public var maxAcceptQueue: Double = 0
        public var overflows: Double = 0
        public var synDrops: Double = 0
        public var synackRetransmits: Double = 0
        public var points: [ListenerPoint] = []
    }

    public var intervals: [Interval] = []
    public var endedTotals: [String: Double] = [:]
    public var openedTotals: [String: Double] = [:]
    public var retransmitTotals: [String: Double] = [:]
    public var lostTotals: [String: Double] = [:]
    /// Upper bound (seconds; +Inf last) to observations in that bucket alone.
    public var handshake: [(le: Double, count: Double)] = []
    public var duration: [(le: Double, count: Double)] = []
    public var listeners: [ListenerKey: ListenerSummary] = [:]
    public var restarts = 0
    public var firstMs: Int64?
    public var lastMs: Int64?

    private var counters = CounterDeltas()
    private var previousMs: Int64?
    private var previousUptime: Double?
    private var handshakeCumulative: [Double: Double] = [:]
    private var durationCumulative: [Double: Double] = [:]

    /// A daemon whose first logged snapshot says it had run longer than this began before the
    /// logs do: its counters set a baseline instead of counting.
    static let startedWithLogsWithin: Double = 120

    static let countedFamilies: Set<String> = [
        "synwave_connections_ended_total", "synwave_connections_opened_total", "synwave_retransmits_total",
        "synwave_listener_accept_overflows_total", "synwave_listener_syn_drops_total",
        "synwave_listener_synack_retransmits_total", "synwave_events_lost_total",
        "synwave_handshake_seconds_bucket", "synwave_connection_duration_seconds_bucket",
    ]

    public init() {}

    /// Snapshots in the order written. `inRange`: false for one before `--since`, which only sets the baseline.
    public mutating func add(_ m: LoggedMetrics, inRange: Bool) {
        let uptime = m.samples.first { $0.name == "synwave_uptime_seconds" }?.value
        let restarted: Bool
        if let previousUptime, let uptime {
            restarted = uptime < previousUptime
        } else {
            restarted = (uptime ?? .infinity) <= Self.startedWithLogsWithin
        }
        let firstEver = previousMs == nil
        defer { previousUptime = uptime; previousMs = m.unixMs }
        let counted: (String) -> Bool = { Self.countedFamilies.contains($0) }
        guard inRange, restarted || !firstEver else {
            counters.baseline(m.samples, counted: counted)
            return
        }
        if restarted, !firstEver { restarts += 1 }
        let deltas = counters.deltas(m.samples, restarted: restarted, counted: counted)
        let start = restarted ? m.unixMs - Int64(((uptime ?? 0) * 1000).rounded()) : (previousMs ?? m.unixMs)
        var interval = Interval(startMs: start, endMs: m.unixMs)
        var listenerDeltas: [ListenerKey: (overflows: Double, synDrops: Double, synacks: Double)] = [:]
        for (key, delta) in deltas {
            switch key.name {
            case "synwave_connections_ended_total":
                let end = key.labels["end"] ?? ""
                interval.ended[end, default: 0] += delta
                endedTotals[end, default: 0] += delta
            case "synwave_connections_opened_total":
                openedTotals[key.labels["role"] ?? "", default: 0] += delta
            case "synwave_retransmits_total":
                let kind = key.labels["kind"] ?? ""
                interval.retransmits[kind, default: 0] += delta
                retransmitTotals[kind, default: 0] += delta
            case "synwave_events_lost_total":
                lostTotals[key.labels["cause"] ?? "", default: 0] += delta
            case "synwave_handshake_seconds_bucket":
                if let le = Self.bound(key.labels["le"]) { handshakeCumulative[le, default: 0] += delta }
            case "synwave_connection_duration_seconds_bucket":
                if let le = Self.bound(key.labels["le"]) { durationCumulative[le, default: 0] += delta }
            case "synwave_listener_accept_overflows_total":
                listenerDeltas[Self.listenerKey(key.labels), default: (0, 0, 0)].overflows += delta
            case "synwave_listener_syn_drops_total":
                listenerDeltas[Self.listenerKey(key.labels), default: (0, 0, 0)].synDrops += delta
            case "synwave_listener_synack_retransmits_total":
                listenerDeltas[Self.listenerKey(key.labels), default: (0, 0, 0)].synacks += delta
            default:
                break
            }
        }
        var gauges: [ListenerKey: (syn: Double, accept: Double, backlog: Double)] = [:]
        for sample in m.samples {
            guard let value = sample.value else { continue }
            switch sample.name {
            case "synwave_listener_syn_queue": gauges[Self.listenerKey(sample.labels), default: (0, 0, 0)].syn = value
            case "synwave_listener_accept_queue": gauges[Self.listenerKey(sample.labels), default: (0, 0, 0)].accept = value
            case "synwave_listener_backlog": gauges[Self.listenerKey(sample.labels), default: (0, 0, 0)].backlog = value
            default: break
            }
        }
        for key in Set(gauges.keys).union(listenerDeltas.keys) {
            var summary = listeners[key] ?? ListenerSummary(key: key)
            let g = gauges[key] ?? (0, 0, summary.backlog)
            let d = listenerDeltas[key] ?? (0, 0, 0)
            summary.backlog = g.backlog
            summary.maxSynQueue = max(summary.maxSynQueue, g.syn)
            summary.maxAcceptQueue = max(summary.maxAcceptQueue, g.accept)
            summary.overflows += d.overflows
            summary.synDrops += d.synDrops
            summary.synackRetransmits += d.synacks
            summary.points.append(ListenerPoint(unixMs: m.unixMs, synQueue: g.syn, acceptQueue: g.accept,
                                                overflows: d.overflows, synDrops: d.synDrops))
            listeners[key] = summary
        }
        intervals.append(interval)
        firstMs = min(firstMs ?? interval.startMs, interval.startMs)
        lastMs = max(lastMs ?? m.unixMs, m.unixMs)
        handshake = Self.perBucket(handshakeCumulative)
        duration = Self.perBucket(durationCumulative)
    }

    private static func listenerKey(_ labels: [String: String]) -> ListenerKey {
        ListenerKey(namespace: labels["namespace"] ?? labels["netns"] ?? "", address: labels["address"] ?? "",
                    port: labels["port"] ?? "", comm: labels["comm"] ?? "")
    }

    private static func bound(_ le: String?) -> Double? {
        guard let le else { return nil }
        return le == "+Inf" ? .infinity : Double(le)
    }

    /// Cumulative `le` buckets to the count in each bucket alone.
    private static func perBucket(_ cumulative: [Double: Double]) -> [(le: Double, count: Double)] {
        var below = 0.0
        return cumulative.keys.sorted().map { le in
            let total = cumulative[le]!
            defer { below = max(below, total) }
            return (le, max(0, total - below))
        }
    }

    public var totalEnded: Double { endedTotals.values.reduce(0, +) }
}
