/// Which socket an event is about. With tp_btf the kernel's socket cookie (unique for the
/// life of the host); in classic tracepoint mode only the socket's kernel address, which
/// the kernel reuses after the socket is freed.
public struct SocketIdentity: Hashable, Sendable {
    public enum Kind: String, Sendable { case cookie, skAddr = "sk_addr" }
    public var kind: Kind
    public var value: UInt64

    public init(kind: Kind, value: UInt64) {
        self.kind = kind
        self.value = value
    }
}

/// tcp_sock totals read when a socket reaches CLOSE.
public struct TCPTotals: Equatable, Sendable {
    public var bytesAcked: UInt64
    public var bytesReceived: UInt64
    public var segsOut: UInt32
    public var segsIn: UInt32
    public var totalRetrans: UInt32
    public var srttMicros: UInt32
    public var mssCache: UInt32

    public init(bytesAcked: UInt64, bytesReceived: UInt64, segsOut: UInt32, segsIn: UInt32,
                totalRetrans: UInt32, srttMicros: UInt32, mssCache: UInt32) {
        self.bytesAcked = bytesAcked
        self.bytesReceived = bytesReceived
        self.segsOut = segsOut
        self.segsIn = segsIn
        self.totalRetrans = totalRetrans
        self.srttMicros = srttMicros
        self.mssCache = mssCache
    }
}

/// One TCP state transition (sock:inet_sock_set_state).
public struct StateEvent: Equatable, Sendable {
    /// CLOCK_BOOTTIME nanoseconds.
    public var timestampNs: UInt64
    public var socket: SocketIdentity
    public var netns: UInt32
    /// The task on the CPU: the owner only for syscall-driven transitions.
    public var tgid: UInt32
    public var tid: UInt32
    public var comm: TaskName
    public var family: UInt16
    public var oldState: TCPState
    public var newState: TCPState
    public var sourceAddress: IPAddress
    public var sourcePort: UInt16
    public var destinationAddress: IPAddress
    public var destinationPort: UInt16
    /// sk_err at the transition (0: none).
    public var error: Int32
    public var totals: TCPTotals?
    /// The socket's kernel address, also when `socket` is its cookie (0: unknown).
    public var address: UInt64
    /// The socket's cgroup v2 id (0: none; docs/workloads.md).
    public var cgroupID: UInt64

    public init(timestampNs: UInt64, socket: SocketIdentity, netns: UInt32, tgid: UInt32, tid: UInt32,
                comm: TaskName, family: UInt16, oldState: TCPState, newState: TCPState,
                sourceAddress: IPAddress, sourcePort: UInt16, destinationAddress: IPAddress,
                destinationPort: UInt16, error: Int32 = 0, totals: TCPTotals? = nil, address: UInt64 = 0,
                cgroupID: UInt64 = 0) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.netns = netns
        self.tgid = tgid
        self.tid = tid
        self.comm = comm
        self.family = family
        self.oldState = oldState
        self.newState = newState
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.destinationAddress = destinationAddress
        self.destinationPort = destinationPort
        self.error = error
        self.totals = totals
        self.address = address
        self.cgroupID = cgroupID
    }
}

/// Everything the BPF programs send through the ring buffer.
public enum KernelEvent: Equatable, Sendable {
    case state(StateEvent)
    case retransmit(RetransmitEvent)
    case reset(ResetEvent)
    case socket(SocketEvent)
    case listener(ListenerEvent)
    /// A whole connection, assembled in the kernel.
    case connection(AssembledConnection)
    /// A socket's cgroup seen for the first time: user space names it now (docs/workloads.md).
    case cgroup(CgroupEvent)

    /// The network namespace the event happened in.
    public var netns: UInt32 {
        switch self {
        case .state(let e): e.netns
        case .retransmit(let e): e.netns
        case .reset(let e): e.netns
        case .socket(let e): e.netns
        case .listener(let e): e.listener.netns
        case .connection(let c): c.netns
        case .cgroup: 0
        }
    }

    public var timestampNs: UInt64 {
        switch self {
        case .state(let e): e.timestampNs
        case .retransmit(let e): e.timestampNs
        case .reset(let e): e.timestampNs
        case .socket(let e): e.timestampNs
        case .listener(let e): e.timestampNs
        case .connection(let c): c.timestampNs
        case .cgroup(let e): e.timestampNs
        }
    }
}

/// SYNWAVE_EVENT_CGROUP: a cgroup v2 id the programs had not announced before.
public struct CgroupEvent: Equatable, Sendable {
    public var timestampNs: UInt64
    public var cgroupID: UInt64

    public init(timestampNs: UInt64, cgroupID: UInt64) {
        self.timestampNs = timestampNs
        self.cgroupID = cgroupID
    }
}
