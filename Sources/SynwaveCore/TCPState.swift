/// TCP states with the kernel's numbering (include/net/tcp_states.h) and names.
public enum TCPState: UInt8, Sendable, CaseIterable {
    case established = 1
    case synSent
    case synRecv
    case finWait1
    case finWait2
    case timeWait
    case close
    case closeWait
    case lastAck
    case listen
    case closing
    case newSynRecv
    case boundInactive

    /// The name the kernel prints, without its `TCP_` prefix.
    public var name: String {
        switch self {
        case .established: "ESTABLISHED"
        case .synSent: "SYN_SENT"
        case .synRecv: "SYN_RECV"
        case .finWait1: "FIN_WAIT1"
        case .finWait2: "FIN_WAIT2"
        case .timeWait: "TIME_WAIT"
        case .close: "CLOSE"
        case .closeWait: "CLOSE_WAIT"
        case .lastAck: "LAST_ACK"
        case .listen: "LISTEN"
        case .closing: "CLOSING"
        case .newSynRecv: "NEW_SYN_RECV"
        case .boundInactive: "BOUND_INACTIVE"
        }
    }

    /// Accepts `SYN_SENT`, `syn_sent`, `TCP_SYN_SENT` or `syn-sent`.
    public init?(name: String) {
        var key = String(name.uppercased().map { $0 == "-" ? "_" : $0 })
        if key.hasPrefix("TCP_") { key.removeFirst(4) }
        guard let state = TCPState.allCases.first(where: { $0.name == key }) else { return nil }
        self = state
    }
}
