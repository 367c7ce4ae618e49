import CSynwaveABI

/// What the BPF programs count per event while they assemble connections themselves
/// (bpf/connection.bpf.h): the per-event metrics user space no longer sees events for.
public struct KernelConnectionCounts: Equatable, Sendable {
    public var opened = EnumCounts<ConnectionRole>()
    /// Of connections' own segments: SYN-ACKs stay per event (the listener's).
    public var retransmits = RetransmitTally<UInt64>()
    /// Resets sent by connections (listeners' and mini-sockets' go out per event).
    public var resetsSent = EnumCounts<ResetReason>()
    public var resetsReceived: UInt64 = 0
    /// Connection records the programs sent.
    public var records: UInt64 = 0
    /// Sockets whose storage could not be created: no record.
    public var untracked: UInt64 = 0
    /// Transitions past what a record keeps.
    public var truncatedTransitions: UInt64 = 0
    /// Resets on a socket after its record went out: counted, not in the record.
    public var afterRecord: UInt64 = 0

    public init() {}

    /// From the per-CPU "counters" map, summed (indices of enum synwave_counter).
    public init(counters: [UInt64]) {
        func at(_ index: UInt32) -> UInt64 { Int(index) < counters.count ? counters[Int(index)] : 0 }
        opened[.client] = at(SYNWAVE_COUNTER_OPENED_CLIENT.rawValue)
        opened[.server] = at(SYNWAVE_COUNTER_OPENED_SERVER.rawValue)
        let retransmit = SYNWAVE_COUNTER_RETRANSMIT_SYN.rawValue
        retransmits.syn = at(retransmit + SYNWAVE_CONN_RETRANSMIT_SYN.rawValue)
        retransmits.data = at(retransmit + SYNWAVE_CONN_RETRANSMIT_DATA.rawValue)
        retransmits.fin = at(retransmit + SYNWAVE_CONN_RETRANSMIT_FIN.rawValue)
        retransmits.tlp = at(retransmit + SYNWAVE_CONN_RETRANSMIT_TLP.rawValue)
        resetsReceived = at(SYNWAVE_COUNTER_RESETS_RECEIVED.rawValue)
        for reason in ResetReason.allCases {
            resetsSent[reason] = at(SYNWAVE_COUNTER_RESET_SENT.rawValue + UInt32(reason.rawValue))
        }
        records = at(SYNWAVE_COUNTER_CONNECTIONS.rawValue)
        untracked = at(SYNWAVE_COUNTER_CONNECTION_UNTRACKED.rawValue)
        truncatedTransitions = at(SYNWAVE_COUNTER_TRANSITIONS_TRUNCATED.rawValue)
        afterRecord = at(SYNWAVE_COUNTER_AFTER_RECORD.rawValue)
    }
}

extension CorrelatorMetrics {
    /// The correlator's own counts plus what the kernel counted for the connections it assembled.
    public func adding(_ kernel: KernelConnectionCounts) -> CorrelatorMetrics {
        var sum = self
        for (role, count) in kernel.opened.all { sum.connectionsOpened[role] += count }
        sum.retransmits.syn += kernel.retransmits.syn
        sum.retransmits.data += kernel.retransmits.data
        sum.retransmits.fin += kernel.retransmits.fin
        sum.retransmits.tlp += kernel.retransmits.tlp
        for (reason, count) in kernel.resetsSent.all { sum.resetsSent[reason] += count }
        sum.resetsReceived += kernel.resetsReceived
        sum.truncatedTransitions += kernel.truncatedTransitions
        return sum
    }
}
