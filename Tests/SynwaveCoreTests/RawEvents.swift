import CSynwaveABI
@testable import SynwaveCore

/// Builds ring buffer records byte for byte, as the BPF side would.
enum RawEvents {
    static func state(
        old: UInt8 = 2, new: UInt8 = 1, family: UInt16 = 2, cookie: UInt64 = 42, flags: UInt32 = 1,
        saddr: [UInt8] = [127, 0, 0, 1], daddr: [UInt8] = [10, 0, 0, 2], sport: UInt16 = 40000, dport: UInt16 = 5004,
        comm: String = "curl", netns: UInt32 = 4026531840, ts: UInt64 = 1_000_000
    ) -> [UInt8] {
        var e = synwave_state_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_STATE.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_state_event>.size)
        e.hdr.flags = flags
        e.hdr.ts_ns = ts
        e.hdr.cookie = cookie
        e.hdr.skaddr = 0xffff_8880_0000_1000
        e.netns = netns
        e.tgid = 1234
        e.pid = 1235
        e.family = family
        e.oldstate = old
        e.newstate = new
        e.sport = sport
        e.dport = dport
        withUnsafeMutableBytes(of: &e.saddr) { for (i, b) in saddr.enumerated() { $0[i] = b } }
        withUnsafeMutableBytes(of: &e.daddr) { for (i, b) in daddr.enumerated() { $0[i] = b } }
        withUnsafeMutableBytes(of: &e.comm) { for (i, b) in comm.utf8.prefix(15).enumerated() { $0[i] = b } }
        e.cgroup_id = 4242
        e.totals.bytes_acked = 100
        e.totals.bytes_received = 200
        e.totals.segs_out = 3
        e.totals.segs_in = 4
        e.totals.total_retrans = 1
        e.totals.srtt_us = 55
        e.totals.mss_cache = 65483
        return withUnsafeBytes(of: e) { Array($0) }
    }

    /// A state record as the BPF side sends transitions other than to CLOSE: without totals.
    static func shortState(old: UInt8 = 2, new: UInt8 = 1) -> [UInt8] {
        var bytes = Array(state(old: old, new: new).prefix(Int(SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS)))
        bytes[2] = UInt8(SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS)
        return bytes
    }

    /// A connection the kernel assembled: a refused connect (CLOSE -> SYN_SENT -> CLOSE).
    static func connection(transitions: [UInt64] = [0x2 << 4 | 0x7, 80_000 << 8 | 0x7 << 4 | 0x2], flags: UInt32 =
                               SYNWAVE_CONN_TUPLE.rawValue | SYNWAVE_CONN_OWNER.rawValue | SYNWAVE_CONN_CLOSED.rawValue,
                           family: UInt16 = 2) -> [UInt8] {
        var e = synwave_connection_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_CONNECTION.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_connection_event>.size)
        e.hdr.flags = SYNWAVE_EVF_COOKIE.rawValue
        e.hdr.ts_ns = 2_000_000
        e.hdr.cookie = 9
        e.conn.start_ns = 1_000_000
        withUnsafeMutableBytes(of: &e.conn.transitions) { raw in
            for (i, word) in transitions.prefix(6).enumerated() { raw.storeBytes(of: word, toByteOffset: i * 8, as: UInt64.self) }
        }
        e.conn.transition_count = UInt8(transitions.count)
        e.conn.flags = UInt8(flags)
        e.conn.netns = 4026531840
        e.conn.tgid = 77
        e.conn.cgroup_id = 5151
        withUnsafeMutableBytes(of: &e.conn.comm) { for (i, b) in "curl".utf8.enumerated() { $0[i] = b } }
        e.conn.error = 111
        e.conn.resets_received = 1
        e.conn.retransmits.0 = 2
        e.conn.tuple.family = family
        e.conn.tuple.sport = 40000
        e.conn.tuple.dport = 9
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func retransmit(kind: UInt8 = 1, state: UInt8 = 2, flags: UInt8 = 0, family: UInt16 = 2) -> [UInt8] {
        var e = synwave_retransmit_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_RETRANSMIT.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_retransmit_event>.size)
        e.hdr.flags = 1
        e.hdr.cookie = 7
        e.state = state
        e.kind = kind
        e.flags = flags
        e.err = -1
        e.retransmits = 2
        e.tuple.family = family
        e.tuple.sport = 40000
        e.tuple.dport = 80
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func reset(direction: UInt8 = 1, socketKind: UInt8 = 1, state: UInt8 = 1, reason: UInt8 = 16,
                      family: UInt16 = 0) -> [UInt8] {
        var e = synwave_reset_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_RESET.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_reset_event>.size)
        e.hdr.flags = 1
        e.hdr.cookie = 8
        e.direction = direction
        e.socket_kind = socketKind
        e.state = state
        e.reason = reason
        e.tuple.family = family
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func socket(kind: UInt8 = 1, state: UInt8 = 7, error: Int32 = 110) -> [UInt8] {
        var e = synwave_socket_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_SOCKET.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_socket_event>.size)
        e.hdr.flags = 1
        e.hdr.cookie = 9
        e.kind = kind
        e.state = state
        e.error = error
        e.probes_out = 2
        e.packets_out = 0
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func listener(kind: UInt8 = 1, family: UInt16 = 2) -> [UInt8] {
        var e = synwave_listener_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_LISTENER.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_listener_event>.size)
        e.hdr.flags = 1
        e.hdr.cookie = 10
        e.kind = kind
        e.family = family
        e.netns = 4026532000
        e.syn_queue = 1
        e.accept_queue = 3
        e.backlog = 2
        e.port = 5004
        e.accept_overflows = 12
        e.inode = 777
        e.cgroup_id = 6161
        e.addr.0 = 10; e.addr.3 = 2
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func cgroup(id: UInt64 = 4242) -> [UInt8] {
        var e = synwave_cgroup_event()
        e.hdr.type = UInt16(SYNWAVE_EVENT_CGROUP.rawValue)
        e.hdr.size = UInt16(MemoryLayout<synwave_cgroup_event>.size)
        e.hdr.ts_ns = 3_000
        e.cgroup_id = id
        return withUnsafeBytes(of: e) { Array($0) }
    }

    static func decode(_ bytes: [UInt8]) -> Result<KernelEvent, DecodeError> {
        bytes.withUnsafeBytes { EventDecoder.decode($0) }
    }

    static func stateEvent(_ bytes: [UInt8]) throws -> StateEvent {
        guard case .success(.state(let e)) = decode(bytes) else { throw DecodeError.truncated(size: -1) }
        return e
    }
}
