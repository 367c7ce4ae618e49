/// Both ends of a connection as seen from this host. Listeners and mini-sockets only know
/// their own side, so a reset they send takes the peer from the packet that caused it.
public struct Endpoints: Hashable, Sendable {
    public var localAddress: IPAddress
    public var localPort: UInt16
    public var remoteAddress: IPAddress
    public var remotePort: UInt16

    public init(localAddress: IPAddress, localPort: UInt16, remoteAddress: IPAddress, remotePort: UInt16) {
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    /// Unset after CLOSE: the kernel zeroes ports and addresses when it unhashes a socket.
    public var isWiped: Bool { localPort == 0 && remotePort == 0 }

    /// The same connection as its other end sees it.
    public var mirrored: Endpoints {
        Endpoints(localAddress: remoteAddress, localPort: remotePort, remoteAddress: localAddress, remotePort: localPort)
    }

    /// IPv4-mapped IPv6 addresses as IPv4: both ends of one connection then compare equal.
    public var unmapped: Endpoints {
        Endpoints(localAddress: localAddress.unmapped, localPort: localPort, remoteAddress: remoteAddress.unmapped,
                  remotePort: remotePort)
    }
}

public enum RetransmitKind: UInt8, Sendable, CaseIterable {
    case data = 0, syn, fin, synack

    public var name: String {
        switch self {
        case .data: "data"
        case .syn: "syn"
        case .fin: "fin"
        case .synack: "synack"
        }
    }
}

/// tcp:tcp_retransmit_skb, or tcp:tcp_retransmit_synack (then `socket` is the listener).
public struct RetransmitEvent: Equatable, Sendable {
    public var timestampNs: UInt64
    public var socket: SocketIdentity
    public var netns: UInt32
    public var state: TCPState
    public var kind: RetransmitKind
    public var isTailLossProbe: Bool
    public var afterTimeout: Bool
    /// Nonzero when the kernel dropped the retransmission locally.
    public var error: Int32
    public var retransmits: UInt32
    /// SYN-ACKs only: the listener's queues at that moment.
    public var synQueue: UInt32
    public var acceptQueue: UInt32
    public var backlog: UInt32
    public var endpoints: Endpoints?

    public init(timestampNs: UInt64, socket: SocketIdentity, netns: UInt32, state: TCPState, kind: RetransmitKind,
                isTailLossProbe: Bool = false, afterTimeout: Bool = false, error: Int32 = 0, retransmits: UInt32 = 0,
                synQueue: UInt32 = 0, acceptQueue: UInt32 = 0, backlog: UInt32 = 0, endpoints: Endpoints? = nil) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.netns = netns
        self.state = state
        self.kind = kind
        self.isTailLossProbe = isTailLossProbe
        self.afterTimeout = afterTimeout
        self.error = error
        self.retransmits = retransmits
        self.synQueue = synQueue
        self.acceptQueue = acceptQueue
        self.backlog = backlog
        self.endpoints = endpoints
    }
}

/// Why the kernel sent a reset (enum sk_rst_reason, 6.10+), by the kernel's names.
public enum ResetReason: UInt8, Sendable, CaseIterable {
    case unknown = 0, notSpecified, noSocket, invalidAckSequence, rfc7323Paws, tooOldAck, ackUnsentData,
         flags, oldAck, abortOnData, timeWaitSocket, invalidSyn, abortOnClose, abortOnLinger,
         abortOnMemory, state, keepaliveTimeout, disconnectWithData, error, mptcp

    public var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .notSpecified: "NOT_SPECIFIED"
        case .noSocket: "NO_SOCKET"
        case .invalidAckSequence: "TCP_INVALID_ACK_SEQUENCE"
        case .rfc7323Paws: "TCP_RFC7323_PAWS"
        case .tooOldAck: "TCP_TOO_OLD_ACK"
        case .ackUnsentData: "TCP_ACK_UNSENT_DATA"
        case .flags: "TCP_FLAGS"
        case .oldAck: "TCP_OLD_ACK"
        case .abortOnData: "TCP_ABORT_ON_DATA"
        case .timeWaitSocket: "TCP_TIMEWAIT_SOCKET"
        case .invalidSyn: "INVALID_SYN"
        case .abortOnClose: "TCP_ABORT_ON_CLOSE"
        case .abortOnLinger: "TCP_ABORT_ON_LINGER"
        case .abortOnMemory: "TCP_ABORT_ON_MEMORY"
        case .state: "TCP_STATE"
        case .keepaliveTimeout: "TCP_KEEPALIVE_TIMEOUT"
        case .disconnectWithData: "TCP_DISCONNECT_WITH_DATA"
        case .error: "ERROR"
        case .mptcp: "MPTCP"
        }
    }
}

public enum SocketKind: UInt8, Sendable {
    case none = 0, full, listener, request, timeWait
}

/// tcp:tcp_send_reset or tcp:tcp_receive_reset.
public struct ResetEvent: Equatable, Sendable {
    public enum Direction: UInt8, Sendable { case sent = 1, received = 2 }

    public var timestampNs: UInt64
    /// nil when no socket sent it (a SYN to a closed port).
    public var socket: SocketIdentity?
    public var netns: UInt32
    public var direction: Direction
    public var socketKind: SocketKind
    public var state: TCPState?
    public var reason: ResetReason
    public var endpoints: Endpoints?

    public init(timestampNs: UInt64, socket: SocketIdentity?, netns: UInt32, direction: Direction,
                socketKind: SocketKind = .full, state: TCPState?, reason: ResetReason = .unknown,
                endpoints: Endpoints? = nil) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.netns = netns
        self.direction = direction
        self.socketKind = socketKind
        self.state = state
        self.reason = reason
        self.endpoints = endpoints
    }
}

/// sock:inet_sk_error_report or tcp:tcp_destroy_sock.
public struct SocketEvent: Equatable, Sendable {
    public enum Kind: UInt8, Sendable { case error = 1, destroy = 2 }

    public var timestampNs: UInt64
    public var socket: SocketIdentity
    public var netns: UInt32
    public var kind: Kind
    public var state: TCPState
    /// sk_err: an errno value, 0 for none.
    public var error: Int32
    /// Keepalive or zero-window probes sent without an answer.
    public var probesOut: UInt8
    public var retransmits: UInt8
    /// Segments sent and not acknowledged: data outstanding.
    public var packetsOut: UInt32
    public var endpoints: Endpoints?

    public init(timestampNs: UInt64, socket: SocketIdentity, netns: UInt32, kind: Kind, state: TCPState,
                error: Int32 = 0, probesOut: UInt8 = 0, retransmits: UInt8 = 0, packetsOut: UInt32 = 0,
                endpoints: Endpoints? = nil) {
        self.timestampNs = timestampNs
        self.socket = socket
        self.netns = netns
        self.kind = kind
        self.state = state
        self.error = error
        self.probesOut = probesOut
        self.retransmits = retransmits
        self.packetsOut = packetsOut
        self.endpoints = endpoints
    }
}
