import CSynwaveABI
import Foundation
import Glibc
import Logging
import SynwaveCore
import SynwaveKernel
import Testing

/// The sweep of the kernel's table of assembled connections: a slot whose socket ended while
/// no program ran (its record never sent) becomes a record once sock_diag says the socket is
/// gone; slots of live sockets, of records already sent, and of recent sockets stay. The table
/// here is a file of the map's layout, the presence answer the real kernel's.
@Suite(.enabled(if: Harness.isRoot, "root integration tests: they make network namespaces"))
struct ConnectionTableIntegrationTests {
    @Test func sweepTakesOnlySlotsOfGoneSockets() throws {
        let namespace = try NetworkNamespace("table")
        let target = NamespaceDiscovery.target(for: namespace.name)
        let (server, clients) = try namespace.heldConnections(port: 7310, count: 1, hold: 4)
        defer { _ = server.interrupt() }
        defer { _ = clients.finish(seconds: 10) }
        var live: [ExistingConnection] = []
        for _ in 0..<40 where live.count < 2 {
            usleep(100_000)
            live = ExistingConnections.snapshot(namespaces: [target]).connections
        }
        try #require(live.count == 2, "1 connection, both ends: \(live.count)")

        let slots = 16
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synwave-table-\(getpid())").path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        try #require(ftruncate(fd, off_t(slots * MemoryLayout<synwave_connection_slot>.stride)) == 0)
        let table = try ConnectionTable(mapFD: fd, slots: slots)
        let gone: UInt64 = 0x7fff_0000_0000_0003
        func slot(_ cookie: UInt64, startNs: UInt64, flags: UInt32 = 0) -> synwave_connection_slot {
            var s = synwave_connection_slot()
            s.cookie = cookie
            s.conn.start_ns = startNs
            s.conn.netns = namespace.inode
            s.conn.flags = UInt8(flags | SYNWAVE_CONN_CLOSED.rawValue)
            s.conn.transition_count = 1
            s.conn.transitions.0 = UInt64(TCPState.close.rawValue) << 4 | UInt64(TCPState.established.rawValue) | 50 << 8
            return s
        }
        let written = [
            (1, slot(live[0].cookie, startNs: 100)),                                   // open: stays
            (2, slot(gone, startNs: 100)),                                             // gone: its record
            (3, slot(gone + 1, startNs: 100, flags: SYNWAVE_CONN_EMITTED.rawValue)),   // sent: stays
            (4, slot(gone + 2, startNs: 5_000)),                                       // too recent: stays
        ]
        for (index, value) in written {
            var copy = value
            try #require(pwrite(fd, &copy, MemoryLayout<synwave_connection_slot>.size,
                                off_t(index * MemoryLayout<synwave_connection_slot>.stride)) == MemoryLayout<synwave_connection_slot>.size)
        }
        #expect(table.unsent(firstSeenBefore: 1_000).map(\.cookie) == [live[0].cookie, gone])

        let events = table.sweep(firstSeenBefore: 1_000, nowNs: 9_000)
        try #require(events.count == 1)
        guard case .connection(let record) = events[0] else { Issue.record("not a connection: \(events[0])"); return }
        #expect(record.socket.value == gone)
        #expect(record.sent == .atDestroy, "sent as tcp_destroy_sock would have: its end was not seen")
        #expect(record.transitions.all.map(\.new) == [.close])
        #expect(table.unsent(firstSeenBefore: 1_000).map(\.cookie) == [live[0].cookie], "the gone socket's slot is free")
        #expect(table.sweep(firstSeenBefore: 1_000, nowNs: 9_500).isEmpty, "taken once")
    }

    /// The real programs free a connection's slot when its socket ends: after churn in a
    /// namespace, no slot is held by a socket of that namespace.
    @Test func socketsGiveBackTheirSlots() throws {
        let namespace = try NetworkNamespace("slots")
        var options = TracerOptions()
        options.ringBufferBytes = 1 << 20
        let tracer = try KernelTracer.start(options, logger: Logger(label: "test"))
        guard tracer.assemblesConnections else { return } // this kernel sends every event: no table
        let table = try #require(tracer.connectionTable)
        _ = try namespace.loadgen(["churn", "--connections", "400", "--seconds", "10"])
        _ = try namespace.loadgen(["churn", "--connections", "200", "--close", "rst", "--seconds", "10"])
        #expect(try tracer.stats().connections.records >= 1_200, "both ends of 600 connections assembled")
        let held = table.unsent(firstSeenBefore: .max).filter { $0.netns == namespace.inode }
        #expect(held.isEmpty, "slots still held after every socket ended: \(held.count)")
        tracer.detach()
    }
}
