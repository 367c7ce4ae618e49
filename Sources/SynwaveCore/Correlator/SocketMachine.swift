/// One socket's connection, as a value-type state machine: events in, actions out.
/// Kept small (it is stored per tracked socket): transitions are packed into words and the
/// record is only built when the connection ends.
public struct SocketMachine: Sendable {
    /// Open: transitions arriving. Closing: CLOSE seen; the error report and destroy that
    /// follow it (sometimes from another CPU) are still merged until the grace period ends.
    public enum State: UInt8, Sendable { case open, closing }

    public enum Action: Equatable, Sendable {
        case none
        /// The record is complete: write it and forget the socket.
        case finish
        /// A new connection started on the same socket (connect() again after a failure):
        /// write this record, then start a new one from the same event.
        case finishAndRestart
        /// The event repeats one already merged.
        case duplicate
        /// More transitions than a record keeps.
        case truncated
        /// The socket was snapshot at start but this event begins its connection (it opened
        /// between attach and snapshot): forget the snapshot, no record, start afresh.
        case restart
    }

    public static let maxTransitions = 6

    // Stored in declaration order, so grouped by alignment (widest first) to leave no
    // padding: this struct is most of what a tracked socket costs.
    public private(set) var startNs: UInt64
    public private(set) var lastNs: UInt64
    public private(set) var closeNs: UInt64 = 0
    public private(set) var comm: TaskName
    /// old state (4 bits) | new state (4 bits) | ns since startNs (56 bits), in time order.
    private var transitions = InlineArray<6, UInt64>(repeating: 0)
    public private(set) var socket: SocketIdentity
    public private(set) var state: State = .open
    public let role: ConnectionRole
    public let firstSeenMidLife: Bool
    public private(set) var netns: UInt32
    /// The socket's cgroup v2 id, from the first event that carried one (0: none).
    public private(set) var cgroupID: UInt64 = 0
    public private(set) var pid: UInt32
    private var error: Int32 = 0
    private var packetsOutAtError: UInt32 = 0
    private var totals: PackedTotals?
    public private(set) var ownerInferred: Bool
    private var transitionCount: UInt8 = 0
    private var resetsReceived: UInt8 = 0
    private var resetsSentCount: UInt8 = 0
    private var firstResetSent: ResetReason = .unknown
    private var lastResetSent: ResetReason = .unknown
    private var resetByListener = false
    /// The CLOSE transition never came: the socket's destruction ended the record.
    private var closeInferred = false
    /// Neither CLOSE nor destruction came, and the kernel's own table no longer has the socket.
    private var closeLost = false
    private var endpoints: PackedEndpoints?
    private var probesOut: UInt8 = 0
    private var retransmits = RetransmitCounts()

    /// The socket's identity changes once at most: from address to cookie (`Correlator.rekeyedClone`).
    mutating func rekey(_ identity: SocketIdentity) {
        socket = identity
    }

    /// Starts a machine from the first event seen for a socket.
    public init(first event: StateEvent, owner: (pid: UInt32, comm: TaskName)?) {
        socket = event.socket
        netns = event.netns
        startNs = event.timestampNs
        lastNs = event.timestampNs
        switch (event.oldState, event.newState) {
        case (.close, .synSent):
            role = .client
            firstSeenMidLife = false
        case (.listen, .synRecv):
            role = .server
            firstSeenMidLife = false
        default:
            role = Self.roleSeenMidLife(event)
            firstSeenMidLife = true
        }
        if role == .server, !Self.isSyscallDriven(event), let owner {
            pid = owner.pid
            comm = owner.comm
            ownerInferred = true
        } else if role == .server, !Self.isSyscallDriven(event) {
            pid = 0
            comm = .empty
            ownerInferred = true
        } else {
            pid = event.tgid
            comm = event.comm
            ownerInferred = false
        }
        _ = apply(event)
    }

    /// A connection open before tracing started: its state at the snapshot is its first mark.
    public init(existing: ExistingConnection, nowNs: UInt64) {
        socket = existing.socket
        netns = existing.netns
        startNs = nowNs
        lastNs = nowNs
        role = existing.isServer ? .server : .client
        firstSeenMidLife = true
        pid = existing.owner?.pid ?? 0
        comm = existing.owner?.comm ?? .empty
        ownerInferred = existing.owner == nil
        endpoints = PackedEndpoints(existing.endpoints)
        // The state found, as a transition from the state to itself (never a real one).
        insertInTimeOrder(Self.stateBits(old: existing.state, new: existing.state))
    }

    private static func isSnapshotMark(_ word: UInt64) -> Bool { oldState(word) == newState(word) }

    private var isOnlySnapshot: Bool { transitionCount == 1 && Self.isSnapshotMark(transitions[0]) }

    /// A socket first seen mid-life: a guess from states only servers or clients pass through.
    private static func roleSeenMidLife(_ event: StateEvent) -> ConnectionRole {
        switch event.oldState {
        case .synRecv: .server
        case .synSent: .client
        default: event.oldState == .listen ? .server : .client
        }
    }

    /// The first transition of every connection this host takes part in.
    static func startsConnection(_ event: StateEvent) -> Bool {
        (event.oldState == .close && event.newState == .synSent) || (event.oldState == .listen && event.newState == .synRecv)
    }

    /// Transitions made by the owner's own system call (connect, close, shutdown, listen):
    /// only then is the current task the socket's owner.
    static func isSyscallDriven(_ event: StateEvent) -> Bool {
        switch (event.oldState, event.newState) {
        case (.close, .synSent), (.close, .listen), (.established, .finWait1), (.closeWait, .lastAck),
             (.synRecv, .finWait1):
            true
        default:
            false
        }
    }

    // MARK: Events

    public mutating func apply(_ event: StateEvent) -> Action {
        if cgroupID == 0 { cgroupID = event.cgroupID }
        if state == .closing, event.oldState == .close, event.newState == .synSent {
            return .finishAndRestart
        }
        if isOnlySnapshot, Self.startsConnection(event) { return .restart }
        let key = Self.stateBits(event)
        for i in 0..<Int(transitionCount) where transitions[i] & 0xFF == key {
            return .duplicate
        }
        if event.timestampNs < startNs {
            // Arrived from another CPU ahead of what we saw first: rebase every offset.
            let shift = startNs - event.timestampNs
            for i in 0..<Int(transitionCount) { transitions[i] += shift << 8 }
            startNs = event.timestampNs
        }
        lastNs = max(lastNs, event.timestampNs)
        if Self.isSyscallDriven(event), event.tgid != 0 {
            pid = event.tgid
            comm = event.comm
            ownerInferred = false
        }
        if let tuple = Self.endpoints(of: event) { endpoints = PackedEndpoints(tuple) }
        if event.error != 0, error == 0 { error = event.error }
        if event.newState == .close {
            state = .closing
            closeNs = event.timestampNs
            if let t = event.totals {
                totals = PackedTotals(bytesSent: t.bytesAcked, bytesReceived: t.bytesReceived, srttMicros: t.srttMicros, mss: t.mssCache)
            }
        }
        guard Int(transitionCount) < Self.maxTransitions else { return .truncated }
        insertInTimeOrder(Self.pack(event, since: startNs))
        return .none
    }

    public mutating func apply(_ event: RetransmitEvent) {
        lastNs = max(lastNs, event.timestampNs)
        retransmits.count(event)
    }

    /// SYN-ACKs retransmitted for this connection's request, before the socket existed.
    public mutating func addSynackRetransmits(_ count: UInt16) {
        retransmits.synack &+= count
    }

    public mutating func apply(_ event: ResetEvent) {
        lastNs = max(lastNs, event.timestampNs)
        switch event.direction {
        case .received:
            resetsReceived &+= 1
        case .sent:
            if resetsSentCount == 0 { firstResetSent = event.reason }
            lastResetSent = event.reason
            resetsSentCount &+= 1
        }
    }

    /// What the kernel counted for this connection besides its transitions (`AssembledConnection`):
    /// the same fields the retransmit, reset and error events would have set.
    mutating func merge(evidenceOf c: AssembledConnection) {
        lastNs = max(lastNs, c.timestampNs)
        retransmits.syn &+= c.retransmits.syn
        retransmits.data &+= c.retransmits.data
        retransmits.fin &+= c.retransmits.fin
        retransmits.tlp &+= c.retransmits.tlp
        resetsReceived &+= c.resetsReceived
        if c.resetsSent > 0 {
            if resetsSentCount == 0 { firstResetSent = c.firstResetReason }
            lastResetSent = c.lastResetReason
            resetsSentCount &+= c.resetsSent
        }
        if c.error != 0 { error = c.error }
        probesOut = c.probesOut
        packetsOutAtError = c.packetsOut
        if endpoints == nil, let tuple = c.endpoints { endpoints = PackedEndpoints(tuple) }
    }

    /// The peer's listener (not a child socket) sent the reset this connection received.
    public mutating func markResetByListener() {
        resetByListener = true
    }

    public mutating func apply(_ event: SocketEvent) -> Action {
        lastNs = max(lastNs, event.timestampNs)
        switch event.kind {
        case .error:
            if error == 0 || event.error != 0 { error = event.error }
            probesOut = event.probesOut
            packetsOutAtError = event.packetsOut
            if endpoints == nil, let tuple = event.endpoints, !tuple.isWiped { endpoints = PackedEndpoints(tuple) }
            return .none
        case .destroy:
            if state == .open { inferClose(atNs: event.timestampNs) }
            return .finish
        }
    }

    /// The kernel destroys a socket only after its CLOSE transition, so that transition was lost
    /// (some kernels run no BPF program for a firing, see `FiringCheck`): add it from the last
    /// state seen, at the destruction's time, and say so in the record.
    private mutating func inferClose(atNs ns: UInt64) {
        state = .closing
        closeInferred = true
        closeNs = max(ns, startNs)
        lastNs = max(lastNs, closeNs)
        guard transitionCount > 0, Int(transitionCount) < Self.maxTransitions,
              let last = Self.newState(transitions[Int(transitionCount) - 1]), last != .close else { return }
        insertInTimeOrder((closeNs - startNs) << 8 | Self.stateBits(old: last, new: .close))
    }

    /// The kernel no longer has this socket, yet none of its closing events came (they fired
    /// while no BPF program could run): the record ends at the last event seen, marked so.
    mutating func markCloseLost() {
        state = .closing
        closeLost = true
        closeNs = lastNs
    }

    // MARK: Queries

    public var localEndpoints: Endpoints? { endpoints?.unpacked }

    // MARK: The record

    public func record(endNs: UInt64) -> ConnectionRecord {
        var states: [ConnectionRecord.StateMark] = []
        states.reserveCapacity(Int(transitionCount) + 1)
        var handshakeStart: UInt64?
        var handshakeMicros: UInt64?
        var closedFirst: ConnectionRecord.ClosedFirst?
        var timeWait = false
        for i in 0..<Int(transitionCount) {
            let word = transitions[i]
            let (old, new, offset) = (Self.oldState(word), Self.newState(word), word >> 8)
            let isSnapshot = Self.isSnapshotMark(word)
            if i == 0, let old, !isSnapshot { states.append(.init(state: old, offsetMicros: offset / 1000)) }
            if let new { states.append(.init(state: new, offsetMicros: offset / 1000)) }
            if !isSnapshot, new == .synSent || new == .synRecv { handshakeStart = offset }
            if new == .established, let start = handshakeStart, handshakeMicros == nil {
                handshakeMicros = (offset - start) / 1000
            }
            if closedFirst == nil {
                if new == .finWait1 { closedFirst = .local }
                if new == .closeWait { closedFirst = .peer }
            }
            if new == .close, old == .finWait2 || old == .closing { timeWait = true }
        }
        let end = classify()
        if end != .closed { timeWait = false }
        return ConnectionRecord(
            socket: socket, netns: netns, role: role, pid: pid, comm: comm, ownerInferred: ownerInferred,
            firstSeenMidLife: firstSeenMidLife, closeInferred: closeInferred, closeLost: closeLost,
            endpoints: endpoints?.unpacked, states: states,
            startNs: startNs, endNs: max(endNs, startNs), handshakeMicros: handshakeMicros,
            closedFirst: closedFirst, timeWait: timeWait,
            bytesSent: totals?.bytesSent, bytesReceived: totals?.bytesReceived,
            srttMicros: totals?.srttMicros, mss: totals?.mss,
            retransmits: retransmits, resetsSent: resetReasons, resetsReceived: UInt32(resetsReceived),
            error: error == 0 ? nil : ErrnoName.name(error), cgroupID: cgroupID, end: end)
    }

    private var resetReasons: [ResetReason] {
        switch resetsSentCount {
        case 0: []
        case 1: [firstResetSent]
        default: [firstResetSent] + Array(repeating: lastResetSent, count: Int(resetsSentCount) - 1)
        }
    }

    /// Why it ended, from the evidence in order of strength.
    func classify() -> ConnectionEnd {
        guard state == .closing, let lastClose = lastTransition(into: .close) else {
            // A lost close: only errors and resets tell how it ended; FIN states alone do not.
            return closeLost ? classifyFromEvidence(finSeenMeansClosed: false) : .unknown
        }
        if lastClose == .synSent {
            if error == Errno.connectionRefused || resetsReceived > 0 { return .refused }
            if error == Errno.timedOut { return .connectTimeout }
            if error == 0 { return .connectAborted }
            return .unknown
        }
        return classifyFromEvidence(finSeenMeansClosed: true)
    }

    /// The end the errors, resets and states show, once the handshake is past.
    private func classifyFromEvidence(finSeenMeansClosed: Bool) -> ConnectionEnd {
        if resetsSentCount > 0, firstResetSent == .keepaliveTimeout || lastResetSent == .keepaliveTimeout {
            return .keepaliveTimeout
        }
        if error == Errno.timedOut {
            if probesOut > 0, packetsOutAtError == 0 { return .keepaliveTimeout }
            return .retransmitTimeout
        }
        if resetsReceived > 0 {
            if resetByListener, role == .client { return .acceptQueueOverflowReset }
            return .resetReceived
        }
        // Before the error check: an aborting close (SO_LINGER 0) sets ECONNRESET on our own socket.
        if resetsSentCount > 0 { return .resetSent }
        if error == Errno.connectionReset || error == Errno.brokenPipe { return .resetReceived }
        if finSeenMeansClosed, contains(where: { [.finWait1, .closeWait, .lastAck, .closing, .finWait2].contains($0.new) }) {
            return .closed
        }
        return .unknown
    }

    private func lastTransition(into state: TCPState) -> TCPState? {
        var found: TCPState?
        for i in 0..<Int(transitionCount) where Self.newState(transitions[i]) == state {
            found = Self.oldState(transitions[i])
        }
        return found
    }

    private func contains(where predicate: ((old: TCPState?, new: TCPState?)) -> Bool) -> Bool {
        for i in 0..<Int(transitionCount) {
            let word = transitions[i]
            if predicate((Self.oldState(word), Self.newState(word))) { return true }
        }
        return false
    }

    // MARK: Packing

    private static func pack(_ event: StateEvent, since start: UInt64) -> UInt64 {
        let offset = event.timestampNs >= start ? event.timestampNs - start : 0
        return (min(offset, (1 << 56) - 1) << 8) | stateBits(event)
    }

    /// The low byte of a packed transition: which transition it is, without its time.
    private static func stateBits(_ event: StateEvent) -> UInt64 {
        stateBits(old: event.oldState, new: event.newState)
    }

    private static func stateBits(old: TCPState, new: TCPState) -> UInt64 {
        UInt64(new.rawValue & 0xF) << 4 | UInt64(old.rawValue & 0xF)
    }

    private static func oldState(_ word: UInt64) -> TCPState? { TCPState(rawValue: UInt8(word & 0xF)) }
    private static func newState(_ word: UInt64) -> TCPState? { TCPState(rawValue: UInt8((word >> 4) & 0xF)) }

    private mutating func insertInTimeOrder(_ word: UInt64) {
        var index = Int(transitionCount)
        while index > 0, transitions[index - 1] >> 8 > word >> 8 {
            transitions[index] = transitions[index - 1]
            index -= 1
        }
        transitions[index] = word
        transitionCount += 1
    }

    /// The event's tuple while it is valid: the kernel wipes ports once the socket is unhashed,
    /// and a connecting socket has no local port yet.
    private static func endpoints(of event: StateEvent) -> Endpoints? {
        guard event.sourcePort != 0, event.destinationPort != 0 else { return nil }
        return Endpoints(localAddress: event.sourceAddress, localPort: event.sourcePort,
                         remoteAddress: event.destinationAddress, remotePort: event.destinationPort)
    }
}

/// The tcp_sock totals a record reports, without the rest.
struct PackedTotals: Sendable {
    var bytesSent: UInt64
    var bytesReceived: UInt64
    var srttMicros: UInt32
    var mss: UInt32
}

/// Endpoints in 36 bytes instead of an enum pair's 56: addresses as raw words plus one family bit.
struct PackedEndpoints: Sendable {
    private var local: (UInt64, UInt64)
    private var remote: (UInt64, UInt64)
    private var localPort: UInt16
    private var remotePort: UInt16
    private var isIPv6: Bool

    init(_ e: Endpoints) {
        (local, isIPv6) = Self.words(e.localAddress)
        (remote, _) = Self.words(e.remoteAddress)
        localPort = e.localPort
        remotePort = e.remotePort
    }

    private static func words(_ address: IPAddress) -> ((UInt64, UInt64), Bool) {
        switch address {
        case .v4(let a): ((UInt64(a), 0), false)
        case .v6(let high, let low): ((high, low), true)
        }
    }

    private func address(_ words: (UInt64, UInt64)) -> IPAddress {
        isIPv6 ? .v6(words.0, words.1) : .v4(UInt32(truncatingIfNeeded: words.0))
    }

    var unpacked: Endpoints {
        Endpoints(localAddress: address(local), localPort: localPort, remoteAddress: address(remote), remotePort: remotePort)
    }
}
