/// One BPF program's counters from `bpf_prog_info`.
public struct ProgramStats: Equatable, Sendable {
    public var name: String
    /// Zero unless `kernel.bpf_stats_enabled` is on.
    public var runTimeNs: UInt64
    public var runCount: UInt64
    public var recursionMisses: UInt64

    public init(name: String, runTimeNs: UInt64, runCount: UInt64, recursionMisses: UInt64) {
        self.name = name
        self.runTimeNs = runTimeNs
        self.runCount = runCount
        self.recursionMisses = recursionMisses
    }
}

/// The tracer's own health, as the daemon exports it.
public struct TracerHealth: Equatable, Sendable {
    public var eventsReceived: UInt64 = 0
    public var lostRingBufferFull: UInt64 = 0
    /// Skipped by a program's recursion guard and not re-emitted by the rescue program.
    public var lostRecursion: UInt64 = 0
    /// Tracepoint firings that reached no program and no recursion count (kernel-side, counted with perf).
    public var lostNotRun: UInt64 = 0
    /// Of those, the ones that can be firings while PID 1 was on the CPU (kernels that keep BPF out of init's context).
    public var lostNotRunWhileInitRan: UInt64 = 0
    public var droppedInUserSpace: UInt64 = 0
    public var decodeErrors: UInt64 = 0
    public var listenersUntracked: UInt64 = 0
    /// Records taken from the kernel's table of assembled connections: their sockets ended while
    /// the kernel ran no program for them.
    public var recoveredFromTable: UInt64 = 0
    /// What the programs counted of the connections they assembled (zero without assembly).
    public var kernelConnections = KernelConnectionCounts()
    public var bpfStatsEnabled = false
    public var programs: [ProgramStats] = []

    public init() {}
}

/// What happened to one output (a log file, the metrics file) since start.
public struct OutputStats: Equatable, Sendable {
    public var linesWritten: UInt64 = 0
    public var writeErrors: UInt64 = 0
    /// Lines given up because the output stayed unwritable past the buffer limit.
    public var linesDropped: UInt64 = 0
    /// Lines waiting to be written (kept while the output fails).
    public var linesPending: UInt64 = 0
    /// Size-based rotations (`log_max_size`).
    public var rotations: UInt64 = 0

    public init() {}
}

public struct TailServerStats: Equatable, Sendable {
    public var clients: UInt64 = 0
    public var clientsServed: UInt64 = 0
    /// Lines not sent to a client that read too slowly.
    public var linesSkipped: UInt64 = 0
    /// Clients answered with an ERROR line and closed: a bad or missing request line.
    public var clientsRefused: UInt64 = 0
    /// Clients turned away at once because `tail_clients_max` were connected.
    public var clientsOverCap: UInt64 = 0

    public init() {}
}

/// Everything one metrics snapshot is made of; `families()` names it Prometheus-style.
public struct DaemonMetrics: Sendable {
    public var connections = CorrelatorMetrics()
    public var trackedSockets = 0
    public var listeners = ListenerReport(rows: [], namespaces: [])
    /// Listeners given per-listener series (`listener_metrics_max`); the others are counted.
    public var listenerSeriesLimit = Int.max
    public var tracer = TracerHealth()
    /// By output name: "events", "metrics_log", "metrics_file".
    public var outputs: [(String, OutputStats)] = []
    public var tail = TailServerStats()
    /// What the event log policy did with the records.
    public var eventLog = EventLogCounts()
    public var uptimeSeconds: Double = 0
    /// What `synwave doctor` would list: loaded and derived features.
    public var features: [FeatureStatus] = []
    /// Per-workload counters (`workload_metrics_max`).
    public var workloads: WorkloadMetrics?

    public init() {}

    public func families() -> [MetricFamily] {
        var families: [MetricFamily] = []
        families += connectionFamilies()
        families += workloads?.families() ?? []
        families += listenerFamilies()
        families += healthFamilies()
        families.append(featureFamily())
        return families
    }

    private func featureFamily() -> MetricFamily {
        var family = MetricFamily("synwave_feature_enabled", .gauge,
                                  "Whether a feature is on (1) or off (0), and how it is attached; synwave doctor says why one is off.")
        for feature in features {
            family.add(feature.enabled ? 1 : 0, [("feature", feature.name), ("attached", feature.attachment.rawValue)])
        }
        return family
    }

    private func connectionFamilies() -> [MetricFamily] {
        let c = connections
        var opened = MetricFamily("synwave_connections_opened_total", .counter, "Connections that reached ESTABLISHED or SYN_SENT, by role.")
        for (role, count) in c.connectionsOpened.all { opened.add(count, [("role", role.rawValue)]) }
        var ended = MetricFamily("synwave_connections_ended_total", .counter, "Connection records written, by how the connection ended.")
        for (end, count) in c.connectionsEnded.all { ended.add(count, [("end", end.rawValue)]) }
        var retransmits = MetricFamily("synwave_retransmits_total", .counter, "Retransmitted segments, by kind (tlp: tail-loss probes).")
        for (kind, count) in [("syn", c.retransmits.syn), ("synack", c.retransmits.synack), ("data", c.retransmits.data),
                              ("fin", c.retransmits.fin), ("tlp", c.retransmits.tlp)] {
            retransmits.add(count, [("kind", kind)])
        }
        var resetsSent = MetricFamily("synwave_resets_sent_total", .counter, "Resets sent, by the kernel's reason (sk_rst_reason).")
        for (reason, count) in c.resetsSent.all where count > 0 { resetsSent.add(count, [("reason", reason.name)]) }
        if resetsSent.samples.isEmpty { resetsSent.add(0, [("reason", ResetReason.notSpecified.name)]) }
        return [
            opened, ended,
            MetricFamily("synwave_handshake_seconds", .histogram, "Handshake time: SYN_SENT or SYN_RECV to ESTABLISHED.",
                         [.init(.histogram(c.handshake))]),
            MetricFamily("synwave_connection_duration_seconds", .histogram, "Connection lifetime, first state to CLOSE.",
                         [.init(.histogram(c.duration))]),
            retransmits, resetsSent,
            counter("synwave_resets_received_total", "Resets received on connections.", c.resetsReceived),
            counter("synwave_keepalive_timeouts_total", "Connections ended by keepalive probes going unanswered.",
                    c.connectionsEnded[.keepaliveTimeout]),
            counter("synwave_retransmit_timeouts_total", "Established connections ended by retransmissions timing out.",
                    c.connectionsEnded[.retransmitTimeout]),
            counter("synwave_connect_timeouts_total", "Connects that timed out after SYN retransmits.",
                    c.connectionsEnded[.connectTimeout]),
            counter("synwave_connections_refused_total", "Connects answered with a reset (ECONNREFUSED).",
                    c.connectionsEnded[.refused]),
        ]
    }

    private func listenerFamilies() -> [MetricFamily] {
        var synQueue = MetricFamily("synwave_listener_syn_queue", .gauge, "Half-open requests (SYN queue) at the last poll.")
        var synQueueMax = MetricFamily("synwave_listener_syn_queue_max", .gauge, "Deepest SYN queue seen since start.")
        var acceptQueue = MetricFamily("synwave_listener_accept_queue", .gauge, "Connections waiting for accept() at the last poll.")
        var acceptQueueMax = MetricFamily("synwave_listener_accept_queue_max", .gauge, "Deepest accept queue seen since start.")
        var backlog = MetricFamily("synwave_listener_backlog", .gauge, "listen() backlog as the kernel capped it; each queue holds one more.")
        var overflows = MetricFamily("synwave_listener_accept_overflows_total", .counter,
                                     "Final ACKs and SYNs dropped on a full accept queue (the listener's share of ListenOverflows).")
        var synDrops = MetricFamily("synwave_listener_syn_drops_total", .counter,
                                    "SYNs dropped on a full SYN queue (the listener's share of TCPReqQFullDrop).")
        var synacks = MetricFamily("synwave_listener_synack_retransmits_total", .counter, "SYN-ACKs retransmitted by the listener.")
        let exported = Self.busiest(listeners.rows, limit: listenerSeriesLimit)
        for row in exported {
            let labels = [("netns", String(row.listener.netns)), ("namespace", row.namespaceName),
                          ("address", row.listener.address.description), ("port", String(row.listener.port)),
                          ("comm", row.owner?.comm.description ?? ""),
                          ("workload", WorkloadMetrics.label(cgroupID: row.cgroupID, workload: row.workload))]
            synQueue.add(row.synQueue, labels)
            synQueueMax.add(row.maxSynQueue, labels)
            acceptQueue.add(row.acceptQueue, labels)
            acceptQueueMax.add(row.maxAcceptQueue, labels)
            backlog.add(row.backlog, labels)
            overflows.add(row.acceptOverflows, labels)
            synDrops.add(row.synDrops, labels)
            synacks.add(row.synackRetransmits, labels)
        }
        var cookies = MetricFamily("synwave_netns_syncookies_sent_total", .counter,
                                   "Syncookies sent since start: the kernel counts them per namespace only.")
        var namespaceOverflows = MetricFamily("synwave_netns_listen_overflows_total", .counter, "The namespace's ListenOverflows since start.")
        var namespaceDrops = MetricFamily("synwave_netns_listen_drops_total", .counter, "The namespace's ListenDrops since start.")
        // Every namespace is polled by default: bounded like the listeners, those in trouble first.
        let namespaces = listeners.namespaces.sorted {
            ($0.counters.listenOverflows + $0.counters.listenDrops + $0.counters.syncookiesSent, $1.netns)
                > ($1.counters.listenOverflows + $1.counters.listenDrops + $1.counters.syncookiesSent, $0.netns)
        }.prefix(listenerSeriesLimit)
        for namespace in namespaces {
            let labels = [("netns", String(namespace.netns)), ("namespace", namespace.name),
                          ("workload", namespace.owner.map(WorkloadMetrics.label) ?? "none")]
            cookies.add(namespace.counters.syncookiesSent, labels)
            namespaceOverflows.add(namespace.counters.listenOverflows, labels)
            namespaceDrops.add(namespace.counters.listenDrops, labels)
        }
        var omitted = MetricFamily("synwave_listeners_omitted", .gauge,
                                   "Listeners left out of the per-listener series (listener_metrics_max); `synwave listeners` shows all.")
        omitted.add(listeners.rows.count - exported.count, [])
        var namespacesOmitted = MetricFamily("synwave_namespaces_omitted", .gauge,
                                             "Namespaces left out of the per-namespace series (listener_metrics_max).")
        namespacesOmitted.add(listeners.namespaces.count - namespaces.count, [])
        return [synQueue, synQueueMax, acceptQueue, acceptQueueMax, backlog, overflows, synDrops, synacks,
                cookies, namespaceOverflows, namespaceDrops, omitted, namespacesOmitted]
    }

    /// At most `limit` rows, in their order: those that dropped or retransmitted most first,
    /// then the deepest peaks (a listener in trouble is never the one left out).
    static func busiest(_ rows: [ListenerRow], limit: Int) -> [ListenerRow] {
        guard rows.count > limit else { return rows }
        let trouble = rows.map { ($0.acceptOverflows + $0.synDrops + $0.synackRetransmits,
                                  UInt64($0.maxAcceptQueue) + UInt64($0.maxSynQueue)) }
        let chosen = rows.indices.sorted { trouble[$0] > trouble[$1] || (trouble[$0] == trouble[$1] && $0 < $1) }.prefix(limit)
        return chosen.sorted().map { rows[$0] }
    }

    private func healthFamilies() -> [MetricFamily] {
        let t = tracer
        var lost = MetricFamily("synwave_events_lost_total", .counter, "Events the kernel side could not deliver, by cause.")
        lost.add(t.lostRingBufferFull, [("cause", "ring_buffer_full")])
        lost.add(t.lostRecursion, [("cause", "recursion")])
        lost.add(t.lostNotRun - min(t.lostNotRun, t.lostNotRunWhileInitRan), [("cause", "not_run")])
        lost.add(t.lostNotRunWhileInitRan, [("cause", "not_run_init_context")])
        var runTime = MetricFamily("synwave_bpf_run_seconds_total", .counter,
                                   "Time spent in each BPF program (needs sysctl kernel.bpf_stats_enabled=1).")
        var runs = MetricFamily("synwave_bpf_runs_total", .counter, "Runs of each BPF program (needs kernel.bpf_stats_enabled=1).")
        var misses = MetricFamily("synwave_bpf_recursion_misses_total", .counter,
                                  "Runs the kernel skipped because the program was already running on that CPU.")
        for program in t.programs {
            let labels = [("program", program.name)]
            if t.bpfStatsEnabled {
                runTime.add(Double(program.runTimeNs) / 1e9, labels)
                runs.add(program.runCount, labels)
            }
            misses.add(program.recursionMisses, labels)
        }
        var written = MetricFamily("synwave_output_lines_total", .counter, "Lines written, per output.")
        var errors = MetricFamily("synwave_output_write_errors_total", .counter, "Failed writes (disk full, directory gone), per output; retried.")
        var dropped = MetricFamily("synwave_output_lines_dropped_total", .counter, "Lines given up after the output stayed unwritable past the buffer limit.")
        var pending = MetricFamily("synwave_output_lines_pending", .gauge, "Lines waiting for an unwritable output.")
        var rotations = MetricFamily("synwave_output_rotations_total", .counter, "Files rotated at log_max_size, per output.")
        for (name, stats) in outputs {
            let labels = [("output", name)]
            written.add(stats.linesWritten, labels)
            errors.add(stats.writeErrors, labels)
            dropped.add(stats.linesDropped, labels)
            pending.add(stats.linesPending, labels)
            rotations.add(stats.rotations, labels)
        }
        return [
            counter("synwave_events_received_total", "Events read from the ring buffer.", t.eventsReceived),
            lost,
            counter("synwave_events_dropped_total", "Decoded events dropped in user space (consumer too slow).", t.droppedInUserSpace),
            counter("synwave_decode_errors_total", "Ring buffer records that could not be decoded.", t.decodeErrors),
            counter("synwave_listeners_untracked_total", "Listener samples lost: the kernel's listener map was full.", t.listenersUntracked),
            gauge("synwave_bpf_stats_enabled", "Whether kernel.bpf_stats_enabled is on (BPF run time is measured).", t.bpfStatsEnabled ? 1 : 0),
            runTime, runs, misses,
            gauge("synwave_tracked_sockets", "Sockets the correlator holds a record for.", Double(trackedSockets)),
            counter("synwave_records_evicted_total", "Records dropped because max_sockets were tracked.", connections.evicted),
            counter("synwave_records_expired_total", "Open records dropped after idle_timeout without an event.", connections.expired),
            counter("synwave_records_close_inferred_total",
                    "Records ended by the socket's destruction because their CLOSE transition never came.", connections.closesInferred),
            counter("synwave_records_close_lost_total",
                    "Records of idle sockets the kernel's socket table no longer had, no closing event seen.", connections.closesLost),
            counter("synwave_idle_sockets_confirmed_total",
                    "Idle sockets (close_check_after) looked up in the kernel's socket table and found open.", connections.idleSocketsConfirmed),
            counter("synwave_late_events_total", "Events of a socket whose record was already written.", connections.lateEvents),
            counter("synwave_connection_records_assembled_total",
                    "Connection records the kernel assembled (feature connection_records).", t.kernelConnections.records),
            counter("synwave_connection_records_recovered_total",
                    "Assembled records taken from the kernel's table after their socket ended unseen (no program ran for its end).",
                    t.recoveredFromTable),
            counter("synwave_connections_untracked_total",
                    "Sockets that found no free slot in the kernel's table of connections: no record (counted in the other metrics).", t.kernelConnections.untracked),
            counter("synwave_resets_after_record_total",
                    "Resets on a socket after its assembled record went out: in the metrics, not in the record.", t.kernelConnections.afterRecord),
            labeledCounter("synwave_event_log_records_total",
                           "Connection records by what the event log did with them (event_log_records, event_log_sample).",
                           "decision", eventLog.labelled),
            written, errors, dropped, pending, rotations,
            gauge("synwave_tail_clients", "Tail clients connected now.", Double(tail.clients)),
            counter("synwave_tail_clients_served_total", "Tail clients accepted since start.", tail.clientsServed),
            labeledCounter("synwave_tail_clients_refused_total", "Tail clients refused with an ERROR line, by cause.", "cause",
                           [("bad_request", tail.clientsRefused), ("too_many_clients", tail.clientsOverCap)]),
            counter("synwave_tail_lines_skipped_total", "Lines not sent to tail clients that read too slowly.", tail.linesSkipped),
            gauge("synwave_uptime_seconds", "Seconds since the daemon started tracing.", uptimeSeconds),
        ]
    }

    private func counter<I: BinaryInteger>(_ name: String, _ help: String, _ value: I) -> MetricFamily {
        MetricFamily(name, .counter, help, [.init(.number(Double(value)))])
    }

    /// One counter per value of a single label.
    private func labeledCounter(_ name: String, _ help: String, _ label: String, _ values: [(String, UInt64)]) -> MetricFamily {
        var family = MetricFamily(name, .counter, help)
        for (value, count) in values { family.add(count, [(label, value)]) }
        return family
    }

    private func gauge(_ name: String, _ help: String, _ value: Double) -> MetricFamily {
        MetricFamily(name, .gauge, help, [.init(.number(value))])
    }
}
