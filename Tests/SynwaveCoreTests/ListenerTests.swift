import CSynwaveABI
import Testing
@testable import SynwaveCore

@Suite struct ListenerEventDecodingTests {
    @Test func decodesAListenerEvent() throws {
        guard case .success(.listener(let e)) = RawEvents.decode(RawEvents.listener()) else {
            Issue.record("not a listener event")
            return
        }
        #expect(e.kind == .acceptQueueFull)
        #expect(e.socket == SocketIdentity(kind: .cookie, value: 10))
        #expect(e.listener.endpoint == "10.0.0.2:5004")
        #expect(e.listener.netns == 4026532000)
        #expect(e.acceptQueue == 3 && e.backlog == 2 && e.synQueue == 1)
        #expect(e.acceptOverflows == 12 && e.inode == 777 && e.cgroupID == 6161)
    }

    @Test func rejectsMalformedListenerEvents() {
        #expect(RawEvents.decode(RawEvents.listener(kind: 0)) == .failure(.invalidField("listener event kind", 0)))
        #expect(RawEvents.decode(RawEvents.listener(family: 7)) == .failure(.invalidFamily(7)))
        let short = Array(RawEvents.listener().prefix(80))
        #expect(RawEvents.decode(short) == .failure(.sizeMismatch(type: 5, declared: 96, actual: 80, expected: 96)))
    }

    @Test func textLineSaysWhatIsDropped() throws {
        guard case .success(.listener(var e)) = RawEvents.decode(RawEvents.listener(kind: 1)) else { return }
        e.owner = SocketOwner(pid: 1234, comm: "python3")
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.text(.listener(e), into: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(line.hasSuffix("listener accept queue full 3/2 on 10.0.0.2:5004 (python3 1234): "
            + "the application is not accepting; final ACKs and new SYNs are dropped"))
        e.kind = .acceptOverflow
        out = []
        formatter.text(.listener(e), into: &out)
        #expect(String(decoding: out, as: UTF8.self).contains("dropping ACKs, 12 dropped so far"))
    }
}

@Suite struct NamespaceCountersTests {
    @Test func parsesTcpExtPairs() {
        let text = """
            TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed ListenOverflows ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop
            TcpExt: 4 1 0 12 15 4 3
            IpExt: InNoRoutes ListenOverflows
            IpExt: 9 99
            """
        let c = NamespaceCounters(netstat: Substring(text))
        #expect(c.syncookiesSent == 4 && c.syncookiesReceived == 1 && c.listenOverflows == 12)
        #expect(c.listenDrops == 15 && c.reqQueueFullCookies == 4 && c.reqQueueFullDrops == 3)
    }

    @Test func malformedTextIsIgnored() {
        #expect(NamespaceCounters(netstat: "TcpExt: ListenOverflows\nTcpExt: x\ngarbage") == NamespaceCounters())
        #expect(NamespaceCounters(netstat: "") == NamespaceCounters())
        var later = NamespaceCounters()
        later.listenOverflows = 5
        var earlier = NamespaceCounters()
        earlier.listenOverflows = 7
        #expect(later.since(earlier).listenOverflows == 0, "a counter going back never underflows")
    }
}

@Suite struct ListenerTableTests {
    static let netns: UInt32 = 4026532001
    static let any = IPAddress(parsing: "0.0.0.0")!

    static func poll(acceptQueue: UInt32 = 0, backlog: UInt32 = 2, drops: UInt32 = 0, requests: Int = 0,
                     counters: NamespaceCounters = NamespaceCounters(), cgroupID: UInt64 = 0) -> NamespacePoll {
        let listener = ListenerSnapshot(cookie: 42, listener: ListenerAddress(netns: netns, address: any, port: 5004),
                                        acceptQueue: acceptQueue, backlog: backlog, drops: drops, inode: 9, cgroupID: cgroupID)
        let request = RequestSnapshot(local: ListenerAddress(netns: netns, address: IPAddress(parsing: "10.0.0.2")!, port: 5004))
        return NamespacePoll(netns: netns, name: "srv", listeners: [listener],
                             requests: Array(repeating: request, count: requests), counters: counters)
    }

    @Test func dropsOfAnOlderListenerStartFromItsFirstSight() {
        var table = ListenerTable()
        let first = table.update(polls: [Self.poll(drops: 50)], kernel: [:])
        #expect(first.rows.first?.drops == 0)
        let second = table.update(polls: [Self.poll(drops: 53)], kernel: [:])
        #expect(second.rows.first?.drops == 3)
        #expect(second.rows.first?.synDrops == 3, "queue not full: SYN queue drops")
    }

    @Test func synDropsWhileTheAcceptQueueIsFullAreOverflows() {
        var table = ListenerTable()
        _ = table.update(polls: [Self.poll()], kernel: [:])
        // Two final ACKs (counted twice each in sk_drops) and three SYNs dropped, queue full.
        let kernel: [UInt64: ListenerKernelStats] = [42: ListenerKernelStats(acceptOverflows: 2, maxAcceptQueue: 3)]
        let report = table.update(polls: [Self.poll(acceptQueue: 3, drops: 7)], kernel: kernel)
        let row = try! #require(report.rows.first)
        #expect(row.ackDrops == 2)
        #expect(row.acceptOverflows == 5)
        #expect(row.synDrops == 0)
        #expect(row.acceptQueueFull && row.maxAcceptQueue == 3)
    }

    @Test func anAckDropSeenByTheKernelBeforeItsSkDropsIsNoSynDrop() {
        // The statistics are read after the dump: an ACK dropped in between is in them first.
        var table = ListenerTable()
        _ = table.update(polls: [Self.poll(acceptQueue: 3)], kernel: [:])
        var unchanged = Self.poll(acceptQueue: 3)
        unchanged.listeners = []
        unchanged.complete = false
        _ = table.update(polls: [unchanged], kernel: [42: ListenerKernelStats(acceptOverflows: 1)])
        let later = table.update(polls: [Self.poll(acceptQueue: 3, drops: 2)], kernel: [42: ListenerKernelStats(acceptOverflows: 1)])
        #expect(later.rows.first?.ackDrops == 1)
        #expect(later.rows.first?.acceptOverflows == 1, "its two sk_drops increments are the ACK's, not SYNs")
        // The same when the listener was in the poll for another reason (its queue moved).
        var other = ListenerTable()
        _ = other.update(polls: [Self.poll(acceptQueue: 2)], kernel: [:])
        _ = other.update(polls: [Self.poll(acceptQueue: 3)], kernel: [42: ListenerKernelStats(acceptOverflows: 1)])
        let next = other.update(polls: [Self.poll(acceptQueue: 3, drops: 2)], kernel: [42: ListenerKernelStats(acceptOverflows: 1)])
        #expect(next.rows.first?.acceptOverflows == 1 && next.rows.first?.synDrops == 0)
    }

    @Test func halfOpenRequestsMatchAWildcardListener() {
        var table = ListenerTable()
        let report = table.update(polls: [Self.poll(backlog: 4, requests: 5)],
                                  kernel: [42: ListenerKernelStats(synackRetransmits: 6, maxSynQueue: 3)])
        let row = try! #require(report.rows.first)
        #expect(row.synQueue == 5 && row.maxSynQueue == 5 && row.synQueueFull)
        #expect(row.synackRetransmits == 6)
        // Peaks persist after the queue drains.
        let later = table.update(polls: [Self.poll(backlog: 4)], kernel: [:])
        #expect(later.rows.first?.synQueue == 0 && later.rows.first?.maxSynQueue == 5)
    }

    @Test func aSynQueueReadFromTheListenerWinsOverCountedRequests() {
        var table = ListenerTable()
        var poll = Self.poll(backlog: 4, requests: 5)
        poll.listeners[0].synQueue = 2
        let row = try! #require(table.update(polls: [poll], kernel: [:]).rows.first)
        #expect(row.synQueue == 2 && row.maxSynQueue == 2)
    }

    @Test func exactAddressWinsOverWildcard() {
        let exact = ListenerSnapshot(cookie: 1, listener: ListenerAddress(netns: 1, address: IPAddress(parsing: "10.0.0.2")!, port: 80),
                                     acceptQueue: 0, backlog: 4, drops: 0, inode: 0)
        let wildcard = ListenerSnapshot(cookie: 2, listener: ListenerAddress(netns: 1, address: IPAddress(parsing: "::")!, port: 80),
                                        acceptQueue: 0, backlog: 4, drops: 0, inode: 0)
        let requests = [RequestSnapshot(local: ListenerAddress(netns: 1, address: IPAddress(parsing: "10.0.0.2")!, port: 80)),
                        RequestSnapshot(local: ListenerAddress(netns: 1, address: IPAddress(parsing: "10.0.0.3")!, port: 80)),
                        RequestSnapshot(local: ListenerAddress(netns: 1, address: IPAddress(parsing: "10.0.0.3")!, port: 81))]
        let poll = NamespacePoll(netns: 1, name: "x", listeners: [wildcard, exact], requests: requests, counters: NamespaceCounters())
        #expect(ListenerTable.halfOpenCounts(poll) == [1, 1])
    }

    @Test func namespaceCountersAreSinceFirstSightAndClosedListenersAreForgotten() {
        var table = ListenerTable()
        var start = NamespaceCounters()
        start.syncookiesSent = 10
        _ = table.update(polls: [Self.poll(counters: start)], kernel: [:])
        var now = start
        now.syncookiesSent = 14
        var empty = Self.poll(counters: now)
        empty.listeners = []
        let report = table.update(polls: [empty], kernel: [:])
        #expect(report.namespaces.first?.counters.syncookiesSent == 4)
        #expect(report.rows.isEmpty && table.report.rows.isEmpty)
        // The same cookie back (it cannot be, but a new listener is): counted from zero.
        let again = table.update(polls: [Self.poll(drops: 5)], kernel: [:])
        #expect(again.rows.first?.drops == 5)
    }

    @Test func aPollOfChangesTouchesOnlyWhatChanged() {
        var table = ListenerTable()
        #expect(table.update(polls: [Self.poll()], kernel: [:]).rows.count == 1, "new: reported")
        #expect(table.update(polls: [Self.poll()], kernel: [:]).rows.isEmpty, "same values: not reported")
        var changes = Self.poll()
        changes.listeners = []
        changes.complete = false
        let quiet = table.update(polls: [changes], kernel: [:])
        #expect(quiet.rows.isEmpty && quiet.namespaces.isEmpty)
        #expect(table.report.rows.map(\.cookie) == [42], "missing from a poll of changes: still listening")
        // A burst between two polls shows only in the kernel's statistics.
        let burst = table.update(polls: [changes], kernel: [42: ListenerKernelStats(synackRetransmits: 2, maxAcceptQueue: 3)])
        #expect(burst.rows.first?.maxAcceptQueue == 3 && burst.rows.first?.synackRetransmits == 2)
        #expect(table.update(polls: [changes], kernel: [42: ListenerKernelStats(synackRetransmits: 2, maxAcceptQueue: 3)]).rows.isEmpty)
        var moved = Self.poll(acceptQueue: 1)
        moved.complete = false
        #expect(table.update(polls: [moved], kernel: [:]).rows.first?.acceptQueue == 1)
        #expect(table.report.rows.first?.maxAcceptQueue == 3, "peaks kept")
    }

    @Test func listenersOfANamespaceNoLongerPolledAreForgotten() {
        var table = ListenerTable()
        _ = table.update(polls: [Self.poll()], kernel: [:])
        let report = table.update(polls: [], kernel: [:])
        #expect(report.rows.isEmpty && table.report.rows.isEmpty && table.report.namespaces.isEmpty)
    }

    @Test func ownersFoundByALaterScanJoinTheChanges() {
        var table = ListenerTable()
        var changes = table.update(polls: [Self.poll()], kernel: [:])
        #expect(changes.rows.first?.owner == nil)
        table.refreshOwners({ $0 == 9 ? SocketOwner(pid: 7, comm: "nginx") : nil }, into: &changes)
        #expect(changes.rows.count == 1 && changes.rows.first?.owner?.comm == "nginx")
        #expect(table.report.rows.first?.owner?.pid == 7)
        var none = ListenerReport(rows: [], namespaces: [])
        table.refreshOwners({ $0 == 9 ? SocketOwner(pid: 7, comm: "nginx") : nil }, into: &none)
        #expect(none.rows.isEmpty, "an owner already placed is no change")
    }

    @Test func tableAndJSON() throws {
        var table = ListenerTable()
        var report = table.update(polls: [Self.poll(acceptQueue: 3)], kernel: [:], owner: { $0 == 9 ? SocketOwner(pid: 7, comm: "nginx") : nil })
        var out: [UInt8] = []
        ListenerReportFormatter.text(report, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("NETNS"))
        #expect(text.contains("0.0.0.0:5004") && text.contains("nginx 7") && text.contains("FULL 3"))
        #expect(text.contains("srv (netns 4026532001): ListenOverflows 0"))
        report.rows[0].owner = nil
        out = []
        ListenerReportFormatter.json(report, poll: 3, into: &out)
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(#"{"type":"listener","poll":3,"netns":4026532001,"netns_name":"srv","cgroup":null,"cookie":42,"laddr":"0.0.0.0","lport":5004,"pid":null"#))
        #expect(lines[1].hasPrefix(#"{"type":"netns","poll":3"#))
    }

    /// A listener's workload: named once per cgroup, shown in the table, the JSON and the metrics.
    @Test func listenersNameTheirWorkload() throws {
        var table = ListenerTable()
        var asked: [UInt64] = []
        let nginx = Workload(cgroupPath: "/system.slice/nginx.service")
        let name = { (id: UInt64) -> Workload? in asked.append(id); return id == 77 ? nginx : nil }
        let report = table.update(polls: [Self.poll(cgroupID: 77)], kernel: [:], workload: name)
        _ = table.update(polls: [Self.poll(acceptQueue: 1, cgroupID: 77)], kernel: [:], workload: name)
        #expect(asked == [77], "named once")
        #expect(report.rows.first?.workload == nginx && table.report.rows.first?.cgroupID == 77)
        var out: [UInt8] = []
        ListenerReportFormatter.text(report, into: &out)
        #expect(String(decoding: out, as: UTF8.self).contains("nginx.service"))
        out = []
        ListenerReportFormatter.json(report, poll: 1, into: &out)
        #expect(String(decoding: out, as: UTF8.self).contains(#""cgroup":{"id":77,"path":"/system.slice/nginx.service","unit":"nginx.service"}"#))
        var metrics = DaemonMetrics()
        metrics.listeners = table.report
        let backlog = try #require(metrics.families().first { $0.name == "synwave_listener_backlog" })
        #expect(backlog.samples.first?.labels.last.map { $0.0 == "workload" && $0.1 == "nginx.service" } == true)
    }

    @Test func durations() {
        #expect(DurationText.parseNanoseconds("100ms") == 100_000_000)
        #expect(DurationText.parseNanoseconds("1.5s") == 1_500_000_000)
        #expect(DurationText.parseNanoseconds("2m") == 120_000_000_000)
        #expect(DurationText.parseNanoseconds("5") == nil)
        #expect(DurationText.parseNanoseconds("-1s") == nil)
        #expect(DurationText.parseNanoseconds("ms") == nil)
    }
}

@Suite struct ListenerRecordDecoderTests {
    static func record(cookie: UInt64, family: UInt16, address: [UInt8], port: UInt16, synQueue: UInt32) -> [UInt8] {
        var r = synwave_listener_record()
        r.cookie = cookie
        r.inode = 77
        withUnsafeMutableBytes(of: &r.addr) { raw in
            for (index, byte) in address.enumerated() { raw[index] = byte }
        }
        r.netns = 4026532001
        r.uid = 1000
        r.syn_queue = synQueue
        r.accept_queue = 3
        r.backlog = 4
        r.drops = 9
        r.family = family
        r.port = port
        return withUnsafeBytes(of: &r) { Array($0) }
    }

    static func decode(_ bytes: [UInt8]) -> (records: [(UInt32, ListenerSnapshot)], rejected: Int) {
        var records: [(UInt32, ListenerSnapshot)] = []
        let rejected = bytes.withUnsafeBytes { raw in ListenerRecordDecoder.decode(raw) { records.append(($0, $1)) } }
        return (records, rejected)
    }

    @Test func decodesBothFamilies() throws {
        let v4 = Self.record(cookie: 1, family: 2, address: [10, 0, 0, 2], port: 80, synQueue: 5)
        let v6 = Self.record(cookie: 2, family: 10, address: [UInt8](repeating: 0, count: 15) + [1], port: 443, synQueue: 0)
        let (records, rejected) = Self.decode(v4 + v6)
        #expect(rejected == 0)
        #expect(records.count == 2)
        let (netns, first) = try #require(records.first)
        #expect(netns == 4026532001)
        #expect(first == ListenerSnapshot(
            cookie: 1, listener: ListenerAddress(netns: 4026532001, address: IPAddress(parsing: "10.0.0.2")!, port: 80),
            acceptQueue: 3, backlog: 4, drops: 9, inode: 77, uid: 1000, synQueue: 5))
        #expect(records.last?.1.listener.address == IPAddress(parsing: "::1"))
    }

    @Test func theEndRecordGivesTheVisitedCount() {
        var end = synwave_listener_record()
        end.visited = 10_000
        let bytes = Self.record(cookie: 1, family: 2, address: [127, 0, 0, 1], port: 80, synQueue: 0)
            + withUnsafeBytes(of: &end) { Array($0) }
        var visited: [UInt32] = []
        var cookies: [UInt64] = []
        let rejected = bytes.withUnsafeBytes { raw in
            ListenerRecordDecoder.decode(raw, end: { visited.append($0) }) { cookies.append($1.cookie) }
        }
        #expect(rejected == 0 && cookies == [1] && visited == [10_000])
    }

    @Test func aTornTailAndAnUnknownFamilyAreRejectedNotDecoded() {
        let good = Self.record(cookie: 1, family: 2, address: [127, 0, 0, 1], port: 80, synQueue: 0)
        let unknown = Self.record(cookie: 2, family: 99, address: [], port: 81, synQueue: 0)
        let (records, rejected) = Self.decode(good + unknown + Array(good.prefix(10)))
        #expect(records.map(\.1.cookie) == [1])
        #expect(rejected == unknown.count + 10)
        #expect(Self.decode([]).records.isEmpty)
    }
}

@Suite struct ListenerDumpLedgerTests {
    @Test func aDumpOfChangesIsEnoughUntilAListenerIsGone() {
        var ledger = ListenerDumpLedger()
        #expect(ledger.needsFullDump, "the first dump lists everything")
        var usable = ledger.take(cookies: [1, 2, 3], visited: 3, full: true)
        #expect(usable && !ledger.needsFullDump)
        usable = ledger.take(cookies: [], visited: 3, full: false)
        #expect(usable, "nothing changed")
        usable = ledger.take(cookies: [2, 4], visited: 4, full: false)
        #expect(usable, "one changed, one new")
        // One gone and one new: the count alone tells (4 known + 1 new, 4 visited).
        usable = ledger.take(cookies: [5], visited: 4, full: false)
        #expect(!usable && ledger.needsFullDump)
        usable = ledger.take(cookies: [1, 2, 3, 5], visited: 4, full: true)
        #expect(usable && !ledger.needsFullDump)
    }

    @Test func aDumpWithoutItsEndRecordOrAWrongCountIsNotTrusted() {
        var ledger = ListenerDumpLedger()
        var usable = ledger.take(cookies: [1], visited: nil, full: true)
        #expect(!usable && ledger.needsFullDump)
        usable = ledger.take(cookies: [1], visited: 2, full: true)
        #expect(!usable && ledger.needsFullDump)
        usable = ledger.take(cookies: [1], visited: 1, full: true)
        #expect(usable)
        usable = ledger.take(cookies: [], visited: nil, full: false)
        #expect(!usable && ledger.needsFullDump)
    }
}
