import CSynwaveABI

/// A listener's local end: what `ss -lnt` shows as Local Address:Port.
public struct ListenerAddress: Hashable, Sendable {
    public var netns: UInt32
    public var address: IPAddress
    public var port: UInt16

    public init(netns: UInt32, address: IPAddress, port: UInt16) {
        self.netns = netns
        self.address = address
        self.port = port
    }

    public var endpoint: String { address.endpoint(port: port) }
}

/// A listener's queue reached its limit or overflowed (SYNWAVE_EVENT_LISTENER).
public struct ListenerEvent: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// The accept queue filled (backlog + 1 children waiting for accept()).
        case acceptQueueFull = 1
        /// Final ACKs were dropped on a full accept queue.
        case acceptOverflow = 2
        /// A SYN-ACK retransmit found the SYN queue at its limit.
        case synQueueFull = 3

        public var name: String {
            switch self {
            case .acceptQueueFull: "accept_queue_full"
            case .acceptOverflow: "accept_overflow"
            case .synQueueFull: "syn_queue_full"
            }
        }
    }

    public var timestampNs: UInt64
    public var socket: SocketIdentity
    public var kind: Kind
    public var listener: ListenerAddress
    public var synQueue: UInt32
    public var acceptQueue: UInt32
    public var backlog: UInt32
    /// Final ACKs this listener dropped since synwave attached.
    public var acceptOverflows: UInt64
    /// The socket inode: its owner is the process holding `socket:[inode]`.
    public var inode: UInt64
    /// Filled in by user space (the event comes from softirq context, where the current task is not the owner).
    public var owner: SocketOwner?
    /// The listener's cgroup v2 id (0: none). Kept a plain value (events are copied often): whoever
    /// prints it names the workload.
    public var cgroupID: UInt64

    public init(timestampNs: UInt64, socket: SocketIdentity, kind: Kind, listener: ListenerAddress,
                synQueue: UInt32, acceptQueue: UInt32, backlog: UInt32, acceptOverflows: UInt64, inode: UInt64,
                cgroupID: UInt64 = 0) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.kind = kind
        self.listener = listener
        self.synQueue = synQueue
        self.acceptQueue = acceptQueue
        self.backlog = backlog
        self.acceptOverflows = acceptOverflows
        self.inode = inode
        self.cgroupID = cgroupID
    }
}

/// What the BPF programs kept of one listener (map "listeners"), since synwave attached.
public struct ListenerKernelStats: Equatable, Sendable {
    public var acceptOverflows: UInt64 = 0
    public var synackRetransmits: UInt64 = 0
    public var acceptQueueFullCount: UInt64 = 0
    public var synQueueFullCount: UInt64 = 0
    public var maxSynQueue: UInt32 = 0
    public var maxAcceptQueue: UInt32 = 0
    public var acceptQueueFullNow = false
    public var inode: UInt64 = 0

    public init(acceptOverflows: UInt64 = 0, synackRetransmits: UInt64 = 0, acceptQueueFullCount: UInt64 = 0,
                synQueueFullCount: UInt64 = 0, maxSynQueue: UInt32 = 0, maxAcceptQueue: UInt32 = 0,
                acceptQueueFullNow: Bool = false, inode: UInt64 = 0) {
        self.acceptOverflows = acceptOverflows
        self.synackRetransmits = synackRetransmits
        self.acceptQueueFullCount = acceptQueueFullCount
        self.synQueueFullCount = synQueueFullCount
        self.maxSynQueue = maxSynQueue
        self.maxAcceptQueue = maxAcceptQueue
        self.acceptQueueFullNow = acceptQueueFullNow
        self.inode = inode
    }

    public init(_ raw: synwave_listener_stats) {
        self.init(acceptOverflows: raw.accept_overflows, synackRetransmits: raw.synack_retransmits,
                  acceptQueueFullCount: raw.accept_queue_full, synQueueFullCount: raw.syn_queue_full,
                  maxSynQueue: raw.max_syn_queue, maxAcceptQueue: raw.max_accept_queue,
                  acceptQueueFullNow: raw.accept_full_now != 0, inode: raw.inode)
    }
}
