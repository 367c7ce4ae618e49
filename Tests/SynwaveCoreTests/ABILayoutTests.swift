import CSynwaveABI
import SynwaveCore
import Testing

/// Pins the kernel <-> user ABI: a change here must come with a SYNWAVE_ABI_VERSION bump.
@Suite struct ABILayoutTests {
    @Test func version() {
        #expect(SYNWAVE_ABI_VERSION == 9)
    }

    @Test func header() {
        typealias H = synwave_event_header
        #expect(MemoryLayout<H>.size == 32)
        #expect(MemoryLayout<H>.offset(of: \H.type) == 0)
        #expect(MemoryLayout<H>.offset(of: \H.size) == 2)
        #expect(MemoryLayout<H>.offset(of: \H.flags) == 4)
        #expect(MemoryLayout<H>.offset(of: \H.ts_ns) == 8)
        #expect(MemoryLayout<H>.offset(of: \H.cookie) == 16)
        #expect(MemoryLayout<H>.offset(of: \H.skaddr) == 24)
    }

    @Test func stateEvent() {
        typealias E = synwave_state_event
        #expect(MemoryLayout<E>.size == 152)
        #expect(MemoryLayout<E>.alignment == 8)
        #expect(MemoryLayout<E>.offset(of: \E.hdr) == 0)
        #expect(MemoryLayout<E>.offset(of: \E.netns) == 32)
        #expect(MemoryLayout<E>.offset(of: \E.tgid) == 36)
        #expect(MemoryLayout<E>.offset(of: \E.pid) == 40)
        #expect(MemoryLayout<E>.offset(of: \E.family) == 44)
        #expect(MemoryLayout<E>.offset(of: \E.oldstate) == 46)
        #expect(MemoryLayout<E>.offset(of: \E.newstate) == 47)
        #expect(MemoryLayout<E>.offset(of: \E.sport) == 48)
        #expect(MemoryLayout<E>.offset(of: \E.dport) == 50)
        #expect(MemoryLayout<E>.offset(of: \E.error) == 52)
        #expect(MemoryLayout<E>.offset(of: \E.saddr) == 56)
        #expect(MemoryLayout<E>.offset(of: \E.daddr) == 72)
        #expect(MemoryLayout<E>.offset(of: \E.comm) == 88)
        #expect(MemoryLayout<E>.offset(of: \E.cgroup_id) == 104)
        #expect(MemoryLayout<E>.offset(of: \E.totals) == 112)
        #expect(Int(SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS) == MemoryLayout<E>.offset(of: \E.totals))
    }

    @Test func tuple() {
        typealias T = synwave_tuple
        #expect(MemoryLayout<T>.size == 40)
        #expect(MemoryLayout<T>.offset(of: \T.family) == 0)
        #expect(MemoryLayout<T>.offset(of: \T.sport) == 2)
        #expect(MemoryLayout<T>.offset(of: \T.dport) == 4)
        #expect(MemoryLayout<T>.offset(of: \T.saddr) == 8)
        #expect(MemoryLayout<T>.offset(of: \T.daddr) == 24)
    }

    @Test func retransmitEvent() {
        typealias E = synwave_retransmit_event
        #expect(MemoryLayout<E>.size == 104)
        #expect(MemoryLayout<E>.offset(of: \E.netns) == 32)
        #expect(MemoryLayout<E>.offset(of: \E.state) == 36)
        #expect(MemoryLayout<E>.offset(of: \E.kind) == 37)
        #expect(MemoryLayout<E>.offset(of: \E.flags) == 38)
        #expect(MemoryLayout<E>.offset(of: \E.err) == 40)
        #expect(MemoryLayout<E>.offset(of: \E.retransmits) == 44)
        #expect(MemoryLayout<E>.offset(of: \E.syn_queue) == 48)
        #expect(MemoryLayout<E>.offset(of: \E.accept_queue) == 52)
        #expect(MemoryLayout<E>.offset(of: \E.backlog) == 56)
        #expect(MemoryLayout<E>.offset(of: \E.tuple) == 64)
    }

    @Test func resetEvent() {
        typealias E = synwave_reset_event
        #expect(MemoryLayout<E>.size == 80)
        #expect(MemoryLayout<E>.offset(of: \E.netns) == 32)
        #expect(MemoryLayout<E>.offset(of: \E.direction) == 36)
        #expect(MemoryLayout<E>.offset(of: \E.state) == 37)
        #expect(MemoryLayout<E>.offset(of: \E.socket_kind) == 38)
        #expect(MemoryLayout<E>.offset(of: \E.reason) == 39)
        #expect(MemoryLayout<E>.offset(of: \E.tuple) == 40)
    }

    @Test func socketEvent() {
        typealias E = synwave_socket_event
        #expect(MemoryLayout<E>.size == 88)
        #expect(MemoryLayout<E>.offset(of: \E.netns) == 32)
        #expect(MemoryLayout<E>.offset(of: \E.kind) == 36)
        #expect(MemoryLayout<E>.offset(of: \E.state) == 37)
        #expect(MemoryLayout<E>.offset(of: \E.probes_out) == 38)
        #expect(MemoryLayout<E>.offset(of: \E.retransmits) == 39)
        #expect(MemoryLayout<E>.offset(of: \E.error) == 40)
        #expect(MemoryLayout<E>.offset(of: \E.packets_out) == 44)
        #expect(MemoryLayout<E>.offset(of: \E.tuple) == 48)
    }

    @Test func connectionEnums() {
        #expect(SYNWAVE_EVENT_RETRANSMIT.rawValue == 2 && SYNWAVE_EVENT_RESET.rawValue == 3 && SYNWAVE_EVENT_SOCKET.rawValue == 4)
        #expect(SYNWAVE_RETRANSMIT_SYNACK.rawValue == 3 && SYNWAVE_RETRANSMIT_TIMEOUT.rawValue == 2)
        #expect(SYNWAVE_SOCKET_TIME_WAIT.rawValue == 4 && SYNWAVE_RST_MPTCP.rawValue == 19)
        // Swift's names of the reasons follow the ABI numbering.
        #expect(ResetReason(rawValue: UInt8(SYNWAVE_RST_KEEPALIVE_TIMEOUT.rawValue)) == .keepaliveTimeout)
        #expect(ResetReason(rawValue: UInt8(SYNWAVE_RST_STATE.rawValue)) == .state)
        #expect(ResetReason(rawValue: UInt8(SYNWAVE_RST_ERROR.rawValue)) == .error)
        #expect(ResetReason.allCases.count == Int(SYNWAVE_RST_MPTCP.rawValue) + 1)
    }

    @Test func totals() {
        typealias T = synwave_tcp_totals
        #expect(MemoryLayout<T>.size == 40)
        #expect(MemoryLayout<T>.offset(of: \T.bytes_acked) == 0)
        #expect(MemoryLayout<T>.offset(of: \T.bytes_received) == 8)
        #expect(MemoryLayout<T>.offset(of: \T.segs_out) == 16)
        #expect(MemoryLayout<T>.offset(of: \T.segs_in) == 20)
        #expect(MemoryLayout<T>.offset(of: \T.total_retrans) == 24)
        #expect(MemoryLayout<T>.offset(of: \T.srtt_us) == 28)
        #expect(MemoryLayout<T>.offset(of: \T.mss_cache) == 32)
    }

    @Test func configAndEnums() {
        typealias C = synwave_bpf_config
        #expect(MemoryLayout<C>.size == 32)
        #expect(MemoryLayout<C>.offset(of: \C.listener_report_ns) == 8)
        #expect(MemoryLayout<C>.offset(of: \C.cookie_identity) == 16)
        #expect(MemoryLayout<C>.offset(of: \C.assemble_connections) == 20)
        #expect(MemoryLayout<C>.offset(of: \C.count_listed_netns_only) == 24)
        #expect(MemoryLayout<C>.offset(of: \C.cgroup_ids) == 28)
        #expect(SYNWAVE_EVF_LIVE.rawValue == 4)
        #expect(SYNWAVE_EVENT_CONNECTION.rawValue == 6)
        #expect(SYNWAVE_EVENT_STATE.rawValue == 1)
        #expect(SYNWAVE_EVF_COOKIE.rawValue == 1)
        #expect(SYNWAVE_EVF_TOTALS.rawValue == 2)
        #expect(SYNWAVE_COUNTER_RINGBUF_FULL.rawValue == 0)
        #expect(SYNWAVE_COUNTER_RECURSION_RECOVERED.rawValue == 1)
        #expect(SYNWAVE_COUNTER_SUBMITTED.rawValue == 2)
        #expect(SYNWAVE_COUNTER_LISTENER_UNTRACKED.rawValue == 3)
        #expect(SYNWAVE_COUNTER_OPENED_CLIENT.rawValue == 8)
        #expect(SYNWAVE_COUNTER_RETRANSMIT_SYN.rawValue == 10)
        #expect(SYNWAVE_COUNTER_RESETS_RECEIVED.rawValue == 14)
        // One counter per reset reason, right below the records counter.
        #expect(SYNWAVE_COUNTER_RESET_SENT.rawValue + UInt32(ResetReason.allCases.count) == SYNWAVE_COUNTER_CONNECTIONS.rawValue)
        #expect(SYNWAVE_COUNTER_AFTER_RECORD.rawValue == 39)
        #expect(SYNWAVE_COUNTER_MAX.rawValue == 40)
    }

    @Test func connection() {
        typealias C = synwave_connection
        #expect(MemoryLayout<C>.size == 200)
        #expect(MemoryLayout<C>.offset(of: \C.start_ns) == 0)
        #expect(MemoryLayout<C>.offset(of: \C.transitions) == 8)
        #expect(Int(SYNWAVE_CONNECTION_TRANSITIONS) == SocketMachine.maxTransitions)
        #expect(MemoryLayout<C>.offset(of: \C.last_reset_received_ns) == 56)
        #expect(MemoryLayout<C>.offset(of: \C.cgroup_id) == 64)
        #expect(MemoryLayout<C>.offset(of: \C.totals) == 72)
        #expect(MemoryLayout<C>.offset(of: \C.tuple) == 112)
        #expect(MemoryLayout<C>.offset(of: \C.comm) == 152)
        #expect(MemoryLayout<C>.offset(of: \C.netns) == 168)
        #expect(MemoryLayout<C>.offset(of: \C.tgid) == 172)
        #expect(MemoryLayout<C>.offset(of: \C.error) == 176)
        #expect(MemoryLayout<C>.offset(of: \C.packets_out) == 180)
        #expect(MemoryLayout<C>.offset(of: \C.retransmits) == 184)
        #expect(MemoryLayout<C>.offset(of: \C.transition_count) == 192)
        #expect(MemoryLayout<C>.offset(of: \C.flags) == 193)
        #expect(MemoryLayout<C>.offset(of: \C.probes_out) == 194)
        #expect(MemoryLayout<C>.offset(of: \C.resets_received) == 195)
        #expect(MemoryLayout<C>.offset(of: \C.resets_sent) == 196)
        #expect(MemoryLayout<C>.offset(of: \C.first_reset_reason) == 197)
        #expect(MemoryLayout<C>.offset(of: \C.last_reset_reason) == 198)
        #expect(MemoryLayout<synwave_connection_event>.size == 232)
        #expect(MemoryLayout<synwave_connection_slot>.size == 208)
        #expect(MemoryLayout<synwave_cgroup_event>.size == 40)
        #expect(MemoryLayout<synwave_cgroup_event>.offset(of: \synwave_cgroup_event.cgroup_id) == 32)
        #expect(SYNWAVE_EVENT_CGROUP.rawValue == 7)
        #expect(MemoryLayout<synwave_connection_event>.offset(of: \synwave_connection_event.conn) == 32)
        #expect(MemoryLayout<synwave_live>.size == 8)
    }

    @Test func listenerEvent() {
        typealias E = synwave_listener_event
        #expect(MemoryLayout<E>.size == 96)
        #expect(MemoryLayout<E>.offset(of: \E.kind) == 32)
        #expect(MemoryLayout<E>.offset(of: \E.family) == 34)
        #expect(MemoryLayout<E>.offset(of: \E.netns) == 36)
        #expect(MemoryLayout<E>.offset(of: \E.syn_queue) == 40)
        #expect(MemoryLayout<E>.offset(of: \E.accept_queue) == 44)
        #expect(MemoryLayout<E>.offset(of: \E.backlog) == 48)
        #expect(MemoryLayout<E>.offset(of: \E.port) == 52)
        #expect(MemoryLayout<E>.offset(of: \E.accept_overflows) == 56)
        #expect(MemoryLayout<E>.offset(of: \E.inode) == 64)
        #expect(MemoryLayout<E>.offset(of: \E.addr) == 72)
        #expect(MemoryLayout<E>.offset(of: \E.cgroup_id) == 88)
        #expect(SYNWAVE_EVENT_LISTENER.rawValue == 5)
        #expect(SYNWAVE_LISTENER_ACCEPT_QUEUE_FULL.rawValue == 1 && SYNWAVE_LISTENER_SYN_QUEUE_FULL.rawValue == 3)
    }

    @Test func listenerStats() {
        typealias S = synwave_listener_stats
        #expect(MemoryLayout<S>.size == 96)
        #expect(MemoryLayout<S>.offset(of: \S.accept_overflows) == 0)
        #expect(MemoryLayout<S>.offset(of: \S.synack_retransmits) == 8)
        #expect(MemoryLayout<S>.offset(of: \S.accept_queue_full) == 16)
        #expect(MemoryLayout<S>.offset(of: \S.syn_queue_full) == 24)
        #expect(MemoryLayout<S>.offset(of: \S.last_report_ns) == 32)
        #expect(MemoryLayout<S>.offset(of: \S.inode) == 40)
        #expect(MemoryLayout<S>.offset(of: \S.netns) == 48)
        #expect(MemoryLayout<S>.offset(of: \S.max_syn_queue) == 64)
        #expect(MemoryLayout<S>.offset(of: \S.max_accept_queue) == 68)
        #expect(MemoryLayout<S>.offset(of: \S.family) == 72)
        #expect(MemoryLayout<S>.offset(of: \S.port) == 74)
        #expect(MemoryLayout<S>.offset(of: \S.accept_full_now) == 76)
        #expect(MemoryLayout<S>.offset(of: \S.syn_full_now) == 77)
        #expect(MemoryLayout<S>.offset(of: \S.addr) == 80)
    }

    @Test func listenerRecord() {
        typealias R = synwave_listener_record
        #expect(MemoryLayout<R>.size == 72)
        #expect(MemoryLayout<R>.offset(of: \R.cgroup_id) == 64)
        #expect(MemoryLayout<R>.offset(of: \R.cookie) == 0)
        #expect(MemoryLayout<R>.offset(of: \R.inode) == 8)
        #expect(MemoryLayout<R>.offset(of: \R.addr) == 16)
        #expect(MemoryLayout<R>.offset(of: \R.netns) == 32)
        #expect(MemoryLayout<R>.offset(of: \R.uid) == 36)
        #expect(MemoryLayout<R>.offset(of: \R.syn_queue) == 40)
        #expect(MemoryLayout<R>.offset(of: \R.accept_queue) == 44)
        #expect(MemoryLayout<R>.offset(of: \R.backlog) == 48)
        #expect(MemoryLayout<R>.offset(of: \R.drops) == 52)
        #expect(MemoryLayout<R>.offset(of: \R.family) == 56)
        #expect(MemoryLayout<R>.offset(of: \R.port) == 58)
        #expect(MemoryLayout<R>.offset(of: \R.visited) == 60)
    }
}
