/// What the correlator counted: the metric updates that accompany its records.
public struct CorrelatorMetrics: Equatable, Sendable {
    public var connectionsOpened: [ConnectionRole: UInt64] = [:]
    public var connectionsEnded: [ConnectionEnd: UInt64] = [:]
    public var retransmits = RetransmitTotals()
    /// Resets sent, by reason, including those of listeners and mini-sockets (no record).
    public var resetsSent: [ResetReason: UInt64] = [:]
    public var resetsReceived: UInt64 = 0
    public var handshake = Histogram.handshakeSeconds()
    public var duration = Histogram.durationSeconds()
    /// Open records dropped after `idleTimeout` without an event (a lost close, or a long-idle connection).
    public var expired: UInt64 = 0
    /// Records dropped because `capacity` sockets were tracked (least recently active first).
    public var evicted: UInt64 = 0
    /// The same transition of the same socket seen twice (the rescue program can re-emit one).
    public var duplicateTransitions: UInt64 = 0
    /// Transitions past what a record keeps (more than `SocketMachine.maxTransitions`).
    public var truncatedTransitions: UInt64 = 0
    /// Events of a socket whose record had already been written.
    public var lateEvents: UInt64 = 0

    public init() {}

    public struct RetransmitTotals: Equatable, Sendable {
        public var syn: UInt64 = 0
        public var synack: UInt64 = 0
        public var data: UInt64 = 0
        public var fin: UInt64 = 0
        public var tlp: UInt64 = 0

        mutating func count(_ event: RetransmitEvent) {
            switch event.kind {
            case .syn: syn += 1
            case .synack: synack += 1
            case .fin: fin += 1
            case .data:
                if event.isTailLossProbe { tlp += 1 } else { data += 1 }
            }
        }
    }
}
