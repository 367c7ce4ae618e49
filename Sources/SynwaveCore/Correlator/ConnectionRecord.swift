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
    /// The socket's cgroup v2 id (0: none), and what user space made of it (`CgroupResolver`).
    public var cgroupID: UInt64
    public var workload: Workload?
    public var end: ConnectionEnd

    public init(socket: SocketIdentity, netns: UInt32, role: ConnectionRole, pid: UInt32 = 0, comm: TaskName = "",
                ownerInferred: Bool = false, firstSeenMidLife: Bool = false, closeInferred: Bool = false,
                closeLost: Bool = false, endpoints: Endpoints?, states: [StateMark], startNs: UInt64, endNs: UInt64,
                handshakeMicros: UInt64? = nil, closedFirst: ClosedFirst? = nil, timeWait: Bool = false,
                bytesSent: UInt64? = nil, bytesReceived: UInt64? = nil, srttMicros: UInt32? = nil, mss: UInt32? = nil,
                retransmits: RetransmitCounts = RetransmitCounts(), resetsSent: [ResetReason] = [],
                resetsReceived: UInt32 = 0, error: String? = nil, cgroupID: UInt64 = 0, workload: Workload? = nil,
                end: ConnectionEnd) {
        self.socket = socket
        self.netns = netns
        self.role = role
        self.pid = pid
        self.comm = comm
        self.ownerInferred = ownerInferred
        self.firstSeenMidLife = firstSeenMidLife
        self.closeInferred = closeInferred
        self.closeLost = closeLost
        self.endpoints = endpoints
        self.states = states
        self.startNs = startNs
        self.endNs = endNs
        self.handshakeMicros = handshakeMicros
        self.closedFirst = closedFirst
        self.timeWait = timeWait
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.srttMicros = srttMicros
        self.mss = mss
        self.retransmits = retransmits
        self.resetsSent = resetsSent
        self.resetsReceived = resetsReceived
        self.error = error
        self.cgroupID = cgroupID
        self.workload = workload
        self.end = end
    }

    public var durationMicros: UInt64 { endNs >= startNs ? (endNs - startNs) / 1000 : 0 }
}
