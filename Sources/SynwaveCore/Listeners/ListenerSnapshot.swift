/// One listener as sock_diag reported it at a poll.
public struct ListenerSnapshot: Equatable, Sendable {
    public var cookie: UInt64
    public var listener: ListenerAddress
    /// Children waiting for accept() (sk_ack_backlog; `ss` Recv-Q).
    public var acceptQueue: UInt32
    /// sk_max_ack_backlog (`ss` Send-Q): both queues hold one more than this.
    public var backlog: UInt32
    /// sk_drops since the listener was created: final ACKs and SYNs it dropped.
    public var drops: UInt32
    public var inode: UInt64
    public var uid: UInt32
    /// The SYN queue's length (icsk_accept_queue.qlen) when the source reads it (the BPF
    /// listener iterator); nil from sock_diag, where request sockets are counted instead.
    public var synQueue: UInt32?
    /// The listener's cgroup v2 id (0: none, or a source that cannot read it).
    public var cgroupID: UInt64

    public init(cookie: UInt64, listener: ListenerAddress, acceptQueue: UInt32, backlog: UInt32,
                drops: UInt32, inode: UInt64, uid: UInt32 = 0, synQueue: UInt32? = nil, cgroupID: UInt64 = 0) {
        self.cookie = cookie
        self.listener = listener
        self.acceptQueue = acceptQueue
        self.backlog = backlog
        self.drops = drops
        self.inode = inode
        self.uid = uid
        self.synQueue = synQueue
        self.cgroupID = cgroupID
    }
}

/// A half-open request (SYN_RECV mini-socket) as sock_diag reported it: only its local end
/// ties it to a listener.
public struct RequestSnapshot: Equatable, Sendable {
    public var local: ListenerAddress

    public init(local: ListenerAddress) {
        self.local = local
    }
}

/// Who holds a listening socket open.
public struct SocketOwner: Equatable, Sendable {
    public var pid: UInt32
    public var comm: TaskName

    public init(pid: UInt32, comm: TaskName) {
        self.pid = pid
        self.comm = comm
    }
}

/// Everything one poll of one network namespace found.
public struct NamespacePoll: Equatable, Sendable {
    public var netns: UInt32
    /// The namespace's name (/run/netns/NAME) or path, for display.
    public var name: String
    public var listeners: [ListenerSnapshot]
    public var requests: [RequestSnapshot]
    public var counters: NamespaceCounters
    /// `listeners` lists every listener of the namespace (those missing are gone); false when it
    /// lists only the ones that changed since the last poll.
    public var complete: Bool
    /// The workload that owns the namespace: the cgroup of the process it was found through
    /// (/proc/PID/ns/net); nil for the host's and for named ones.
    public var owner: Workload?

    public init(netns: UInt32, name: String, listeners: [ListenerSnapshot], requests: [RequestSnapshot],
                counters: NamespaceCounters, complete: Bool = true) {
        self.netns = netns
        self.name = name
        self.listeners = listeners
        self.requests = requests
        self.counters = counters
        self.complete = complete
    }
}
