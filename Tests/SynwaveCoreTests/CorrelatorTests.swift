import Testing
@testable import SynwaveCore

/// Synthetic event sequences for one or more sockets, with time in microseconds.
struct Script {
    var events: [KernelEvent] = []
    static let client = SocketIdentity(kind: .cookie, value: 100)
    static let server = SocketIdentity(kind: .cookie, value: 200)
    static let listener = SocketIdentity(kind: .cookie, value: 300)
    static let local = IPAddress(parsing: "10.0.0.1")!, remote = IPAddress(parsing: "10.0.0.2")!
    static let clientEnds = Endpoints(localAddress: local, localPort: 40000, remoteAddress: remote, remotePort: 80)
    static let serverEnds = Endpoints(localAddress: remote, localPort: 80, remoteAddress: local, remotePort: 40000)

    mutating func state(_ socket: SocketIdentity, at us: UInt64, _ old: TCPState, _ new: TCPState,
                        pid: UInt32 = 7, comm: TaskName = "app", error: Int32 = 0, wiped: Bool = false,
                        totals: TCPTotals? = nil, address: UInt64 = 0, noPeer: Bool = false) {
        let ends = socket == Self.client ? Self.clientEnds : Self.serverEnds
        events.append(.state(StateEvent(
            timestampNs: us * 1000, socket: socket, netns: 1, tgid: pid, tid: pid, comm: comm, family: 2,
            oldState: old, newState: new, sourceAddress: ends.localAddress, sourcePort: wiped ? 0 : ends.localPort,
            destinationAddress: ends.remoteAddress, destinationPort: wiped || noPeer ? 0 : ends.remotePort, error: error,
            totals: totals, address: address)))
    }

    mutating func retransmit(_ socket: SocketIdentity, at us: UInt64, _ kind: RetransmitKind, state: TCPState,
                             tlp: Bool = false, ends: Endpoints? = nil) {
        events.append(.retransmit(RetransmitEvent(timestampNs: us * 1000, socket: socket, netns: 1, state: state,
                                                  kind: kind, isTailLossProbe: tlp, endpoints: ends)))
    }

    mutating func reset(_ socket: SocketIdentity?, at us: UInt64, _ direction: ResetEvent.Direction,
                        kind: SocketKind = .full, state: TCPState? = .established, reason: ResetReason = .unknown,
                        ends: Endpoints? = nil) {
        events.append(.reset(ResetEvent(timestampNs: us * 1000, socket: socket, netns: 1, direction: direction,
                                        socketKind: kind, state: state, reason: reason, endpoints: ends)))
    }

    mutating func error(_ socket: SocketIdentity, at us: UInt64, _ errno: Int32, state: TCPState = .close,
                        probes: UInt8 = 0, packetsOut: UInt32 = 0) {
        events.append(.socket(SocketEvent(timestampNs: us * 1000, socket: socket, netns: 1, kind: .error, state: state,
                                          error: errno, probesOut: probes, packetsOut: packetsOut)))
    }

    mutating func destroy(_ socket: SocketIdentity, at us: UInt64) {
        events.append(.socket(SocketEvent(timestampNs: us * 1000, socket: socket, netns: 1, kind: .destroy, state: .close)))
    }

    mutating func handshake(client: Bool = true) {
        if client {
            state(Self.client, at: 0, .close, .synSent, wiped: true)
            state(Self.client, at: 100, .synSent, .established, comm: "softirq")
        }
    }

    /// Runs everything, then lets every grace period pass.
    func run(_ options: CorrelatorOptions = CorrelatorOptions()) -> (records: [ConnectionRecord], correlator: Correlator) {
        var correlator = Correlator(options: options)
        var records: [ConnectionRecord] = []
        for event in events { correlator.process(event, into: &records) }
        correlator.tick(nowNs: (events.map(\.timestampNs).max() ?? 0) + options.closeGraceNs, into: &records)
        return (records, correlator)
    }
}

let totals = TCPTotals(bytesAcked: 1001, bytesReceived: 501, segsOut: 5, segsIn: 5, totalRetrans: 0,
                               srttMicros: 40, mssCache: 1448)

struct CorrelatorEndTests {
    @Test func normalCloseClientFirst() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 5000, .established, .finWait1, comm: "app")
        s.state(Script.client, at: 5100, .finWait1, .finWait2, comm: "other")
        s.state(Script.client, at: 6000, .finWait2, .close, comm: "other", wiped: true, totals: totals)
        s.destroy(Script.client, at: 6001)
        let (records, correlator) = s.run()
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.end == .closed && r.role == .client && r.closedFirst == .local && r.timeWait)
        #expect(r.handshakeMicros == 100 && r.durationMicros == 6000 && !r.closeInferred)
        #expect(r.endpoints == Script.clientEnds, "tuple kept from before CLOSE wiped it")
        #expect(r.pid == 7 && r.comm == "app" && !r.ownerInferred)
        #expect(r.bytesSent == 1001 && r.bytesReceived == 501 && r.srttMicros == 40)
        #expect(r.states.map(\.state) == [.close, .synSent, .established, .finWait1, .finWait2, .close])
        #expect(r.states.map(\.offsetMicros) == [0, 0, 100, 5000, 5100, 6000])
        #expect(correlator.metrics.connectionsEnded[.closed] == 1 && correlator.metrics.connectionsOpened[.client] == 1)
        #expect(correlator.metrics.handshake.count == 1 && correlator.tracked == 0)
    }

    @Test func serverOwnerComesFromTheListener() throws {
        var s = Script()
        s.state(Script.listener, at: 0, .close, .listen, pid: 42, comm: "nginx")
        s.state(Script.server, at: 10, .listen, .synRecv, pid: 9, comm: "curl")
        s.state(Script.server, at: 30, .synRecv, .established, pid: 9, comm: "curl")
        s.state(Script.server, at: 500, .established, .closeWait, pid: 9, comm: "curl")
        s.state(Script.server, at: 600, .closeWait, .lastAck, pid: 0, comm: "swapper/0")
        s.state(Script.server, at: 700, .lastAck, .close, pid: 9, comm: "curl", wiped: true)
        let r = try #require(s.run().records.first)
        #expect(r.role == .server && r.end == .closed && r.closedFirst == .peer && !r.timeWait)
        #expect(r.pid == 42 && r.comm == "nginx" && r.ownerInferred, "pid 0 in a syscall-driven transition is not an owner")
        #expect(r.handshakeMicros == 20)
    }

    /// Kernels up to 6.12: the child's LISTEN -> SYN_RECV comes by address only (it still holds
    /// the listener's cookie and no peer); its next transition carries its own cookie.
    @Test func childStartedByAddressIsRekeyedToItsCookie() throws {
        var s = Script()
        let address: UInt64 = 0xffff_8880_1234_5000
        s.state(Script.listener, at: 0, .close, .listen, pid: 42, comm: "nginx")
        s.state(SocketIdentity(kind: .skAddr, value: address), at: 10, .listen, .synRecv, pid: 9, comm: "curl",
                address: address, noPeer: true)
        s.state(Script.server, at: 30, .synRecv, .established, pid: 9, comm: "curl", address: address)
        s.state(Script.server, at: 500, .established, .closeWait, pid: 9, comm: "curl", address: address)
        s.state(Script.server, at: 600, .closeWait, .lastAck, pid: 9, comm: "curl", address: address)
        s.state(Script.server, at: 700, .lastAck, .close, pid: 9, comm: "curl", wiped: true, address: address)
        let result = s.run()
        #expect(result.records.count == 1)
        let r = try #require(result.records.first)
        #expect(r.socket == Script.server)
        #expect(r.role == .server && r.end == .closed && !r.firstSeenMidLife)
        #expect(r.handshakeMicros == 20)
        #expect(r.endpoints?.remotePort == 40000)
        #expect(r.states.first?.state == .listen)
    }

    @Test func serverOwnerSeenInItsOwnClose() throws {
        var s = Script()
        s.state(Script.listener, at: 0, .close, .listen, pid: 42, comm: "nginx")
        s.state(Script.server, at: 10, .listen, .synRecv, pid: 9, comm: "curl")
        s.state(Script.server, at: 30, .synRecv, .established, pid: 9, comm: "curl")
        s.state(Script.server, at: 500, .established, .finWait1, pid: 43, comm: "nginx-worker")
        s.state(Script.server, at: 600, .finWait1, .finWait2)
        s.state(Script.server, at: 700, .finWait2, .close, wiped: true)
        let r = try #require(s.run().records.first)
        #expect(r.pid == 43 && r.comm == "nginx-worker" && !r.ownerInferred)
        #expect(r.closedFirst == .local && r.timeWait)
    }

    @Test func refused() throws {
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.reset(Script.client, at: 80, .received, state: .synSent)
        s.state(Script.client, at: 81, .synSent, .close)
        s.error(Script.client, at: 82, 111)
        let r = try #require(s.run().records.first)
        #expect(r.end == .refused && r.error == "ECONNREFUSED" && r.resetsReceived == 1 && r.handshakeMicros == nil)
    }

    @Test func connectTimeoutCountsSynRetransmits() throws {
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.retransmit(Script.client, at: 1_000_000, .syn, state: .synSent)
        s.retransmit(Script.client, at: 2_000_000, .syn, state: .synSent)
        s.state(Script.client, at: 3_000_000, .synSent, .close, pid: 0, comm: "swapper/1", error: 110)
        let (records, correlator) = s.run()
        let r = try #require(records.first)
        #expect(r.end == .connectTimeout && r.retransmits.syn == 2 && r.error == "ETIMEDOUT")
        #expect(r.pid == 7, "the timer-context close does not replace the owner")
        #expect(correlator.metrics.retransmits.syn == 2)
    }

    @Test func connectAborted() throws {
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.retransmit(Script.client, at: 1_000_000, .syn, state: .synSent)
        s.state(Script.client, at: 1_500_000, .synSent, .close)
        #expect(s.run().records.first?.end == .connectAborted)
    }

    @Test func resetReceived() throws {
        var s = Script()
        s.handshake()
        s.reset(Script.client, at: 900, .received)
        s.state(Script.client, at: 901, .established, .close)
        s.error(Script.client, at: 902, 104)
        let r = try #require(s.run().records.first)
        #expect(r.end == .resetReceived && r.error == "ECONNRESET" && !r.timeWait)
    }

    @Test func resetSentWithReason() throws {
        var s = Script()
        s.handshake()
        s.reset(Script.client, at: 900, .sent, reason: .state)
        s.state(Script.client, at: 901, .established, .close, error: 104)
        let r = try #require(s.run().records.first)
        #expect(r.end == .resetSent && r.resetsSent == [.state], "our own ECONNRESET from an aborting close is not a received reset")
    }

    @Test func retransmitTimeout() throws {
        var s = Script()
        s.handshake()
        s.retransmit(Script.client, at: 1000, .data, state: .established, tlp: true)
        s.retransmit(Script.client, at: 1200, .data, state: .established)
        s.retransmit(Script.client, at: 1600, .data, state: .established)
        s.error(Script.client, at: 3000, 110, state: .established, packetsOut: 1)
        s.state(Script.client, at: 3001, .established, .close, pid: 0, comm: "swapper/0", error: 110)
        let r = try #require(s.run().records.first)
        #expect(r.end == .retransmitTimeout && r.retransmits.tlp == 1 && r.retransmits.data == 2)
    }

    @Test func keepaliveTimeoutByResetReason() throws {
        var s = Script()
        s.handshake()
        s.reset(Script.client, at: 4000, .sent, reason: .keepaliveTimeout)
        s.state(Script.client, at: 4001, .established, .close, error: 110)
        s.error(Script.client, at: 4002, 110, probes: 2)
        let r = try #require(s.run().records.first)
        #expect(r.end == .keepaliveTimeout && r.resetsSent == [.keepaliveTimeout])
    }

    @Test func keepaliveTimeoutWithoutResetReasons() throws {
        var s = Script()
        s.handshake()
        s.error(Script.client, at: 4000, 110, state: .established, probes: 3, packetsOut: 0)
        s.state(Script.client, at: 4001, .established, .close)
        #expect(s.run().records.first?.end == .keepaliveTimeout)
    }

    @Test func acceptQueueOverflowReset() throws {
        var s = Script()
        s.handshake()
        s.reset(Script.listener, at: 500, .sent, kind: .listener, state: .listen, reason: .invalidSyn, ends: Script.serverEnds)
        s.reset(Script.client, at: 501, .received)
        s.state(Script.client, at: 502, .established, .close, error: 104)
        let (records, correlator) = s.run()
        #expect(records.first?.end == .acceptQueueOverflowReset)
        #expect(correlator.metrics.resetsSent[.invalidSyn] == 1)
    }

    @Test func unknownWhenNothingExplainsTheClose() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 700, .established, .close)
        #expect(s.run().records.first?.end == .unknown)
    }
}

struct CorrelatorHardCaseTests {
    @Test func eventsFromAnotherCPUArriveOutOfOrder() throws {
        var s = Script()
        s.state(Script.client, at: 100, .synSent, .established)
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.state(Script.client, at: 900, .established, .close)
        s.reset(Script.client, at: 899, .received)
        let r = try #require(s.run().records.first)
        #expect(r.states.map(\.state) == [.close, .synSent, .established, .close])
        #expect(r.handshakeMicros == 100 && r.end == .resetReceived && r.role == .client)
    }

    @Test func errorAfterCloseIsMergedWithinTheGracePeriod() throws {
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.state(Script.client, at: 100, .synSent, .close)
        for event in s.events { correlator.process(event, into: &records) }
        correlator.tick(nowNs: 100_000 + 10_000_000, into: &records)
        #expect(records.isEmpty, "still within the grace period")
        correlator.process(.socket(SocketEvent(timestampNs: 200_000, socket: Script.client, netns: 1, kind: .error,
                                               state: .close, error: 111)), into: &records)
        correlator.tick(nowNs: 100_000 + correlator.options.closeGraceNs, into: &records)
        #expect(records.first?.end == .refused)
    }

    @Test func destroyFinishesAtOnceAndLateEventsAreCounted() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 700, .established, .close, error: 104)
        s.destroy(Script.client, at: 701)
        s.state(Script.client, at: 702, .established, .close)
        let (records, correlator) = s.run()
        #expect(records.count == 1 && correlator.metrics.lateEvents == 1)
    }

    /// A socket's opening transition that arrives after its own record (another CPU's ring read
    /// late) is late, not a second connection; connect() again after the end is a new one.
    @Test func aLateOpeningTransitionIsNotASecondConnection() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 700, .established, .close, error: 104)
        s.destroy(Script.client, at: 701)
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)            // the same open, again, late
        s.state(Script.client, at: 5000, .close, .synSent, wiped: true)         // connect() again on the socket
        s.state(Script.client, at: 5100, .synSent, .close, error: 111)
        let (records, correlator) = s.run()
        #expect(records.count == 2 && correlator.metrics.lateEvents == 1)
        #expect(correlator.metrics.connectionsOpened[.client] == 2)
        #expect(records.last?.end == .refused)
    }

    /// A socket first seen mid-life opened unseen: it gets a record, but no open is counted.
    @Test func aSocketFirstSeenMidLifeIsNotCountedAsOpened() throws {
        var s = Script()
        s.state(Script.client, at: 100, .synSent, .established)
        s.state(Script.client, at: 700, .established, .close, error: 104)
        s.destroy(Script.client, at: 701)
        let (records, correlator) = s.run()
        #expect(records.count == 1 && correlator.metrics.connectionsOpened[.client] == 0)
    }

    /// A CLOSE transition the kernel ran no program for: the destruction that follows it ends
    /// the record, classified from the error like the CLOSE would have been.
    @Test func aLostCloseIsInferredFromTheDestruction() throws {
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.retransmit(Script.client, at: 1_000_000, .syn, state: .synSent)
        s.error(Script.client, at: 3_000_000, 110)
        s.destroy(Script.client, at: 3_000_050)
        let (records, correlator) = s.run()
        let r = try #require(records.first)
        #expect(records.count == 1 && correlator.metrics.closesInferred == 1)
        #expect(r.end == .connectTimeout && r.closeInferred && r.retransmits.syn == 1)
        #expect(r.states.map(\.state) == [.close, .synSent, .close] && r.states.last?.offsetMicros == 3_000_050)
        #expect(r.durationMicros == 3_000_050)
    }

    @Test func aLostFinalCloseStillEndsAnOrderlyClose() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 5000, .established, .finWait1)
        s.state(Script.client, at: 5100, .finWait1, .finWait2)
        s.destroy(Script.client, at: 6001)
        let (records, correlator) = s.run()
        let r = try #require(records.first)
        #expect(r.end == .closed && r.closedFirst == .local && r.timeWait && r.closeInferred)
        #expect(correlator.metrics.closesInferred == 1 && correlator.metrics.expired == 0)
    }

    @Test func duplicateTransitionsAreDropped() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 100, .synSent, .established)
        s.state(Script.client, at: 700, .established, .close)
        let (records, correlator) = s.run()
        #expect(records.first?.states.count == 4 && correlator.metrics.duplicateTransitions == 1)
    }

    @Test func aNewConnectOnTheSameSocketStartsANewRecord() throws {
        var s = Script()
        s.state(Script.client, at: 0, .close, .synSent, wiped: true)
        s.state(Script.client, at: 100, .synSent, .close, error: 111)
        s.state(Script.client, at: 200, .close, .synSent, wiped: true)
        s.state(Script.client, at: 300, .synSent, .established)
        s.state(Script.client, at: 400, .established, .close)
        s.reset(Script.client, at: 399, .received)
        let records = s.run().records
        #expect(records.map(\.end) == [.refused, .resetReceived])
    }

    @Test func synackRetransmitsAreClaimedByTheChild() throws {
        var s = Script()
        s.state(Script.listener, at: 0, .close, .listen)
        s.retransmit(Script.listener, at: 1_000_000, .synack, state: .listen, ends: Script.serverEnds)
        s.state(Script.server, at: 1_000_100, .listen, .synRecv)
        s.state(Script.server, at: 1_000_200, .synRecv, .established)
        s.state(Script.server, at: 2_000_000, .established, .close)
        s.reset(Script.server, at: 1_999_999, .received)
        let (records, correlator) = s.run()
        #expect(records.first?.retransmits.synack == 1 && correlator.metrics.retransmits.synack == 1)
    }

    @Test func idleRecordsExpire() throws {
        var correlator = Correlator(options: CorrelatorOptions(idleTimeoutNs: 10_000_000_000))
        var records: [ConnectionRecord] = []
        var s = Script()
        s.handshake()
        for event in s.events { correlator.process(event, into: &records) }
        correlator.tick(nowNs: 5_000_000_000, into: &records)
        #expect(correlator.tracked == 1)
        correlator.tick(nowNs: 20_000_000_000, into: &records)
        #expect(correlator.tracked == 0 && correlator.metrics.expired == 1 && records.isEmpty)
    }

    @Test func shutdownWritesClosedRecordsAndLeavesOpenOnesTrackedNotExpired() throws {
        var correlator = Correlator(options: CorrelatorOptions(idleTimeoutNs: 10_000_000_000))
        var records: [ConnectionRecord] = []
        var s = Script()
        s.handshake()
        // The server side closes just before the stop, inside its grace period.
        s.state(Script.server, at: 10, .listen, .synRecv)
        s.state(Script.server, at: 30, .synRecv, .established)
        s.state(Script.server, at: 500, .established, .closeWait)
        s.state(Script.server, at: 600, .closeWait, .lastAck)
        s.state(Script.server, at: 700, .lastAck, .close, wiped: true)
        for event in s.events { correlator.process(event, into: &records) }
        correlator.tick(nowNs: 800_000, into: &records)
        #expect(records.isEmpty)
        correlator.finishClosing(into: &records)
        #expect(records.map(\.role) == [.server])
        #expect(correlator.tracked == 1 && correlator.metrics.expired == 0, "the open client has no record and did not idle out")
    }

    @Test func capacityEvictsTheLeastRecentlyActive() throws {
        var correlator = Correlator(options: CorrelatorOptions(capacity: 64))
        var records: [ConnectionRecord] = []
        for i in 0..<100 {
            let socket = SocketIdentity(kind: .cookie, value: UInt64(1000 + i))
            correlator.process(.state(StateEvent(
                timestampNs: UInt64(i) * 1000, socket: socket, netns: 1, tgid: 1, tid: 1, comm: "x", family: 2,
                oldState: .close, newState: .synSent, sourceAddress: Script.local, sourcePort: 0,
                destinationAddress: Script.remote, destinationPort: 80)), into: &records)
        }
        #expect(correlator.tracked <= 64)
        #expect(UInt64(correlator.tracked) + correlator.metrics.evicted == 100)
    }

    @Test func listenersAreNotConnections() throws {
        var s = Script()
        s.state(Script.listener, at: 0, .close, .listen)
        s.state(Script.listener, at: 10, .listen, .close)
        let (records, correlator) = s.run()
        #expect(records.isEmpty && correlator.tracked == 0)
    }

    @Test func socketFirstSeenMidLifeSaysSo() throws {
        var s = Script()
        s.state(Script.client, at: 0, .established, .finWait1)
        s.state(Script.client, at: 10, .finWait1, .finWait2)
        s.state(Script.client, at: 20, .finWait2, .close)
        let r = try #require(s.run().records.first)
        #expect(r.firstSeenMidLife && r.end == .closed && r.handshakeMicros == nil)
    }
}

struct ConnectionRecordFormatTests {
    @Test func jsonHasTheDocumentedFields() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 5000, .established, .finWait1)
        s.state(Script.client, at: 5100, .finWait1, .finWait2)
        s.state(Script.client, at: 6000, .finWait2, .close, wiped: true, totals: totals)
        let r = try #require(s.run().records.first)
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.json(r, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        for key in ["\"type\":\"connection\"", "\"cookie\":100", "\"role\":\"client\"", "\"end\":\"closed\"",
                    "\"handshake_us\":100", "\"duration_us\":6000", "\"closed_first\":\"local\"", "\"time_wait\":true",
                    "\"bytes_sent\":1001", "\"retransmits\":{\"syn\":0,\"synack\":0,\"data\":0,\"fin\":0,\"tlp\":0}",
                    "\"states\":[{\"state\":\"CLOSE\",\"us\":0},{\"state\":\"SYN_SENT\",\"us\":0}",
                    "\"saddr\":\"10.0.0.1\"", "\"dport\":80", "\"error\":null", "\"resets_sent\":[]",
                    "\"close_inferred\":false"] {
            #expect(text.contains(key), "\(key) in \(text)")
        }
        var line: [UInt8] = []
        formatter.text(r, into: &line)
        let rendered = String(decoding: line, as: UTF8.self)
        #expect(rendered.contains("client") && rendered.contains("10.0.0.1:40000") && rendered.contains("closed"))
        #expect(rendered.contains("6.000ms") && rendered.contains("1001/501"))
    }

    @Test func endNamesParse() {
        #expect(ConnectionEnd(name: "connect-timeout") == .connectTimeout)
        #expect(ConnectionEnd(name: "REFUSED") == .refused)
        #expect(ConnectionEnd(name: "nope") == nil)
    }
}

/// Connections open before tracing started, adopted from a sock_diag snapshot.
struct CorrelatorSnapshotTests {
    private static func existing(_ socket: SocketIdentity, _ state: TCPState, server: Bool = false,
                                 owner: SocketOwner? = SocketOwner(pid: 77, comm: "redis")) -> ExistingConnection {
        ExistingConnection(cookie: socket.value, netns: 1, state: state,
                           endpoints: server ? Script.serverEnds : Script.clientEnds, isServer: server, owner: owner)
    }

    private static func run(adopting existing: [ExistingConnection], atUs us: UInt64, then script: Script)
        -> (records: [ConnectionRecord], correlator: Correlator) {
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        #expect(correlator.adopt(existing, nowNs: us * 1000) == existing.count)
        for event in script.events { correlator.process(event, into: &records) }
        correlator.finishClosing(into: &records)
        return (records, correlator)
    }

    @Test func adoptedConnectionEndsWithAMidLifeRecord() throws {
        var s = Script()
        s.state(Script.server, at: 1500, .established, .closeWait, pid: 0, comm: "swapper/1")
        s.state(Script.server, at: 1600, .closeWait, .lastAck, pid: 77, comm: "redis")
        s.state(Script.server, at: 1700, .lastAck, .close, wiped: true, totals: totals)
        s.destroy(Script.server, at: 1701)
        let (records, correlator) = Self.run(adopting: [Self.existing(Script.server, .established, server: true)],
                                             atUs: 1000, then: s)
        let r = try #require(records.first)
        #expect(records.count == 1 && correlator.tracked == 0)
        #expect(r.firstSeenMidLife && r.role == .server && r.end == .closed && r.closedFirst == .peer)
        #expect(r.states.map(\.state) == [.established, .closeWait, .lastAck, .close])
        #expect(r.states.map(\.offsetMicros) == [0, 500, 600, 700])
        #expect(r.handshakeMicros == nil && r.endpoints == Script.serverEnds)
        #expect(r.pid == 77 && r.comm == "redis")
    }

    /// Opened between attach and snapshot: its events say more than the snapshot does.
    @Test func connectionStartingAfterTheSnapshotIsNotMidLife() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 5000, .established, .finWait1)
        s.state(Script.client, at: 5100, .finWait1, .finWait2)
        s.state(Script.client, at: 6000, .finWait2, .close, wiped: true)
        s.destroy(Script.client, at: 6001)
        let (records, _) = Self.run(adopting: [Self.existing(Script.client, .synSent)], atUs: 0, then: s)
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(!r.firstSeenMidLife && r.handshakeMicros == 100 && r.end == .closed)
        #expect(r.states.first?.state == .close)
    }

    @Test func socketsAlreadyTrackedAreNotAdopted() {
        var s = Script()
        s.handshake()
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        for event in s.events { correlator.process(event, into: &records) }
        #expect(correlator.adopt([Self.existing(Script.client, .established),
                                  Self.existing(Script.server, .established, server: true)], nowNs: 1) == 1)
        #expect(correlator.tracked == 2)
    }

    /// Without an owner from /proc the record says the owner is not known first-hand.
    @Test func adoptedWithoutOwner() throws {
        var s = Script()
        s.state(Script.client, at: 10, .established, .finWait1, pid: 5, comm: "psql")
        s.state(Script.client, at: 20, .finWait1, .finWait2)
        s.state(Script.client, at: 30, .finWait2, .close, wiped: true)
        let (records, _) = Self.run(adopting: [Self.existing(Script.client, .established, owner: nil)], atUs: 0, then: s)
        let r = try #require(records.first)
        #expect(r.firstSeenMidLife && r.role == .client && r.end == .closed)
        #expect(r.pid == 5 && r.comm == "psql" && !r.ownerInferred, "the owner's own close names it")
    }

    // MARK: Sockets whose closing events never came

    /// Idle open sockets are offered for a look-up in the kernel's table, by namespace; those it
    /// still has are not offered again until idle as long once more.
    @Test func idleOpenSocketsAreOfferedForConfirmation() {
        var s = Script()
        s.handshake()
        s.state(Script.server, at: 50, .listen, .synRecv)
        s.state(Script.server, at: 900_000, .synRecv, .established)
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        for event in s.events { correlator.process(event, into: &records) }
        let idle: UInt64 = 1_000_000_000
        #expect(correlator.socketsToConfirm(idleNs: idle, nowNs: 1_500_000_000) == [1: [Script.client.value]], "the server had an event 0.9 s in")
        #expect(correlator.socketsToConfirm(idleNs: idle, nowNs: 2_000_000_000)[1]?.sorted() == [Script.client.value, Script.server.value])
        correlator.reconcile(present: [Script.client.value, Script.server.value], gone: [], nowNs: 2_000_000_000, into: &records)
        #expect(correlator.socketsToConfirm(idleNs: idle, nowNs: 2_500_000_000).isEmpty, "confirmed just now")
        #expect(correlator.socketsToConfirm(idleNs: idle, nowNs: 3_000_000_000)[1]?.count == 2, "asked again once idle as long")
        #expect(correlator.socketsToConfirm(idleNs: 0, nowNs: 2_100_000_000)[1]?.count == 2, "at stop: every open one")
        #expect(records.isEmpty && correlator.tracked == 2)
    }

    /// A socket the kernel no longer has ends with a record marked close_lost: its end is what
    /// errors and resets show, else unknown (FIN states alone do not prove a clean close).
    @Test func socketsGoneFromTheKernelEndMarkedCloseLost() throws {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 200, .established, .finWait1)
        s.state(Script.client, at: 300, .finWait1, .finWait2)
        s.state(Script.server, at: 50, .listen, .synRecv)
        s.state(Script.server, at: 150, .synRecv, .established)
        s.error(Script.server, at: 400, 104, state: .established)
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        for event in s.events { correlator.process(event, into: &records) }
        correlator.reconcile(present: [], gone: [Script.client.value, Script.server.value, 999], nowNs: 60_000_000_000, into: &records)
        #expect(records.count == 2 && correlator.tracked == 0)
        let client = try #require(records.first { $0.role == .client })
        let server = try #require(records.first { $0.role == .server })
        #expect(client.closeLost && !client.closeInferred)
        #expect(client.end == .unknown && client.closedFirst == .local)
        #expect(client.endNs == 300_000, "ends at its last event")
        #expect(server.closeLost && server.end == .resetReceived)
        #expect(correlator.metrics.closesLost == 2)
        #expect(correlator.metrics.connectionsEnded[.unknown] == 1)
    }

    /// Closing sockets and those identified by kernel address are never offered.
    @Test func onlyOpenCookieSocketsAreOffered() {
        var s = Script()
        s.handshake()
        s.state(Script.client, at: 200, .established, .close)
        let byAddress = SocketIdentity(kind: .skAddr, value: 0xffff_8880_0000_1000)
        s.state(byAddress, at: 0, .close, .synSent)
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        for event in s.events { correlator.process(event, into: &records) }
        #expect(correlator.socketsToConfirm(idleNs: 0, nowNs: 10_000_000_000).isEmpty)
    }
}
