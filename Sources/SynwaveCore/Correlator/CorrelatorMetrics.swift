/// What the correlator counted: the metric updates that accompany its records.
public struct CorrelatorMetrics: Equatable, Sendable {
    public var connectionsOpened = EnumCounts<ConnectionRole>()
    public var connectionsEnded = EnumCounts<ConnectionEnd>()
    public var retransmits = RetransmitTally<UInt64>()
    /// Resets sent, by reason, including those of listeners and mini-sockets (no record).
    public var resetsSent = EnumCounts<ResetReason>()
    public var resetsReceived: UInt64 = 0
    public var handshake = Histogram.handshakeSeconds()
    public var duration = Histogram.durationSeconds()
    /// Open records dropped after `idleTimeout` without an event (a lost close, or a long-idle connection).
    public var expired: UInt64 = 0
    /// Records ended by the socket's destruction because their CLOSE transition never came.
    public var closesInferred: UInt64 = 0
    /// Records of sockets the kernel's table no longer had, with no closing event seen.
    public var closesLost: UInt64 = 0
    /// Idle sockets looked up in the kernel's table and found there.
    public var idleSocketsConfirmed: UInt64 = 0
    /// Records dropped because `capacity` sockets were tracked (least recently active first).
    public var evicted: UInt64 = 0
    /// The same transition of the same socket seen twice (the rescue program can re-emit one).
    public var duplicateTransitions: UInt64 = 0
    /// Transitions past what a record keeps (more than `SocketMachine.maxTransitions`).
    public var truncatedTransitions: UInt64 = 0
    /// Events of a socket whose record had already been written.
    public var lateEvents: UInt64 = 0

    public init() {}
}

/// Counters per case of a small enum, in an array: counted once per connection, so no hashing.
public struct EnumCounts<Key: CountedCase>: Equatable, Sendable {
    private var values: [UInt64] = Array(repeating: 0, count: Key.allCases.count)

    public init() {}

    public subscript(key: Key) -> UInt64 {
        get { values[key.caseIndex] }
        set { values[key.caseIndex] = newValue }
    }

    /// Every case with its count, in declaration order.
    public var all: [(Key, UInt64)] { zip(Key.allCases, values).map { ($0, $1) } }
}

/// An enum whose cases index a counter array directly.
public protocol CountedCase: CaseIterable, Equatable, Sendable {
    var caseIndex: Int { get }
}

extension ResetReason: CountedCase {
    public var caseIndex: Int { Int(rawValue) }
}

extension ConnectionRole: CountedCase {
    public var caseIndex: Int { self == .client ? 0 : 1 }
}

extension ConnectionEnd: CountedCase {
    public var caseIndex: Int {
        switch self {
        case .closed: 0
        case .refused: 1
        case .connectTimeout: 2
        case .connectAborted: 3
        case .resetReceived: 4
        case .resetSent: 5
        case .retransmitTimeout: 6
        case .keepaliveTimeout: 7
        case .acceptQueueOverflowReset: 8
        case .unknown: 9
        }
    }
}
