public struct CorrelatorOptions: Sendable {
    /// Sockets tracked at once; past it the least recently active are evicted (counted).
    public var capacity: Int
    /// Open records with no event for this long are dropped (counted): a lost close, never kept forever.
    public var idleTimeoutNs: UInt64
    /// After CLOSE, how long the error report and destroy that follow are still merged.
    public var closeGraceNs: UInt64

    /// The kernel assembles connections (`KernelTracer.assemblesConnections`): their records come
    /// whole, and the per-event records of connections are only live copies for event tails.
    public var assembledInKernel: Bool

    public init(capacity: Int = 262_144, idleTimeoutNs: UInt64 = 6 * 3600 * 1_000_000_000,
                closeGraceNs: UInt64 = 50_000_000, assembledInKernel: Bool = false) {
        self.assembledInKernel = assembledInKernel
        self.capacity = max(16, capacity)
        self.idleTimeoutNs = idleTimeoutNs
        self.closeGraceNs = closeGraceNs
    }
}

/// Turns the event stream into one record per connection. Pure: events and the current time
/// in, records and metric updates out; no I/O, no clock of its own.
public struct Correlator: Sendable {
    public let options: CorrelatorOptions
    public private(set) var metrics = CorrelatorMetrics()

    /// Machines are stored densely and found through an index, which keeps the per-socket cost
    /// close to the machine's own size.
    private var machines: [SocketMachine] = []
    private var index = SocketIndex()
    /// Sockets that reached CLOSE, in arrival order, waiting for their grace period.
    private var closing: [(socket: SocketIdentity, closeNs: UInt64)] = []
    private var closingHead = 0
    private var listeners = ListenerOwners()
    private var pendingSynacks = PendingSynacks()
    private var listenerResets = RecentListenerResets()
    private var finished = RecentlyFinished()
    private var lastExpiryScanNs: UInt64 = 0
    /// Idle sockets the kernel's table had when last asked (cookie -> when): not asked again for a while.
    private var confirmedNs: [UInt64: UInt64] = [:]

    public init(options: CorrelatorOptions = CorrelatorOptions()) {
        self.options = options
        // Address space for the cap, up front: pages become resident only as sockets fill
        // them, and the array never grows by copying (which would leave the outgrown buffers
        // resident in the allocator).
        machines.reserveCapacity(options.capacity)
    }

    public var tracked: Int { machines.count }

    public mutating func process(_ event: KernelEvent, into records: inout [ConnectionRecord]) {
        if options.assembledInKernel, Self.isLiveCopy(event) { return }
        switch event {
        case .state(let e): process(e, into: &records)
        case .retransmit(let e): process(e)
        case .reset(let e): process(e)
        case .socket(let e): process(e, into: &records)
        case .listener: break // about a listener's queues, not a connection
        case .cgroup: break // named by the outputs (CgroupResolver)
        case .connection(let c): join(c, into: &records)
        }
    }

    /// With connections assembled in the kernel, every per-event record of a connection is a
    /// copy sent for event tails; listeners' own events (opening, closing, SYN-ACKs, their
    /// resets and those of mini-sockets) still come only per event.
    private static func isLiveCopy(_ event: KernelEvent) -> Bool {
        switch event {
        case .state(let e):
            !(e.oldState == .close && e.newState == .listen) && !(e.oldState == .listen && e.newState == .close)
        case .retransmit(let e): e.kind != .synack
        case .reset(let e): e.socketKind == .full
        case .socket: true
        case .listener, .connection, .cgroup: false
        }
    }

    /// Writes the records whose grace period is over and drops long-idle ones.
    public mutating func tick(nowNs: UInt64, into records: inout [ConnectionRecord]) {
        finishGraceOver(nowNs: nowNs, into: &records)
        let scanEvery = max(1_000_000_000, options.idleTimeoutNs / 8)
        if nowNs >= lastExpiryScanNs &+ scanEvery {
            lastExpiryScanNs = nowNs
            let idle = options.idleTimeoutNs
            metrics.expired += UInt64(removeAll(where: { $0.state == .open && $0.lastNs &+ idle < nowNs }))
        }
    }

    /// At shutdown: writes every record that reached CLOSE, whatever its grace period. Sockets
    /// still open stay tracked (`tracked` says how many): they did not end, nor idle out.
    public mutating func finishClosing(into records: inout [ConnectionRecord]) {
        finishGraceOver(nowNs: .max, into: &records)
    }

    private mutating func finishGraceOver(nowNs: UInt64, into records: inout [ConnectionRecord]) {
        while closingHead < closing.count, closing[closingHead].closeNs &+ options.closeGraceNs <= nowNs {
            let (socket, closeNs) = closing[closingHead]
            closingHead += 1
            if let slot = index.find(socket, machines), machines[Int(slot)].state == .closing, machines[Int(slot)].closeNs == closeNs {
                finish(slot: Int(slot), into: &records)
            }
        }
        if closingHead > 1024, closingHead * 2 > closing.count {
            closing.removeFirst(closingHead)
            closingHead = 0
        }
    }

    // MARK: Reconciling with the kernel's socket table

    /// Open sockets with no event for `idleNs` and not found in the kernel's table within that
    /// time either, by namespace: the ones whose closing events may have been lost. Only those
    /// identified by cookie (tp_btf), the identity sock_diag reports. `idleNs` 0: every open one.
    public mutating func socketsToConfirm(idleNs: UInt64, nowNs: UInt64) -> [UInt32: [UInt64]] {
        var wanted: [UInt32: [UInt64]] = [:]
        var confirmed: [UInt64: UInt64] = [:]
        for machine in machines where machine.state == .open && machine.socket.kind == .cookie {
            let cookie = machine.socket.value
            if let at = confirmedNs[cookie], idleNs > 0, at &+ idleNs > nowNs, at >= machine.lastNs {
                confirmed[cookie] = at
                continue
            }
            if machine.lastNs &+ idleNs <= nowNs { wanted[machine.netns, default: []].append(cookie) }
        }
        confirmedNs = confirmed
        return wanted
    }

    /// The kernel's answer for sockets from `socketsToConfirm`: those `present` are not asked
    /// about again for a while; those `gone` end now, their records marked `close_lost`.
    public mutating func reconcile(present: [UInt64], gone: [UInt64], nowNs: UInt64, into records: inout [ConnectionRecord]) {
        for cookie in present { confirmedNs[cookie] = nowNs }
        metrics.idleSocketsConfirmed += UInt64(present.count)
        for cookie in gone {
            guard let slot = index.find(SocketIdentity(kind: .cookie, value: cookie), machines),
                  machines[Int(slot)].state == .open else { continue }
            machines[Int(slot)].markCloseLost()
            finish(slot: Int(slot), into: &records)
        }
    }

    // MARK: State changes

    private mutating func process(_ event: StateEvent, into records: inout [ConnectionRecord]) {
        if event.oldState == .close, event.newState == .listen {
            listeners.opened(event)
            return
        }
        if event.oldState == .listen, event.newState == .close {
            listeners.closed(event)
            return
        }
        guard let slot = index.find(event.socket, machines) ?? rekeyedClone(event) else {
            // An event of a socket already recorded is late, unless it opens a new connection on
            // it (connect() again): that one comes after the last one ended.
            if let endedNs = finished.endNs(of: event.socket),
               !SocketMachine.startsConnection(event) || event.timestampNs < endedNs {
                metrics.lateEvents += 1
                return
            }
            start(event)
            return
        }
        switch machines[Int(slot)].apply(event) {
        case .none:
            awaitGrace(after: event)
        case .finish:
            finish(slot: Int(slot), into: &records)
        case .finishAndRestart:
            finish(slot: Int(slot), into: &records)
            start(event)
        case .duplicate:
            metrics.duplicateTransitions += 1
        case .truncated:
            metrics.truncatedTransitions += 1
            awaitGrace(after: event)
        case .restart:
            remove(slot: Int(slot))
            start(event)
        }
    }

    /// A child whose LISTEN -> SYN_RECV came by address only (kernels that fire it before the
    /// child has a cookie of its own, see state.bpf.c): its next transition carries both, and
    /// moves its machine from the address to the cookie.
    private mutating func rekeyedClone(_ event: StateEvent) -> Int32? {
        guard event.oldState == .synRecv, event.socket.kind == .cookie, event.address != 0 else { return nil }
        let byAddress = SocketIdentity(kind: .skAddr, value: event.address)
        guard let slot = index.find(byAddress, machines) else { return nil }
        index.remove(byAddress, slot: slot, machines)
        machines[Int(slot)].rekey(event.socket)
        index.insert(event.socket, slot: slot, machines)
        return slot
    }

    /// Connections open before tracing started (a sock_diag snapshot taken after the programs
    /// were attached, so none falls between the two): tracked from now on, records marked
    /// first seen mid-life. Sockets already tracked from events are left alone. Returns how
    /// many were adopted.
    @discardableResult
    public mutating func adopt(_ existing: [ExistingConnection], nowNs: UInt64) -> Int {
        var adopted = 0
        for connection in existing where index.find(connection.socket, machines) == nil {
            track(SocketMachine(existing: connection, nowNs: nowNs), opened: false)
            adopted += 1
        }
        return adopted
    }

    private mutating func start(_ event: StateEvent) {
        var machine = SocketMachine(first: event, owner: listeners.owner(netns: event.netns, port: event.sourcePort))
        if machine.role == .server, let tuple = machine.localEndpoints,
           let synacks = pendingSynacks.take(netns: event.netns, tuple) {
            machine.addSynackRetransmits(synacks)
        }
        track(machine, opened: SocketMachine.startsConnection(event))
        awaitGrace(after: event)
    }

    /// Stores a new socket's machine, evicting the least recently active first at the cap.
    /// `opened`: it began with its opening transition (connect, or a listener's child), what the
    /// kernel's own counters count as an open too; a socket first seen mid-life (its opening
    /// transition withheld, or open before tracing started, or a late event) opened unseen.
    private mutating func track(_ machine: SocketMachine, opened: Bool) {
        if machines.count >= options.capacity { evictLeastRecentlyActive() }
        if opened { metrics.connectionsOpened[machine.role] += 1 }
        index.insert(machine.socket, slot: Int32(machines.count), machines)
        machines.append(machine)
    }

    /// A CLOSE starts the socket's grace period: `tick` writes its record once it is over.
    private mutating func awaitGrace(after event: StateEvent) {
        if event.newState == .close { closing.append((event.socket, event.timestampNs)) }
    }

    // MARK: Connections assembled in the kernel

    /// A connection the kernel assembled: replayed through the socket's state machine (the one
    /// adopted at start, if any), so records and their classification are the per-event path's.
    /// Opens, retransmits and resets were counted by the kernel (`KernelConnectionCounts`).
    private mutating func join(_ c: AssembledConnection, into records: inout [ConnectionRecord]) {
        let events = c.stateEvents()
        var machine: SocketMachine
        var rest = events[...]
        if let slot = index.find(c.socket, machines) {
            machine = machines[Int(slot)]
            remove(slot: Int(slot))
        } else if let first = rest.popFirst() {
            machine = SocketMachine(first: first, owner: listeners.owner(netns: c.netns, port: first.sourcePort))
            if machine.role == .server, let tuple = c.endpoints, let synacks = pendingSynacks.take(netns: c.netns, tuple) {
                machine.addSynackRetransmits(synacks)
            }
        } else {
            // Only retransmits or resets of a socket never seen changing state: nothing to build on.
            metrics.lateEvents += 1
            return
        }
        for event in rest {
            switch machine.apply(event) {
            case .duplicate: metrics.duplicateTransitions += 1
            case .truncated: metrics.truncatedTransitions += 1
            default: break
            }
        }
        machine.merge(evidenceOf: c)
        if c.resetsReceived > 0, machine.role == .client, let tuple = machine.localEndpoints,
           listenerResets.contains(peerOf: tuple, nearNs: c.lastResetReceivedNs) {
            machine.markResetByListener()
        }
        if c.sent == .atDestroy {
            _ = machine.apply(SocketEvent(timestampNs: c.timestampNs, socket: c.socket, netns: c.netns, kind: .destroy,
                                          state: .close))
        }
        record(machine, into: &records)
    }

    // MARK: Other events

    private mutating func process(_ event: RetransmitEvent) {
        metrics.retransmits.count(event)
        if event.kind == .synack {
            if let tuple = event.endpoints { pendingSynacks.add(netns: event.netns, tuple) }
            return
        }
        guard let slot = index.find(event.socket, machines) else {
            metrics.lateEvents += 1
            return
        }
        machines[Int(slot)].apply(event)
    }

    private mutating func process(_ event: ResetEvent) {
        if event.direction == .sent { metrics.resetsSent[event.reason] += 1 } else { metrics.resetsReceived += 1 }
        if event.direction == .sent, event.socketKind == .listener, let tuple = event.endpoints {
            listenerResets.add(tuple, atNs: event.timestampNs)
        }
        guard event.socketKind == .full, let socket = event.socket, let slot = index.find(socket, machines) else {
            if event.socketKind == .full { metrics.lateEvents += 1 }
            return
        }
        machines[Int(slot)].apply(event)
        if event.direction == .received, machines[Int(slot)].role == .client,
           let tuple = machines[Int(slot)].localEndpoints ?? event.endpoints,
           listenerResets.contains(peerOf: tuple, nearNs: event.timestampNs) {
            machines[Int(slot)].markResetByListener()
        }
    }

    private mutating func process(_ event: SocketEvent, into records: inout [ConnectionRecord]) {
        guard let slot = index.find(event.socket, machines) else {
            if event.kind == .error { metrics.lateEvents += 1 }
            return
        }
        if machines[Int(slot)].apply(event) == .finish { finish(slot: Int(slot), into: &records) }
    }

    // MARK: Storage

    private mutating func finish(slot: Int, into records: inout [ConnectionRecord]) {
        record(machines[slot], into: &records)
        remove(slot: slot)
    }

    /// The machine's record, counted in the end metrics.
    private mutating func record(_ machine: SocketMachine, into records: inout [ConnectionRecord]) {
        let record = machine.record(endNs: machine.closeNs != 0 ? machine.closeNs : machine.lastNs)
        metrics.connectionsEnded[record.end] += 1
        if record.closeInferred { metrics.closesInferred += 1 }
        if record.closeLost { metrics.closesLost += 1 }
        if let handshake = record.handshakeMicros { metrics.handshake.observe(Double(handshake) / 1e6) }
        if !record.firstSeenMidLife { metrics.duration.observe(Double(record.durationMicros) / 1e6) }
        records.append(record)
        finished.add(machine.socket, endNs: record.endNs)
    }

    private mutating func remove(slot: Int) {
        index.remove(slot: slot, from: &machines)
    }

    /// Returns how many were removed.
    private mutating func removeAll(where shouldRemove: (SocketMachine) -> Bool) -> Int {
        var slot = 0, removed = 0
        while slot < machines.count {
            if shouldRemove(machines[slot]) {
                remove(slot: slot)
                removed += 1
            } else {
                slot += 1
            }
        }
        return removed
    }

    /// Approximate LRU: evicts the sockets idle longer than a sampled 1/16 quantile, so a full
    /// table costs one scan per capacity/16 new sockets instead of a sort per insert.
    private mutating func evictLeastRecentlyActive() {
        let step = max(1, machines.count / 256)
        var sample: [UInt64] = []
        sample.reserveCapacity(256)
        for slot in stride(from: 0, to: machines.count, by: step) { sample.append(machines[slot].lastNs) }
        sample.sort()
        let cutoff = sample[max(0, sample.count / 16 - 1)]
        let removed = removeAll(where: { $0.lastNs <= cutoff })
        metrics.evicted += UInt64(removed)
        if removed == 0, let slot = machines.indices.min(by: { machines[$0].lastNs < machines[$1].lastNs }) {
            remove(slot: slot)
            metrics.evicted += 1
        }
    }
}
