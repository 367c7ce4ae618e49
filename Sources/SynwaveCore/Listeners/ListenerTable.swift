/// One listener's line in `synwave listeners`: current depths from the last poll, peaks and
/// drops since synwave started watching it.
public struct ListenerRow: Equatable, Sendable {
    public var cookie: UInt64
    public var listener: ListenerAddress
    public var namespaceName: String
    public var owner: SocketOwner?
    public var inode: UInt64
    /// Half-open requests now: the listener's SYN queue length, or where only sock_diag is
    /// read, the request sockets matched to this listener.
    public var synQueue: UInt32
    public var maxSynQueue: UInt32
    public var acceptQueue: UInt32
    public var maxAcceptQueue: UInt32
    /// listen()'s backlog as the kernel capped it; both queues hold one more.
    public var backlog: UInt32
    /// Final ACKs and SYNs dropped because the accept queue was full (the listener's share of
    /// the namespace's ListenOverflows).
    public var acceptOverflows: UInt64
    /// Of those, final ACKs: counted exactly by the kernel event.
    public var ackDrops: UInt64
    /// SYNs dropped while the SYN queue was full (the listener's share of TCPReqQFullDrop).
    public var synDrops: UInt64
    public var synackRetransmits: UInt64
    /// Every drop of this listener (sk_drops) since synwave started watching it.
    public var drops: UInt64

    public var acceptQueueFull: Bool { acceptQueue > backlog }
    public var synQueueFull: Bool { synQueue > backlog }
}

/// A namespace's counters since synwave started watching it.
public struct NamespaceRow: Equatable, Sendable {
    public var netns: UInt32
    public var name: String
    public var counters: NamespaceCounters
}

public struct ListenerReport: Equatable, Sendable {
    public var rows: [ListenerRow]
    public var namespaces: [NamespaceRow]

    public init(rows: [ListenerRow], namespaces: [NamespaceRow]) {
        self.rows = rows
        self.namespaces = namespaces
    }
}

/// Turns successive polls (sock_diag listeners and requests, namespace counters) and the BPF
/// programs' per-listener statistics into `ListenerRow`s. Pure: no I/O, no clock.
///
/// SYNs dropped on a full queue are consumed by the kernel without any event; they show only
/// in the listener's sk_drops, together with the final ACKs (which the kernel event counts
/// exactly). The remainder is split by which queue was full: the accept queue (a ListenOverflow)
/// when the last poll or the kernel's last sample found it full, the SYN queue otherwise.
public struct ListenerTable: Sendable {
    private struct Tracked: Sendable {
        /// sk_drops when first seen, for a listener older than synwave.
        var dropsBaseline: UInt64
        var lastDrops: UInt64 = 0
        var lastAckDrops: UInt64 = 0
        var synDropsAcceptFull: UInt64 = 0
        var synDropsSynFull: UInt64 = 0
        var maxSynQueue: UInt32 = 0
        var maxAcceptQueue: UInt32 = 0
        var acceptFullAtLastPoll = false
        var lastSeenUpdate: UInt64 = 0
    }

    private var tracked: [UInt64: Tracked] = [:]
    private var updates: UInt64 = 0
    private var namespaceBaselines: [UInt32: NamespaceCounters] = [:]
    /// sk_drops counts each final ACK dropped on a full accept queue this many times: once in
    /// tcp_listendrop(), once more when tcp_v4_rcv/tcp_v6_rcv discard the segment on the
    /// listener (verified on 6.18; a SYN dropped on a full queue counts once).
    public var dropsPerAckOverflow: UInt64

    public init(dropsPerAckOverflow: UInt64 = 2) {
        self.dropsPerAckOverflow = dropsPerAckOverflow
    }

    /// `owner` maps a socket inode to the process holding it.
    public mutating func update(polls: [NamespacePoll], kernel: [UInt64: ListenerKernelStats],
                                owner: (UInt64) -> SocketOwner? = { _ in nil }) -> ListenerReport {
        var rows: [ListenerRow] = []
        rows.reserveCapacity(polls.reduce(0) { $0 + $1.listeners.count })
        var namespaces: [NamespaceRow] = []
        updates += 1
        for poll in polls {
            // A namespace seen for the first time: its listeners predate synwave (or this poll).
            let firstSight = namespaceBaselines[poll.netns] == nil
            if firstSight { namespaceBaselines[poll.netns] = poll.counters }
            namespaces.append(NamespaceRow(netns: poll.netns, name: poll.name,
                                           counters: poll.counters.since(namespaceBaselines[poll.netns]!)))
            let halfOpen = Self.halfOpenCounts(poll)
            for (index, snapshot) in poll.listeners.enumerated() {
                let stats = kernel[snapshot.cookie] ?? ListenerKernelStats()
                var t = tracked[snapshot.cookie]
                    ?? Tracked(dropsBaseline: firstSight ? UInt64(snapshot.drops) : 0)
                let synQueue = snapshot.synQueue ?? halfOpen[index]
                let drops = UInt64(snapshot.drops) >= t.dropsBaseline ? UInt64(snapshot.drops) - t.dropsBaseline : 0
                let newDrops = drops >= t.lastDrops ? drops - t.lastDrops : 0
                let newAckDrops = stats.acceptOverflows >= t.lastAckDrops ? stats.acceptOverflows - t.lastAckDrops : 0
                let ackShare = newAckDrops * dropsPerAckOverflow
                let newSynDrops = newDrops > ackShare ? newDrops - ackShare : 0
                let acceptFull = snapshot.acceptQueue > snapshot.backlog
                if acceptFull || t.acceptFullAtLastPoll || stats.acceptQueueFullNow {
                    t.synDropsAcceptFull += newSynDrops
                } else {
                    t.synDropsSynFull += newSynDrops
                }
                t.lastDrops = drops
                t.lastAckDrops = stats.acceptOverflows
                t.acceptFullAtLastPoll = acceptFull
                t.maxSynQueue = max(t.maxSynQueue, synQueue, stats.maxSynQueue)
                t.maxAcceptQueue = max(t.maxAcceptQueue, snapshot.acceptQueue, stats.maxAcceptQueue)
                t.lastSeenUpdate = updates
                tracked[snapshot.cookie] = t
                rows.append(ListenerRow(
                    cookie: snapshot.cookie, listener: snapshot.listener, namespaceName: poll.name,
                    owner: owner(snapshot.inode), inode: snapshot.inode,
                    synQueue: synQueue, maxSynQueue: t.maxSynQueue,
                    acceptQueue: snapshot.acceptQueue, maxAcceptQueue: t.maxAcceptQueue, backlog: snapshot.backlog,
                    acceptOverflows: stats.acceptOverflows + t.synDropsAcceptFull, ackDrops: stats.acceptOverflows,
                    synDrops: t.synDropsSynFull, synackRetransmits: stats.synackRetransmits, drops: drops))
            }
        }
        // Closed listeners are forgotten; a namespace that vanished keeps its baseline (harmless).
        if tracked.count > rows.count { tracked = tracked.filter { $0.value.lastSeenUpdate == updates } }
        // By namespace and port; sorting small keys, not the rows, keeps this cheap for 10k listeners.
        let keys = rows.map { (UInt64($0.listener.netns) << 32 | UInt64($0.listener.port) << 16, $0.cookie) }
        let order = rows.indices.sorted { keys[$0] < keys[$1] }
        return ListenerReport(rows: order.map { rows[$0] }, namespaces: namespaces)
    }

    /// Request sockets per listener (same index as `poll.listeners`): matched by port and exact
    /// address, else by port on a wildcard listener (an IPv4 request may sit on an IPv6 one).
    /// With several listeners on one port (SO_REUSEPORT) they all go to the first.
    static func halfOpenCounts(_ poll: NamespacePoll) -> [UInt32] {
        var counts = [UInt32](repeating: 0, count: poll.listeners.count)
        guard !poll.requests.isEmpty else { return counts }
        var byPort: [UInt16: [Int]] = [:]
        for (index, l) in poll.listeners.enumerated() { byPort[l.listener.port, default: []].append(index) }
        for request in poll.requests {
            guard let candidates = byPort[request.local.port] else { continue }
            let address = request.local.address.unmapped
            let exact = candidates.first { poll.listeners[$0].listener.address.unmapped == address }
            let wildcard = candidates.first { poll.listeners[$0].listener.address.isUnspecified }
            if let index = exact ?? wildcard ?? candidates.first { counts[index] += 1 }
        }
        return counts
    }
}
