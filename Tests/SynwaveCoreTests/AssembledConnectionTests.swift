import CSynwaveABI
import Testing
@testable import SynwaveCore

/// A model of bpf/connection.bpf.h over a script's events: what the kernel would send when it
/// assembles each socket's connection itself. Listener events pass through unchanged, as the
/// programs send them; every connection's own event is folded into its socket's record.
private struct KernelModel {
    private(set) var output: [KernelEvent] = []
    private(set) var counts = KernelConnectionCounts()
    private var open: [SocketIdentity: AssembledConnection] = [:]
    private var order: [SocketIdentity] = []

    init(_ events: [KernelEvent]) {
        for event in events { fold(event) }
        for socket in order { if let c = open[socket] { output.append(.connection(c)) } }
    }

    private mutating func connection(_ socket: SocketIdentity, at ns: UInt64) -> AssembledConnection {
        if let c = open[socket] { return c }
        if !order.contains(socket) { order.append(socket) }
        return AssembledConnection(timestampNs: ns, socket: socket, netns: 1, startNs: ns, transitions: [])
    }

    private mutating func fold(_ event: KernelEvent) {
        switch event {
        case .state(let e):
            if (e.oldState == .close && e.newState == .listen) || (e.oldState == .listen && e.newState == .close) {
                output.append(event)
                return
            }
            if e.oldState == .close, e.newState == .synSent, let last = open[e.socket], last.transitions.count > 0 {
                output.append(.connection(last))  // connect() again: the last connection goes out
                open[e.socket] = nil
            }
            var c = connection(e.socket, at: e.timestampNs)
            if c.transitions.count == 0 && c.transitionsSeen == 0 && c.tgid == 0 { (c.tgid, c.comm) = (e.tgid, e.comm) }
            if e.oldState == .close && e.newState == .synSent { counts.opened[.client] += 1 }
            if e.oldState == .listen && e.newState == .synRecv { counts.opened[.server] += 1 }
            c.transitions.append(.init(old: e.oldState, new: e.newState, offsetNs: e.timestampNs - c.startNs))
            c.transitionsSeen += 1
            if SocketMachine.isSyscallDriven(e) { (c.tgid, c.comm, c.ownerKnown) = (e.tgid, e.comm, true) }
            if e.error != 0, c.error == 0 { c.error = e.error }
            if c.endpoints == nil, e.sourcePort != 0, e.destinationPort != 0 {
                c.endpoints = Endpoints(localAddress: e.sourceAddress, localPort: e.sourcePort,
                                        remoteAddress: e.destinationAddress, remotePort: e.destinationPort)
            }
            if e.newState == .close { c.totals = e.totals }
            c.timestampNs = e.timestampNs
            open[e.socket] = c
        case .retransmit(let e) where e.kind != .synack:
            var c = connection(e.socket, at: e.timestampNs)
            switch e.kind {
            case .syn: c.retransmits.syn += 1; counts.retransmits.syn += 1
            case .fin: c.retransmits.fin += 1; counts.retransmits.fin += 1
            default:
                if e.isTailLossProbe { c.retransmits.tlp += 1; counts.retransmits.tlp += 1 } else {
                    c.retransmits.data += 1; counts.retransmits.data += 1
                }
            }
            open[e.socket] = c
        case .reset(let e) where e.socketKind == .full:
            guard let socket = e.socket else { return }
            var c = connection(socket, at: e.timestampNs)
            if e.direction == .received {
                c.resetsReceived += 1
                c.lastResetReceivedNs = e.timestampNs
                counts.resetsReceived += 1
            } else {
                if c.resetsSent == 0 { c.firstResetReason = e.reason }
                c.lastResetReason = e.reason
                c.resetsSent += 1
                counts.resetsSent[e.reason] += 1
            }
            open[socket] = c
        case .socket(let e):
            var c = connection(e.socket, at: e.timestampNs)
            if e.kind == .error {
                if c.error == 0 || e.error != 0 { c.error = e.error }
                (c.probesOut, c.packetsOut) = (e.probesOut, e.packetsOut)
            } else {
                c.timestampNs = e.timestampNs
                if !c.transitions.all.contains(where: { $0.new == .close }) { c.sent = .atDestroy }
            }
            open[e.socket] = c
        default:
            output.append(event)
        }
    }
}

/// Scenarios of the correlator's own tests, each run twice: from every event (user space
/// assembles) and from what the kernel assembles. The records and metrics must be the same.
struct AssembledConnectionTests {
    nonisolated(unsafe) static let scenarios: [(String, (inout Script) -> Void)] = [
        ("normal close, client first", { s in
            s.handshake()
            s.state(Script.client, at: 5000, .established, .finWait1, comm: "app")
            s.state(Script.client, at: 5100, .finWait1, .finWait2, comm: "other")
            s.state(Script.client, at: 6000, .finWait2, .close, comm: "other", wiped: true, totals: totals)
            s.destroy(Script.client, at: 6001)
        }),
        ("server owner from its listener", { s in
            s.state(Script.listener, at: 0, .close, .listen, pid: 9, comm: "server")
            s.state(Script.server, at: 10, .listen, .synRecv, pid: 1, comm: "softirq")
            s.state(Script.server, at: 20, .synRecv, .established, pid: 1, comm: "softirq")
            s.state(Script.server, at: 900, .established, .closeWait, pid: 1, comm: "softirq")
            s.state(Script.server, at: 950, .closeWait, .lastAck, pid: 9, comm: "server")
            s.state(Script.server, at: 990, .lastAck, .close, pid: 1, comm: "softirq", totals: totals)
        }),
        ("refused", { s in
            s.state(Script.client, at: 0, .close, .synSent, wiped: true)
            s.reset(Script.client, at: 80, .received, state: .synSent)
            s.state(Script.client, at: 81, .synSent, .close, error: 111)
            s.error(Script.client, at: 82, 111)
        }),
        ("connect timeout", { s in
            s.state(Script.client, at: 0, .close, .synSent, wiped: true)
            s.retransmit(Script.client, at: 1_000_000, .syn, state: .synSent)
            s.retransmit(Script.client, at: 2_000_000, .syn, state: .synSent)
            s.state(Script.client, at: 3_000_000, .synSent, .close, pid: 0, comm: "swapper/1", error: 110)
        }),
        ("reset sent by an aborting close", { s in
            s.handshake()
            s.state(Script.client, at: 901, .established, .close, error: 104)
            s.reset(Script.client, at: 902, .sent, reason: .state)
            s.destroy(Script.client, at: 903)
        }),
        ("retransmit timeout", { s in
            s.handshake()
            s.retransmit(Script.client, at: 1000, .data, state: .established, tlp: true)
            s.retransmit(Script.client, at: 1200, .data, state: .established)
            s.error(Script.client, at: 3000, 110, state: .established, packetsOut: 1)
            s.state(Script.client, at: 3001, .established, .close, pid: 0, comm: "swapper/0", error: 110)
        }),
        ("keepalive timeout by reason", { s in
            s.handshake()
            s.reset(Script.client, at: 4000, .sent, reason: .keepaliveTimeout)
            s.state(Script.client, at: 4001, .established, .close, error: 110)
        }),
        ("keepalive timeout by probes", { s in
            s.handshake()
            s.error(Script.client, at: 4000, 110, state: .established, probes: 3, packetsOut: 0)
            s.state(Script.client, at: 4001, .established, .close)
        }),
        ("accept queue overflow reset", { s in
            s.handshake()
            s.reset(Script.listener, at: 500, .sent, kind: .listener, state: .listen, reason: .invalidSyn, ends: Script.serverEnds)
            s.reset(Script.client, at: 501, .received)
            s.state(Script.client, at: 502, .established, .close, error: 104)
        }),
        ("lost CLOSE, ended by the destruction", { s in
            s.state(Script.client, at: 0, .close, .synSent, wiped: true)
            s.retransmit(Script.client, at: 1_000_000, .syn, state: .synSent)
            s.error(Script.client, at: 3_000_000, 110)
            s.destroy(Script.client, at: 3_000_050)
        }),
        ("connect again on the same socket", { s in
            s.state(Script.client, at: 0, .close, .synSent, wiped: true)
            s.state(Script.client, at: 100, .synSent, .close, error: 111)
            s.state(Script.client, at: 200, .close, .synSent, wiped: true)
            s.state(Script.client, at: 300, .synSent, .established)
            s.reset(Script.client, at: 399, .received)
            s.state(Script.client, at: 400, .established, .close, error: 104)
        }),
        ("SYN-ACK retransmits claimed by the child", { s in
            s.state(Script.listener, at: 0, .close, .listen)
            s.retransmit(Script.listener, at: 1_000_000, .synack, state: .listen, ends: Script.serverEnds)
            s.state(Script.server, at: 1_000_100, .listen, .synRecv)
            s.state(Script.server, at: 1_000_200, .synRecv, .established)
            s.reset(Script.server, at: 1_999_999, .received)
            s.state(Script.server, at: 2_000_000, .established, .close)
        }),
    ]

    @Test(arguments: scenarios.indices)
    func kernelRecordsEqualPerEventRecords(_ index: Int) throws {
        let (name, build) = Self.scenarios[index]
        var script = Script()
        build(&script)
        let perEvent = script.run()
        let kernel = KernelModel(script.events)
        var assembled = Script()
        assembled.events = kernel.output
        let joined = assembled.run(CorrelatorOptions(assembledInKernel: true))
        #expect(!perEvent.records.isEmpty, "\(name)")
        #expect(joined.records == perEvent.records, "\(name)")
        let a = joined.correlator.metrics.adding(kernel.counts), b = perEvent.correlator.metrics
        #expect(a.connectionsOpened == b.connectionsOpened && a.connectionsEnded == b.connectionsEnded, "\(name)")
        #expect(a.retransmits == b.retransmits && a.resetsSent == b.resetsSent && a.resetsReceived == b.resetsReceived, "\(name)")
        #expect(joined.correlator.tracked == 0, "assembled records never wait in user space")
    }

    /// Per-event copies sent for `tail --events` while the kernel assembles make no second record.
    @Test func liveCopiesAreNotCorrelated() throws {
        var script = Script()
        script.handshake()
        script.state(Script.client, at: 700, .established, .close, error: 104)
        let kernel = KernelModel(script.events)
        var both = Script()
        both.events = script.events + kernel.output
        let (records, correlator) = both.run(CorrelatorOptions(assembledInKernel: true))
        #expect(records.count == 1 && correlator.metrics.lateEvents == 0 && correlator.tracked == 0)
    }

    /// A connection open before tracing started, adopted from the snapshot, ends with the kernel's record.
    @Test func adoptedConnectionEndsWithTheKernelRecord() throws {
        var correlator = Correlator(options: CorrelatorOptions(assembledInKernel: true))
        correlator.adopt([ExistingConnection(cookie: Script.client.value, netns: 1, state: .established,
                                             endpoints: Script.clientEnds, isServer: false, owner: SocketOwner(pid: 5, comm: "old"))], nowNs: 1000)
        var records: [ConnectionRecord] = []
        let c = AssembledConnection(timestampNs: 9000, socket: Script.client, netns: 1, startNs: 5000, transitions: [
            .init(old: .established, new: .finWait1, offsetNs: 0), .init(old: .finWait1, new: .finWait2, offsetNs: 1000),
            .init(old: .finWait2, new: .close, offsetNs: 4000),
        ], tgid: 5, comm: "old", ownerKnown: true, endpoints: Script.clientEnds)
        correlator.process(.connection(c), into: &records)
        let r = try #require(records.first)
        #expect(records.count == 1 && r.firstSeenMidLife && r.end == .closed && r.closedFirst == .local)
        #expect(r.states.map(\.state) == [.established, .finWait1, .finWait2, .close])
        #expect(correlator.tracked == 0)
    }

    @Test func retransmitsOfASocketNeverSeenChangingStateAreCountedNotRecorded() {
        var correlator = Correlator(options: CorrelatorOptions(assembledInKernel: true))
        var records: [ConnectionRecord] = []
        var c = AssembledConnection(timestampNs: 9000, socket: Script.client, netns: 1, startNs: 5000, transitions: [])
        c.retransmits.data = 2
        correlator.process(.connection(c), into: &records)
        #expect(records.isEmpty && correlator.metrics.lateEvents == 1)
    }

    @Test func kernelCountersByIndex() {
        var counters = [UInt64](repeating: 0, count: Int(SYNWAVE_COUNTER_MAX.rawValue))
        counters[Int(SYNWAVE_COUNTER_OPENED_CLIENT.rawValue)] = 3
        counters[Int(SYNWAVE_COUNTER_OPENED_SERVER.rawValue)] = 2
        counters[Int(SYNWAVE_COUNTER_RETRANSMIT_SYN.rawValue + SYNWAVE_CONN_RETRANSMIT_TLP.rawValue)] = 4
        counters[Int(SYNWAVE_COUNTER_RESET_SENT.rawValue) + Int(ResetReason.keepaliveTimeout.rawValue)] = 5
        counters[Int(SYNWAVE_COUNTER_CONNECTIONS.rawValue)] = 6
        let k = KernelConnectionCounts(counters: counters)
        #expect(k.opened[.client] == 3 && k.opened[.server] == 2 && k.retransmits.tlp == 4)
        #expect(k.resetsSent[.keepaliveTimeout] == 5 && k.records == 6)
        let sum = CorrelatorMetrics().adding(k)
        #expect(sum.connectionsOpened[.client] == 3 && sum.retransmits.tlp == 4 && sum.resetsSent[.keepaliveTimeout] == 5)
        #expect(KernelConnectionCounts(counters: []) == KernelConnectionCounts(), "a short read counts nothing")
    }
}
