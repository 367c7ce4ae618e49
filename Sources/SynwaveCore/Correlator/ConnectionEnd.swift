/// How a connection ended. Decided from the transitions, errors and resets seen; `unknown`
/// is said, never guessed.
public enum ConnectionEnd: String, Sendable, CaseIterable {
    /// A normal FIN close.
    case closed
    /// Our SYN was answered with a reset (ECONNREFUSED).
    case refused
    /// SYN_SENT to CLOSE with ETIMEDOUT after SYN retransmits.
    case connectTimeout = "connect_timeout"
    /// The application gave up while SYN_SENT.
    case connectAborted = "connect_aborted"
    case resetReceived = "reset_received"
    /// We sent a reset (the record says why: linger-0 close, close with unread data, ...).
    case resetSent = "reset_sent"
    /// ETIMEDOUT while synchronized with data outstanding.
    case retransmitTimeout = "retransmit_timeout"
    /// Keepalive probes exhausted (reset reason TCP_KEEPALIVE_TIMEOUT, or ETIMEDOUT with probes out).
    case keepaliveTimeout = "keepalive_timeout"
    /// The server's listener reset a connection the client saw established: its accept queue
    /// was full and tcp_abort_on_overflow is on.
    case acceptQueueOverflowReset = "accept_queue_overflow_reset"
    case unknown

    /// The error every connection with this end reports, so a view need not repeat it.
    public var impliedError: String? {
        switch self {
        case .refused: "ECONNREFUSED"
        case .connectTimeout, .retransmitTimeout, .keepaliveTimeout: "ETIMEDOUT"
        case .resetReceived, .acceptQueueOverflowReset: "ECONNRESET"
        case .closed, .connectAborted, .resetSent, .unknown: nil
        }
    }

    public init?(name: String) {
        self.init(rawValue: String(name.lowercased().map { $0 == "-" ? "_" : $0 }))
    }
}

public enum ConnectionRole: String, Sendable, CaseIterable {
    case client, server
}

/// Errno names for the errors TCP reports and the bpf(2) refusals synwave explains; others
/// print as their number.
public enum ErrnoName {
    private static let names: [Int32: String] = [
        0: "none", 1: "EPERM", 2: "ENOENT", 4: "EINTR", 7: "E2BIG", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
        14: "EFAULT", 16: "EBUSY", 22: "EINVAL", 28: "ENOSPC", 32: "EPIPE", 95: "EOPNOTSUPP", 524: "ENOTSUPP",
        71: "EPROTO", 90: "EMSGSIZE", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN",
        101: "ENETUNREACH", 103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 107: "ENOTCONN",
        110: "ETIMEDOUT", 111: "ECONNREFUSED", 112: "EHOSTDOWN", 113: "EHOSTUNREACH",
    ]

    public static func name(_ errno: Int32) -> String {
        names[errno] ?? "E\(errno)"
    }
}

enum Errno {
    static let connectionRefused: Int32 = 111
    static let timedOut: Int32 = 110
    static let connectionReset: Int32 = 104
    static let brokenPipe: Int32 = 32
}
