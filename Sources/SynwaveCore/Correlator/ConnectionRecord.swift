/// One connection, SYN to close: the correlator's output (`type:"connection"`).
public struct ConnectionRecord: Equatable, Sendable {
    public struct StateMark: Equatable, Sendable {
        public var state: TCPState
        /// Microseconds since the record's first transition.
        public var offsetMicros: UInt64

        public init(state: TCPState, offsetMicros: UInt64) {
            self.state = state
            self.offsetMicros = offsetMicros
        }
    }

    public enum ClosedFirst: String, Sendable {
        case local, peer
    }

    public var socket: SocketIdentity
    public var netns: UInt32
    public var role: ConnectionRole
    /// The owner: syscall-context pid/comm; for servers, the listener's until the child's own syscall.
    public var pid: UInt32
    public var comm: TaskName
    /// The owner was taken from the listener, not seen on this socket.
    public var ownerInferred: Bool
    /// Tracing started after this connection did (first seen mid-life).
    public var firstSeenMidLife: Bool
    /// The CLOSE transition was not seen (the kernel ran no program for it): the socket's
    /// destruction ended the record, and its last state mark is inferred.
    public var closeInferred: Bool
    /// Neither the CLOSE transition nor the socket's destruction came, and the kernel's own
    /// socket table no longer had it: the record ends at its last event.
    public var closeLost: Bool
    public var endpoints: Endpoints?
    /// The first state, then each state entered, with offsets.
    public var states: [StateMark]
    public var startNs: UInt64
    public var endNs: UInt64
    public var handshakeMicros: UInt64?
    public var closedFirst: ClosedFirst?
    public var timeWait: Bool
    public var bytesSent: UInt64?
    public var bytesReceived: UInt64?
    public var srttMicros: UInt32?
    public var mss: UInt32?
    public var retransmits: RetransmitCounts
    public var resetsSent: [ResetReason]
    public var resetsReceived: UInt32
    /// errno name, e.g. ECONNREFUSED.
    public var error: String?
    public var end: ConnectionEnd

    public var durationMicros: UInt64 { endNs >= startNs ? (endNs - startNs) / 1000 : 0 }
}
