import SynwaveCore

/// The few failed connections worth drawing, chosen while the log streams by: per way of ending,
/// the ones with the most retransmits, then the longest; each joined with its other end
/// (`RecentRecords`).
public struct WorstConnections: Sendable {
    /// Worst first: timeouts and overflows, then resets, then refusals.
    static let severity: [ConnectionEnd] = [
        .acceptQueueOverflowReset, .keepaliveTimeout, .retransmitTimeout, .connectTimeout, .resetReceived,
        .resetSent, .refused, .connectAborted, .unknown,
    ]
    static let keptPerEnd = 2

    struct Candidate: Sendable {
        var records: [ConnectionRecord]
        var score: (Int, UInt64, UInt64)
    }

    private var candidates: [ConnectionEnd: [Candidate]] = [:]
    private var recent = RecentRecords()

    public init() {}

    mutating func add(_ r: ConnectionRecord) {
        defer { recent.remember(r) }
        // The other end of a candidate already kept: joined, not a second candidate.
        for (end, list) in candidates {
            if let index = list.firstIndex(where: { $0.records.count == 1 && RecentRecords.partners($0.records[0], r) }) {
                candidates[end]![index].records.append(r)
                return
            }
        }
        guard r.end != .closed else { return }
        let score = (r.retransmits.total, r.durationMicros, r.endNs)
        var list = candidates[r.end] ?? []
        if list.count >= Self.keptPerEnd {
            guard let weakest = list.indices.min(by: { list[$0].score < list[$1].score }), list[weakest].score < score else { return }
            list.remove(at: weakest)
        }
        list.append(Candidate(records: [r] + (recent.partner(of: r).map { [$0] } ?? []), score: score))
        candidates[r.end] = list
    }

    /// Up to `limit` connections, one or two records each: the worst of each way of ending in
    /// order of severity, then the second worst of each. One connection is drawn once, and one
    /// per story (the same ends on both sides): the page shows different failures.
    public func selected(limit: Int) -> [[ConnectionRecord]] {
        var chosen: [[ConnectionRecord]] = []
        var cookies: Set<UInt64> = []
        var stories: [[ConnectionEnd]: Int] = [:]
        for rank in 0..<Self.keptPerEnd {
            for end in Self.severity {
                let list = (candidates[end] ?? []).sorted { $0.score > $1.score }
                guard rank < list.count, chosen.count < limit else { continue }
                let records = list[rank].records
                let story = records.map(\.end).sorted { $0.rawValue < $1.rawValue }
                if records.contains(where: { cookies.contains($0.socket.value) }) || stories[story] != nil { continue }
                stories[story, default: 0] += 1
                cookies.formUnion(records.map(\.socket.value))
                chosen.append(records)
            }
        }
        return chosen
    }
}
