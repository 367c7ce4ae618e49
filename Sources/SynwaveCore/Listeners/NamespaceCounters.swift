/// The listener-related MIB counters of one network namespace (/proc/net/netstat, TcpExt).
/// The kernel counts these per namespace only, never per listener.
public struct NamespaceCounters: Equatable, Sendable {
    /// Final ACKs and SYNs dropped because an accept queue was full.
    public var listenOverflows: UInt64 = 0
    /// Every drop by a listener (includes ListenOverflows).
    public var listenDrops: UInt64 = 0
    /// SYNs dropped because a SYN queue was full and syncookies were off.
    public var reqQueueFullDrops: UInt64 = 0
    /// SYNs answered with a cookie because a SYN queue was full.
    public var reqQueueFullCookies: UInt64 = 0
    public var syncookiesSent: UInt64 = 0
    public var syncookiesReceived: UInt64 = 0
    public var syncookiesFailed: UInt64 = 0

    public init() {}

    /// Sets the counter the kernel calls `name` (a TcpExt name); false for the ones not kept.
    mutating func set(_ name: Substring, _ value: UInt64) -> Bool {
        switch name {
        case "ListenOverflows": listenOverflows = value
        case "ListenDrops": listenDrops = value
        case "TCPReqQFullDrop": reqQueueFullDrops = value
        case "TCPReqQFullDoCookies": reqQueueFullCookies = value
        case "SyncookiesSent": syncookiesSent = value
        case "SyncookiesRecv": syncookiesReceived = value
        case "SyncookiesFailed": syncookiesFailed = value
        default: return false
        }
        return true
    }

    /// Each counter's growth since `start` (0 if the kernel's counter went back).
    public func since(_ start: NamespaceCounters) -> NamespaceCounters {
        func delta(_ now: UInt64, _ then: UInt64) -> UInt64 { now >= then ? now - then : 0 }
        var d = NamespaceCounters()
        d.listenOverflows = delta(listenOverflows, start.listenOverflows)
        d.listenDrops = delta(listenDrops, start.listenDrops)
        d.reqQueueFullDrops = delta(reqQueueFullDrops, start.reqQueueFullDrops)
        d.reqQueueFullCookies = delta(reqQueueFullCookies, start.reqQueueFullCookies)
        d.syncookiesSent = delta(syncookiesSent, start.syncookiesSent)
        d.syncookiesReceived = delta(syncookiesReceived, start.syncookiesReceived)
        d.syncookiesFailed = delta(syncookiesFailed, start.syncookiesFailed)
        return d
    }

    /// Parses /proc/net/netstat: pairs of lines, "Prefix: names..." then "Prefix: values...".
    /// Counters missing from the text stay 0; malformed lines are skipped, never fatal.
    public init(netstat text: Substring) {
        self.init()
        var pendingNames: [Substring]?
        var pendingPrefix: Substring = ""
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let prefix = words.first else { continue }
            if let names = pendingNames, prefix == pendingPrefix {
                if prefix == "TcpExt:" {
                    for (name, value) in zip(names.dropFirst(), words.dropFirst()) {
                        if let number = UInt64(value) { _ = set(name, number) }
                    }
                }
                pendingNames = nil
            } else {
                pendingNames = words
                pendingPrefix = prefix
            }
        }
    }
}
