/// One connection as the kernel assembled it (SYNWAVE_EVENT_CONNECTION,
/// bpf/connection.bpf.h): everything its per-event records would have carried, sent once.
public struct AssembledConnection: Equatable, Sendable {
    /// One kept transition.
    public struct Transition: Equatable, Sendable {
        public var old: TCPState
        public var new: TCPState
        /// Since `startNs`.
        public var offsetNs: UInt64

        public init(old: TCPState, new: TCPState, offsetNs: UInt64) {
            self.old = old
            self.new = new
            self.offsetNs = offsetNs
        }
    }

    /// Up to `SocketMachine.maxTransitions`, inline: a kernel event stays a plain value (no
    /// reference counting when batches of them are copied).
    public struct Transitions: Equatable, Sendable {
        private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        public private(set) var count = 0

        public init(_ list: [Transition] = []) {
            for transition in list.prefix(6) { append(transition) }
        }

        /// Appends one; ignored past six.
        public mutating func append(_ t: Transition) {
            guard count < 6 else { return }
            let word = t.offsetNs << 8 | UInt64(t.new.rawValue & 0xF) << 4 | UInt64(t.old.rawValue & 0xF)
            withUnsafeMutableBytes(of: &words) { $0.storeBytes(of: word, toByteOffset: count * 8, as: UInt64.self) }
            count += 1
        }

        /// In arrival order. States were checked when the transition was made.
        public var all: [Transition] {
            withUnsafeBytes(of: words) { raw in
                (0..<count).map { i in
                    let word = raw.load(fromByteOffset: i * 8, as: UInt64.self)
                    return Transition(old: TCPState(rawValue: UInt8(word & 0xF))!, new: TCPState(rawValue: UInt8(word >> 4 & 0xF))!,
                                      offsetNs: word >> 8)
                }
            }
        }

        public static func == (a: Self, b: Self) -> Bool { a.all == b.all }
    }

    /// How the record came to be sent.
    public enum Sent: Equatable, Sendable {
        /// At CLOSE, or at connect() again.
        case atClose
        /// At tcp_destroy_sock: CLOSE deferred it (an aborting close) or never ran.
        case atDestroy
    }

    /// When the kernel sent it (CLOCK_BOOTTIME ns).
    public var timestampNs: UInt64
    public var socket: SocketIdentity
    public var netns: UInt32
    /// The first event's time.
    public var startNs: UInt64
    /// In arrival order.
    public var transitions: Transitions
    /// Transitions seen, kept or not (more than `SocketMachine.maxTransitions` are not kept).
    public var transitionsSeen: Int
    /// The task of a syscall-driven transition when `ownerKnown`, else of the first event.
    public var tgid: UInt32
    public var comm: TaskName
    public var ownerKnown: Bool
    public var endpoints: Endpoints?
    public var totals: TCPTotals?
    public var error: Int32
    public var probesOut: UInt8
    public var packetsOut: UInt32
    public var retransmits: RetransmitCounts
    public var resetsReceived: UInt8
    public var resetsSent: UInt8
    public var firstResetReason: ResetReason
    public var lastResetReason: ResetReason
    /// 0 without a reset received.
    public var lastResetReceivedNs: UInt64
    /// The socket's cgroup v2 id (0: none).
    public var cgroupID: UInt64
    public var sent: Sent

    public init(timestampNs: UInt64, socket: SocketIdentity, netns: UInt32, startNs: UInt64,
                transitions: [Transition], transitionsSeen: Int? = nil, tgid: UInt32 = 0, comm: TaskName = .empty,
                ownerKnown: Bool = false, endpoints: Endpoints? = nil, totals: TCPTotals? = nil, error: Int32 = 0,
                probesOut: UInt8 = 0, packetsOut: UInt32 = 0, retransmits: RetransmitCounts = RetransmitCounts(),
                resetsReceived: UInt8 = 0, resetsSent: UInt8 = 0, firstResetReason: ResetReason = .unknown,
                lastResetReason: ResetReason = .unknown, lastResetReceivedNs: UInt64 = 0, cgroupID: UInt64 = 0, sent: Sent = .atClose) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.netns = netns
        self.startNs = startNs
        self.transitions = Transitions(transitions)
        self.transitionsSeen = transitionsSeen ?? transitions.count
        self.tgid = tgid
        self.comm = comm
        self.ownerKnown = ownerKnown
        self.endpoints = endpoints
        self.totals = totals
        self.error = error
        self.probesOut = probesOut
        self.packetsOut = packetsOut
        self.retransmits = retransmits
        self.resetsReceived = resetsReceived
        self.resetsSent = resetsSent
        self.firstResetReason = firstResetReason
        self.lastResetReason = lastResetReason
        self.lastResetReceivedNs = lastResetReceivedNs
        self.cgroupID = cgroupID
        self.sent = sent
    }

    /// The transitions as the per-event records would have carried them, for the socket's
    /// state machine: the owner on the first and on syscall-driven ones, totals on CLOSE.
    func stateEvents() -> [StateEvent] {
        let local = endpoints
        let family: UInt16 = switch local?.localAddress {
        case .v6?: IPAddress.familyIPv6
        case .v4?: IPAddress.familyIPv4
        case nil: 0
        }
        var events: [StateEvent] = []
        events.reserveCapacity(transitions.count)
        for (index, transition) in transitions.all.enumerated() {
            let isFirst = index == 0
            events.append(StateEvent(
                timestampNs: startNs &+ transition.offsetNs, socket: socket, netns: netns,
                tgid: isFirst || ownerKnown ? tgid : 0, tid: 0, comm: isFirst || ownerKnown ? comm : .empty,
                family: family, oldState: transition.old, newState: transition.new,
                sourceAddress: local?.localAddress ?? .v4(0), sourcePort: local?.localPort ?? 0,
                destinationAddress: local?.remoteAddress ?? .v4(0), destinationPort: local?.remotePort ?? 0,
                totals: transition.new == .close ? totals : nil, cgroupID: cgroupID))
        }
        return events
    }
}
