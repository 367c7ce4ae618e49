/// Connection ends, retransmits and resets per workload, counted from the records (pure). The
/// first `limit` workloads seen get their own series, so that series stay put; records of any
/// later one count under `workload="other"`, and how many workloads were folded there is counted.
public struct WorkloadMetrics: Equatable, Sendable {
    public struct Counts: Equatable, Sendable {
        public var ended = EnumCounts<ConnectionEnd>()
        public var retransmits = RetransmitTally<UInt64>()
        public var resetsSent: UInt64 = 0
        public var resetsReceived: UInt64 = 0

        public init() {}
    }

    public static let other = "other"
    /// `workload_metrics_max`.
    public let limit: Int
    public private(set) var counts: [String: Counts] = [:]
    /// Distinct workloads counted under "other" (names remembered up to `foldedCapacity`).
    public private(set) var foldedWorkloads = 0
    private var folded: Set<String> = []
    static let foldedCapacity = 65_536
    /// Labels by cgroup id: most records come from a few cgroups, and a label is built from strings.
    private var labels: [UInt64: String] = [:]

    public init(limit: Int) {
        self.limit = limit
    }

    /// The `workload` label of a record: a pod by UID, a container by runtime and short id, else
    /// the systemd unit, else the cgroup path; `none` without a cgroup, `unknown` for one not named.
    public static func label(_ record: ConnectionRecord) -> String {
        label(cgroupID: record.cgroupID, workload: record.workload)
    }

    /// The same for anything with a cgroup id (listeners' series too).
    public static func label(cgroupID: UInt64, workload: Workload?) -> String {
        guard cgroupID != 0 else { return "none" }
        guard let workload else { return "unknown" }
        return label(workload)
    }

    public static func label(_ workload: Workload) -> String {
        if let pod = workload.pod { return "pod/\(pod.uid)" }
        if let container = workload.container {
            return "\(container.runtime?.rawValue ?? "container")/\(container.shortID)"
        }
        return workload.unit ?? workload.path
    }

    public mutating func count(_ record: ConnectionRecord) {
        var label: String
        if let known = labels[record.cgroupID] {
            label = known
        } else {
            label = Self.label(record)
            if record.workload != nil {
                if labels.count >= Self.foldedCapacity { labels.removeAll(keepingCapacity: true) }
                labels[record.cgroupID] = label
            }
        }
        if counts[label] == nil, counts.count - (counts[Self.other] == nil ? 0 : 1) >= limit {
            if folded.count < Self.foldedCapacity, folded.insert(label).inserted { foldedWorkloads += 1 }
            label = Self.other
        }
        counts[label, default: Counts()].add(record)
    }

    public func families() -> [MetricFamily] {
        var ended = MetricFamily("synwave_workload_connections_ended_total", .counter,
                                 "Connection records by workload (the socket's cgroup) and how the connection ended.")
        var retransmits = MetricFamily("synwave_workload_retransmits_total", .counter,
                                       "Retransmitted segments of recorded connections, by workload and kind.")
        var resets = MetricFamily("synwave_workload_resets_total", .counter,
                                  "Resets of recorded connections, by workload and direction (sent, received).")
        for (workload, c) in counts.sorted(by: { $0.key < $1.key }) {
            for (end, count) in c.ended.all where count > 0 { ended.add(count, [("workload", workload), ("end", end.rawValue)]) }
            for (kind, count) in [("syn", c.retransmits.syn), ("synack", c.retransmits.synack), ("data", c.retransmits.data),
                                  ("fin", c.retransmits.fin), ("tlp", c.retransmits.tlp)] where count > 0 {
                retransmits.add(count, [("workload", workload), ("kind", kind)])
            }
            if c.resetsSent > 0 { resets.add(c.resetsSent, [("workload", workload), ("direction", "sent")]) }
            if c.resetsReceived > 0 { resets.add(c.resetsReceived, [("workload", workload), ("direction", "received")]) }
        }
        var omitted = MetricFamily("synwave_workloads_omitted", .gauge,
                                   "Workloads counted under workload=\"other\" (past workload_metrics_max).")
        omitted.add(foldedWorkloads)
        return [ended, retransmits, resets].filter { !$0.samples.isEmpty } + [omitted]
    }
}

extension WorkloadMetrics.Counts {
    mutating func add(_ record: ConnectionRecord) {
        ended[record.end] += 1
        retransmits.syn += UInt64(record.retransmits.syn)
        retransmits.synack += UInt64(record.retransmits.synack)
        retransmits.data += UInt64(record.retransmits.data)
        retransmits.fin += UInt64(record.retransmits.fin)
        retransmits.tlp += UInt64(record.retransmits.tlp)
        resetsSent += UInt64(record.resetsSent.count)
        resetsReceived += UInt64(record.resetsReceived)
    }
}
