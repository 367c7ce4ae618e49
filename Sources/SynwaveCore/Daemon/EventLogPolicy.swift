/// Which connection records the daemon's event log gets. Metrics count every connection;
/// the log keeps those worth reading, and a sample of the rest.
public struct EventLogPolicy: Equatable, Sendable {
    public enum Records: String, Sendable {
        /// Every connection that did not end cleanly, had retransmits or resets, or a slow
        /// handshake; of the others, one in `sampleOneIn`.
        case notable
        /// Every connection (the full log).
        case all
    }

    public var records: Records = .notable
    /// Clean connections logged: one in this many (0: none, 1: all).
    public var sampleOneIn = 100
    /// A handshake at least this long makes a connection notable.
    public var slowHandshakeMicros: UInt64 = 100_000

    public init(records: Records = .notable, sampleOneIn: Int = 100, slowHandshakeMicros: UInt64 = 100_000) {
        self.records = records
        self.sampleOneIn = sampleOneIn
        self.slowHandshakeMicros = slowHandshakeMicros
    }

    /// Why a record is worth logging on its own, or nil for a clean connection.
    public func notableReason(_ r: ConnectionRecord) -> EventLogDecision.Reason? {
        if r.end != .closed { return .failed }
        if r.closeInferred || r.closeLost { return .failed }
        if r.retransmits.total > 0 { return .retransmits }
        if !r.resetsSent.isEmpty || r.resetsReceived > 0 { return .resets }
        if let handshake = r.handshakeMicros, handshake >= slowHandshakeMicros { return .slowHandshake }
        return nil
    }
}

/// What the policy did with one record.
public enum EventLogDecision: Equatable, Sendable {
    public enum Reason: String, Sendable, CaseIterable {
        case failed, retransmits, resets
        case slowHandshake = "slow_handshake"
    }

    /// Logged: `event_log_records = all`.
    case all
    case notable(Reason)
    /// A clean connection logged as one of `oneIn`: its line says so.
    case sampled(oneIn: Int)
    /// A clean record whose connection's other end (on this host) was just logged: kept so the
    /// log holds both ends (`synwave ladder` joins them); its line says `"kept":"other_end"`.
    case otherEnd
    case skipped

    public var logged: Bool { self != .skipped }
}

/// Applies the policy to the record stream, counting every decision (the metrics of the log).
public struct EventLogSampler: Sendable {
    public let policy: EventLogPolicy
    private var cleanSeen: UInt64 = 0
    public private(set) var counts = EventLogCounts()
    /// The mirrored tuples of the last records logged: a clean record matching one is that
    /// connection's other end. Both ends' records come within moments of each other.
    private var loggedMirrors = RecentlyKept<Endpoints, Void>(capacity: 1024)

    public init(policy: EventLogPolicy) {
        self.policy = policy
    }

    public mutating func decide(_ record: ConnectionRecord) -> EventLogDecision {
        let decision: EventLogDecision
        if policy.records == .all {
            decision = .all
        } else if let reason = policy.notableReason(record) {
            decision = .notable(reason)
        } else if let ends = record.endpoints, loggedMirrors.remove(ends.unmapped) != nil {
            decision = .otherEnd
        } else {
            // Counted, not random: the sample is every Nth clean connection, the first included.
            let n = UInt64(max(0, policy.sampleOneIn))
            decision = n > 0 && cleanSeen % n == 0 ? .sampled(oneIn: policy.sampleOneIn) : .skipped
            cleanSeen &+= 1
        }
        if policy.records != .all, decision != .skipped, decision != .otherEnd, let ends = record.endpoints {
            loggedMirrors.add((), for: ends.mirrored.unmapped)
        }
        counts.count(decision)
        return decision
    }

}

/// Records by what the event log did with them: the `synwave_event_log_records_total` series.
public struct EventLogCounts: Equatable, Sendable {
    public var all: UInt64 = 0
    public var notable: [EventLogDecision.Reason: UInt64] = [:]
    public var sampled: UInt64 = 0
    public var otherEnd: UInt64 = 0
    public var skipped: UInt64 = 0

    public init() {}

    mutating func count(_ decision: EventLogDecision) {
        switch decision {
        case .all: all += 1
        case .notable(let reason): notable[reason, default: 0] += 1
        case .sampled: sampled += 1
        case .otherEnd: otherEnd += 1
        case .skipped: skipped += 1
        }
    }

    /// (decision label, count), every label present.
    public var labelled: [(String, UInt64)] {
        [("all", all)] + EventLogDecision.Reason.allCases.map { ($0.rawValue, notable[$0] ?? 0) }
            + [("sampled", sampled), ("other_end", otherEnd), ("skipped", skipped)]
    }
}
