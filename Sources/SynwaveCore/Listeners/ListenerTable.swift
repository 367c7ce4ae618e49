/// One listener's line in `synwave listeners`: current depths from the last poll, peaks and
/// drops since synwave started watching it.
public struct ListenerRow: Equatable, Sendable {
    public var cookie: UInt64
    public var listener: ListenerAddress
    public var namespaceName: String
    public var owner: SocketOwner?
    public var inode: UInt64
    /// The listener's cgroup v2 id (0: none), and the workload it names.
    public var cgroupID: UInt64 = 0
    public var workload: Workload?
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

    public init(cookie: UInt64, listener: ListenerAddress, namespaceName: String, owner: SocketOwner? = nil,
                inode: UInt64 = 0, synQueue: UInt32 = 0, maxSynQueue: UInt32 = 0, acceptQueue: UInt32 = 0,
                maxAcceptQueue: UInt32 = 0, backlog: UInt32 = 0, acceptOverflows: UInt64 = 0, ackDrops: UInt64 = 0,
                synDrops: UInt64 = 0, synackRetransmits: UInt64 = 0, drops: UInt64 = 0) {
        self.cookie = cookie
        self.listener = listener
        self.namespaceName = namespaceName
        self.owner = owner
        self.inode = inode
        self.synQueue = synQueue
        self.maxSynQueue = maxSynQueue
        self.acceptQueue = acceptQueue
        self.maxAcceptQueue = maxAcceptQueue
        self.backlog = backlog
        self.acceptOverflows = acceptOverflows
        self.ackDrops = ackDrops
        self.synDrops = synDrops
        self.synackRetransmits = synackRetransmits
        self.drops = drops
    }
    public var synQueueFull: Bool { synQueue > backlog }
}

/// A namespace's counters since synwave started watching it.
public struct NamespaceRow: Equatable, Sendable {
    public var netns: UInt32
    public var name: String
    public var counters: NamespaceCounters
    /// The workload owning the namespace (`NamespacePoll.owner`).
    public var owner: Workload? = nil
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
/// Incremental: a poll need only list the listeners that changed (the BPF listener iterator's
/// dumps of changes), and says when it is complete (every listener of its namespace: those
/// missing are gone). A listener neither in a poll nor with new kernel statistics is not
/// touched, so an idle host with 10,000 listeners costs next to nothing per poll.
///
/// SYNs dropped on a full queue are consumed by the kernel without any event; they show only
/// in the listener's sk_drops, together with the final ACKs (which the kernel event counts
/// exactly). The remainder is split by which queue was full: the accept queue (a ListenOverflow)
/// when the last poll or the kernel's last sample found it full, the SYN queue otherwise.
public struct ListenerTable: Sendable {
    private struct Tracked: Sendable {
        var row: ListenerRow
        var stats = ListenerKernelStats()
        /// sk_drops when first seen, for a listener older than synwave.
        var dropsBaseline: UInt64
        var lastDrops: UInt64 = 0
        var lastAckDrops: UInt64 = 0
        /// sk_drops increments that final ACKs already counted by the kernel event still owe:
        /// the statistics are read after the dump, so an ACK dropped in between shows there
        /// first, and its sk_drops at the next poll (not to be taken for SYN drops then).
        var pendingAckShare: UInt64 = 0
        var synDropsAcceptFull: UInt64 = 0
        var synDropsSynFull: UInt64 = 0
        var acceptFullAtLastPoll = false
        var lastSeenUpdate: UInt64 = 0
    }

    private var tracked: [UInt64: Tracked] = [:]
    private var updates: UInt64 = 0
    private var namespaceBaselines: [UInt32: NamespaceCounters] = [:]
    private var namespaceRows: [UInt32: NamespaceRow] = [:]
    /// sk_drops counts each final ACK dropped on a full accept queue this many times: once in
    /// tcp_listendrop(), once more when tcp_v4_rcv/tcp_v6_rcv discard the segment on the
    /// listener (verified on 6.18; a SYN dropped on a full queue counts once).
    public var dropsPerAckOverflow: UInt64

    public init(dropsPerAckOverflow: UInt64 = 2) {
        self.dropsPerAckOverflow = dropsPerAckOverflow
    }

    /// Every listener and namespace, by namespace and port.
    public var report: ListenerReport {
        ListenerReport(rows: Self.sorted(tracked.values.map(\.row)),
                       namespaces: namespaceRows.values.sorted { $0.netns < $1.netns })
    }

    /// Applies one poll of every watched namespace (a namespace missing from `polls` is no
    /// longer watched: its listeners are forgotten). Returns the rows and namespaces that
    /// changed, new ones included; `report` has them all. `owner` maps a socket inode to the
    /// process holding it.
    public mutating func update(polls: [NamespacePoll], kernel: [UInt64: ListenerKernelStats],
                                owner: (UInt64) -> SocketOwner? = { _ in nil },
                                workload: (UInt64) -> Workload? = { _ in nil }) -> ListenerReport {
        updates += 1
        var changed: [UInt64: ListenerRow] = [:]
        var changedNamespaces: [NamespaceRow] = []
        var complete: Set<UInt32> = []
        for poll in polls {
            // A namespace seen for the first time: its listeners predate synwave (or this poll).
            let firstSight = namespaceBaselines[poll.netns] == nil
            if firstSight { namespaceBaselines[poll.netns] = poll.counters }
            var namespace = NamespaceRow(netns: poll.netns, name: poll.name,
                                         counters: poll.counters.since(namespaceBaselines[poll.netns]!))
            namespace.owner = poll.owner
            if namespaceRows.updateValue(namespace, forKey: poll.netns) != namespace { changedNamespaces.append(namespace) }
            if poll.complete { complete.insert(poll.netns) }
            let halfOpen = Self.halfOpenCounts(poll)
            for (index, snapshot) in poll.listeners.enumerated() {
                let stats = kernel[snapshot.cookie] ?? ListenerKernelStats()
                var t = tracked[snapshot.cookie] ?? Tracked(
                    row: ListenerRow(cookie: snapshot.cookie, listener: snapshot.listener, namespaceName: poll.name),
                    dropsBaseline: firstSight ? UInt64(snapshot.drops) : 0)
                let row = t.row
                t.row.namespaceName = poll.name
                apply(snapshot, synQueue: snapshot.synQueue ?? halfOpen[index], stats: stats, to: &t)
                if t.row.owner == nil || row.inode != snapshot.inode { t.row.owner = owner(snapshot.inode) }
                if snapshot.cgroupID != 0, t.row.workload == nil || row.cgroupID != snapshot.cgroupID {
                    t.row.cgroupID = snapshot.cgroupID
                    t.row.workload = workload(snapshot.cgroupID)
                }
                t.lastSeenUpdate = updates
                if tracked.updateValue(t, forKey: snapshot.cookie) == nil || t.row != row { changed[snapshot.cookie] = t.row }
            }
        }
        // Listeners not in the poll whose kernel statistics moved (a burst between two polls).
        for (cookie, stats) in kernel where changed[cookie] == nil {
            guard var t = tracked[cookie], t.stats != stats else { continue }
            let row = t.row
            apply(stats: stats, to: &t)
            tracked[cookie] = t
            if t.row != row { changed[cookie] = t.row }
        }
        forgetListeners(polled: Set(polls.map(\.netns)), complete: complete)
        return ListenerReport(rows: Self.sorted(Array(changed.values)), namespaces: changedNamespaces)
    }

    /// Places owners found since (a rescan of /proc): rows whose owner changed join `changes`.
    public mutating func refreshOwners(_ owner: (UInt64) -> SocketOwner?, into changes: inout ListenerReport) {
        var placed: [UInt64: ListenerRow] = [:]
        for (cookie, t) in tracked {
            guard let found = owner(t.row.inode), found != t.row.owner else { continue }
            tracked[cookie]!.row.owner = found
            placed[cookie] = tracked[cookie]!.row
        }
        guard !placed.isEmpty else { return }
        for row in changes.rows where placed[row.cookie] == nil { placed[row.cookie] = row }
        changes.rows = Self.sorted(Array(placed.values))
    }

    /// A poll's view of one listener: current depths, drops split by the full queue, peaks.
    private func apply(_ snapshot: ListenerSnapshot, synQueue: UInt32, stats: ListenerKernelStats, to t: inout Tracked) {
        let drops = UInt64(snapshot.drops) >= t.dropsBaseline ? UInt64(snapshot.drops) - t.dropsBaseline : 0
        let newDrops = drops >= t.lastDrops ? drops - t.lastDrops : 0
        let ackShare = newAckShare(stats, t)
        let owed = ackShare + t.pendingAckShare
        let matched = min(owed, newDrops)
        let newSynDrops = newDrops - matched
        // What this poll's ACK drops still owe waits one observation of sk_drops, no longer:
        // an older debt would only hide real SYN drops.
        t.pendingAckShare = min(owed - matched, ackShare)
        t.lastAckDrops = stats.acceptOverflows
        let acceptFull = snapshot.acceptQueue > snapshot.backlog
        if acceptFull || t.acceptFullAtLastPoll || stats.acceptQueueFullNow {
            t.synDropsAcceptFull += newSynDrops
        } else {
            t.synDropsSynFull += newSynDrops
        }
        t.lastDrops = drops
        t.acceptFullAtLastPoll = acceptFull
        t.row.listener = snapshot.listener
        t.row.inode = snapshot.inode
        t.row.synQueue = synQueue
        t.row.acceptQueue = snapshot.acceptQueue
        t.row.backlog = snapshot.backlog
        t.row.drops = drops
        t.row.maxSynQueue = max(t.row.maxSynQueue, synQueue)
        t.row.maxAcceptQueue = max(t.row.maxAcceptQueue, snapshot.acceptQueue)
        show(stats, in: &t)
    }

    /// New kernel statistics of a listener the poll did not list (its counters did not move):
    /// its new ACK drops' sk_drops increments are still to come.
    private func apply(stats: ListenerKernelStats, to t: inout Tracked) {
        t.pendingAckShare += newAckShare(stats, t)
        t.lastAckDrops = stats.acceptOverflows
        show(stats, in: &t)
    }

    /// sk_drops increments due for the final ACKs dropped since the last look.
    private func newAckShare(_ stats: ListenerKernelStats, _ t: Tracked) -> UInt64 {
        (stats.acceptOverflows >= t.lastAckDrops ? stats.acceptOverflows - t.lastAckDrops : 0) * dropsPerAckOverflow
    }

    /// The kernel programs' view: exact final-ACK drops, SYN-ACK retransmits, peaks between polls.
    private func show(_ stats: ListenerKernelStats, in t: inout Tracked) {
        t.stats = stats
        t.row.maxSynQueue = max(t.row.maxSynQueue, stats.maxSynQueue)
        t.row.maxAcceptQueue = max(t.row.maxAcceptQueue, stats.maxAcceptQueue)
        t.row.ackDrops = stats.acceptOverflows
        t.row.acceptOverflows = stats.acceptOverflows + t.synDropsAcceptFull
        t.row.synDrops = t.synDropsSynFull
        t.row.synackRetransmits = stats.synackRetransmits
    }

    /// Closed listeners (missing from a complete poll of their namespace) and those of
    /// namespaces no longer watched are forgotten; a namespace that vanished keeps its baseline.
    private mutating func forgetListeners(polled: Set<UInt32>, complete: Set<UInt32>) {
        let unwatched = namespaceRows.keys.filter { !polled.contains($0) }
        for netns in unwatched { namespaceRows[netns] = nil }
        guard !complete.isEmpty || !unwatched.isEmpty else { return }
        let now = updates
        tracked = tracked.filter { _, t in
            let netns = t.row.listener.netns
            return polled.contains(netns) && (!complete.contains(netns) || t.lastSeenUpdate == now)
        }
    }

    /// By namespace and port; sorting small keys, not the rows, keeps this cheap for 10k listeners.
    private static func sorted(_ rows: [ListenerRow]) -> [ListenerRow] {
        let keys = rows.map { (UInt64($0.listener.netns) << 32 | UInt64($0.listener.port) << 16, $0.cookie) }
        return rows.indices.sorted { keys[$0] < keys[$1] }.map { rows[$0] }
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
