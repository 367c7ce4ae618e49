import CLibbpf
import CSynwaveABI
import CSynwaveBPFObject
import Logging
import SynwaveCore

/// How the state-change program is attached.
public enum AttachMode: String, Sendable, CaseIterable {
    /// Typed BTF tracepoint: socket cookies, cheapest.
    case btf
    /// Classic tracepoint: the socket address as identity; for kernels where tp_btf is refused.
    case tracepoint
    /// tp_btf, falling back to the classic tracepoint.
    case auto
}

/// Which programs to load.
public enum ProgramSet: Sendable {
    /// Everything: state changes, connection events, listener queues.
    case all
    /// Only what keeps the per-listener statistics (`synwave listeners`).
    case listeners
}

public struct TracerOptions: Sendable {
    public var attach: AttachMode = .auto
    public var programs: ProgramSet = .all
    /// Whether listeners are polled (the daemon, `synwave listeners --watch`): only then is
    /// the listener-marking program worth its run at every state change.
    public var pollsListeners = false
    /// All rings together (one per CPU, each a power of two: see `bytesPerRing`).
    public var ringBufferBytes: UInt32 = 16 << 20
    /// At most one accept-overflow event per listener in this time (the count is kept in full in the kernel).
    public var listenerReportIntervalNs: UInt64 = 1_000_000_000
    /// Assemble each connection in the kernel and send it once (where every socket feature
    /// is on tp_btf and the kernel allows it); false: every event goes out, user space assembles.
    public var assembleConnections = true
    /// Namespaces whose connections the kernel's per-event counters count (the daemon's
    /// only_netns, so that its metrics agree with its records); empty: every namespace.
    public var countedNetns: Set<UInt32> = []

    public init(attach: AttachMode = .auto, ringBufferBytes: UInt32 = 16 << 20) {
        self.attach = attach
        self.ringBufferBytes = ringBufferBytes
    }

    /// Each CPU's ring: the total split over the CPUs.
    var bytesPerRing: UInt32 { ByteSize.perCPURing(total: ringBufferBytes, cpus: KernelTracer.possibleCPUs) }

    /// Past this much unread data in its ring the BPF side wakes the reader instead of waiting for its timer.
    var wakeupBytes: UInt64 { UInt64(bytesPerRing) / 8 }
}

/// What the BPF side counted, and what the kernel says of the programs.
public struct TracerStats: Sendable, Equatable {
    /// Records lost because the ring buffer was full.
    public var ringBufferFull: UInt64 = 0
    /// Runs of the main programs skipped by the kernel's recursion guard.
    public var recursionMisses: UInt64 = 0
    /// Of those, events the rescue program emitted instead.
    public var recursionRecovered: UInt64 = 0
    /// Records the programs submitted; once the ring is drained, all of them must have been read.
    public var submitted: UInt64 = 0
    /// Listeners whose statistics the "listeners" map could not hold.
    public var listenersUntracked: UInt64 = 0
    /// With connections assembled in the kernel: what the programs counted per event.
    public var connections = KernelConnectionCounts()
    /// Only counted while kernel.bpf_stats_enabled=1.
    public var runTimeNs: UInt64 = 0
    public var runCount: UInt64 = 0

    /// Firings of the watched tracepoints (state changes, socket destruction) for which the
    /// kernel neither ran the program nor counted a recursion miss (`TracepointHits`).
    public var notRun: UInt64 = 0
    /// Of those, how many can be firings while PID 1 was on the CPU: kernels that keep BPF out of
    /// init's context (some sandbox VMs) skip them, and no program type can see them.
    public var notRunWhileInitRan: UInt64 = 0
    /// Why firings cannot be checked, when they cannot (no tracefs, perf_event_open refused).
    public var notRunUnchecked: String?

    /// Skipped runs that nothing recovered.
    public var recursionLost: UInt64 { recursionMisses > recursionRecovered ? recursionMisses - recursionRecovered : 0 }

    public var lost: UInt64 { ringBufferFull + recursionLost + notRun }

    /// For the stop summaries of tail and daemon: "N lost in the kernel (… by cause)".
    public var lossSummary: String {
        let notRunText = notRunUnchecked.map { "unknown (\($0))" } ?? "\(notRun)"
        let initText = notRunWhileInitRan > 0 ? ", \(notRunWhileInitRan) of them while PID 1 was on the CPU" : ""
        return "\(lost) lost in the kernel (\(ringBufferFull) ring buffer full, "
            + "\(recursionLost) skipped by the recursion guard, \(recursionRecovered) of its skips recovered, "
            + "\(notRunText) not run by the kernel\(initText))"
    }

    public init(ringBufferFull: UInt64 = 0, recursionMisses: UInt64 = 0, recursionRecovered: UInt64 = 0,
                runTimeNs: UInt64 = 0, runCount: UInt64 = 0) {
        self.ringBufferFull = ringBufferFull
        self.recursionMisses = recursionMisses
        self.recursionRecovered = recursionRecovered
        self.runTimeNs = runTimeNs
        self.runCount = runCount
    }
}

/// The loaded and attached synwave BPF programs and their ring buffer.
/// Detaches and unloads everything when released.
public final class KernelTracer: @unchecked Sendable {
    /// Programs whose runs skipped by the recursion guard lose no event: the rescue programs only
    /// re-emit what another one's guard skipped, and the listener-marking program emits nothing
    /// and acts only on CLOSE -> LISTEN, which fires in listen()'s own syscall, never nested in
    /// an interrupt over another run (tracepoint probes run with preemption off).
    static let programsLosingNothingWhenSkipped: Set<String> = ["sw_state_rescue", "sw_destroy_rescue", "sw_listener_mark"]

    /// Every feature of the requested set: how it is attached, or why it is off.
    public let features: [FeatureStatus]
    public let options: TracerOptions
    private let object: BPFObject
    private let rings: PerCPURings
    private var links: [BPFLink]
    private let loadedPrograms: [BPFProgram]
    private let firings: FiringCheck
    /// Connections come assembled (SYNWAVE_EVENT_CONNECTION); per-event records only on demand.
    public let assemblesConnections: Bool
    /// The running records of assembled connections, swept for sockets that ended unseen (nil
    /// without assembly, or where the map could not be mapped).
    public let connectionTable: ConnectionTable?

    private init(features: [FeatureStatus], options: TracerOptions, object: BPFObject, rings: PerCPURings,
                 links: [BPFLink], programs: [BPFProgram], assembles: Bool) {
        self.features = features
        assemblesConnections = assembles
        connectionTable = assembles ? (try? object.map(named: "connections")).flatMap {
            try? ConnectionTable(mapFD: $0.fd, slots: Int(SYNWAVE_CONNECTION_SLOTS))
        } : nil
        self.options = options
        self.object = object
        self.rings = rings
        self.links = links
        self.loadedPrograms = programs
        firings = FiringCheck(Self.watchedTracepoints.filter { watched in
            programs.contains { $0.name == watched.program }
        })
        firings.start(handled: handledCounts())
    }

    /// One ring per possible CPU. Should the count be unreadable, one ring: a CPU without its
    /// ring then fails its reservations, which are counted as lost.
    static let possibleCPUs = (try? BPFMap.possibleCPUs()) ?? 1

    /// Tracepoints whose every firing must reach its program: the program, and its run counter.
    static let watchedTracepoints: [FiringCheck.Watched] = [
        .init(category: "sock", name: "inet_sock_set_state", program: "sw_state_btf",
              runsCounter: Int(SYNWAVE_COUNTER_STATE_RUNS.rawValue)),
        .init(category: "tcp", name: "tcp_destroy_sock", program: "sw_destroy_sock",
              runsCounter: Int(SYNWAVE_COUNTER_DESTROY_RUNS.rawValue)),
    ]

    /// Per watched tracepoint, the firings its program handled: runs plus recursion misses.
    private func handledCounts() -> [UInt64] {
        guard let counters = try? object.map(named: "counters").sumPerCPU(keys: Int(SYNWAVE_COUNTER_MAX.rawValue)) else {
            return []
        }
        return firings.watched.map { watched in
            let misses = loadedPrograms.first { $0.name == watched.program }.flatMap { try? $0.info().recursion_misses } ?? 0
            return counters[watched.runsCounter] + misses
        }
    }

    public func isEnabled(_ feature: Feature) -> Bool {
        features.contains { $0.name == feature.rawValue && $0.enabled }
    }

    /// How state changes are attached (never `.auto`).
    public var mode: AttachMode {
        features.first { $0.name == Feature.stateChanges.rawValue }?.attachment == .tracepoint ? .tracepoint : .btf
    }

    /// Whether any program keeps per-listener peaks and drops (else only the polls see listeners).
    public var hasListenerPrograms: Bool {
        FeaturePrograms.listenerFeatures.contains(where: isEnabled)
    }

    /// Checks the host, then loads and attaches every feature in the first mode that works for it
    /// (`LoadPlan`). Fails only when state changes (or, for `synwave listeners`, every listener
    /// feature) cannot be traced at all.
    public static func start(_ options: TracerOptions, logger: Logger) throws(TracerSetupError) -> KernelTracer {
        try Preflight.checkKernel()
        try Preflight.checkPrivileges()
        var tracefsError: TracerSetupError?
        do { try Preflight.ensureTracefs() } catch { tracefsError = error }
        if tracefsError == nil, options.programs == .all,
           !Preflight.tracepointExists(category: "sock", name: "inet_sock_set_state") {
            throw .tracepointMissing("sock:inet_sock_set_state")
        }
        let tracer = try loadPlanned(Planner(options: options, tracefsError: tracefsError))
        for status in tracer.features where !status.enabled {
            logger.info("feature off", metadata: ["feature.name": "\(status.name)", "feature.reason": "\(status.detail)"])
        }
        return tracer
    }

    /// Each feature in its first possible mode, in one load: all a kernel where everything works
    /// costs. Only when that fails does each feature get trial loads of its own.
    private static func loadPlanned(_ planner: Planner) throws(TracerSetupError) -> KernelTracer {
        let options = planner.options
        let first = planner.firstChoice()
        if options.programs == .listeners || first.modes[.stateChanges] != nil {
            do {
                return try load(first, options)
            } catch {
                // A ring buffer the kernel refuses fails whatever the plan.
                let failure = classify(error, options)
                if case .ringBufferRejected = failure { throw failure }
            }
        }
        let plan = try planner.perFeature()
        do {
            return try load(plan, options)
        } catch {
            throw classify(error, options)
        }
    }

    /// The chosen mode of each wanted feature, with the reasons of those left off.
    struct Plan {
        var modes: [Feature: FeatureAttachment]
        var statuses: [FeatureStatus]
        var cookieIdentity: Bool
        /// `cfg.assemble_connections`: the connection_records feature.
        var assembles = false
    }

    /// Chooses each wanted feature's mode.
    private struct Planner {
        let options: TracerOptions
        let tracefsError: TracerSetupError?
        var wanted: [FeaturePrograms] {
            FeaturePrograms.wanted(options.programs).filter { !FeaturePrograms.pollingFeatures.contains($0.feature) || options.pollsListeners }
        }
        var candidates: [FeatureAttachment] { options.attach.candidates }

        /// Why a mode cannot even be tried, before any load.
        func unavailable(_ entry: FeaturePrograms, _ mode: FeatureAttachment) -> String? {
            if mode == .tracepoint {
                if entry.classic == nil { return entry.noClassicReason }
                if let tracefsError { return "\(tracefsError)" }
            }
            if tracefsError == nil, !Preflight.tracepointExists(category: entry.tracepoint.category, name: entry.tracepoint.name) {
                return "this kernel has no tracepoint \(entry.tracepoint.text)"
            }
            return nil
        }

        /// Each feature in the first mode not ruled out before loading.
        func firstChoice() -> Plan {
            var modes: [Feature: FeatureAttachment] = [:]
            let statuses = wanted.map { entry in
                guard let mode = candidates.first(where: { unavailable(entry, $0) == nil }) else {
                    let reasons = candidates.compactMap { m in unavailable(entry, m).map { "\(m.rawValue): \($0)" } }
                    return FeatureStatus(name: entry.feature.rawValue, attachment: .off, detail: reasons.joined(separator: "; "))
                }
                modes[entry.feature] = mode
                return FeatureStatus(name: entry.feature.rawValue, attachment: mode)
            }
            return assembling(Plan(modes: modes, statuses: statuses, cookieIdentity: modes[.stateChanges] == .btf),
                              tried: nil)
        }

        /// Features whose events a connection's record is made of: all on tp_btf, or none assembled.
        static let connectionFeatures: [Feature] = [.stateChanges, .retransmits, .resetsSent, .resetsReceived,
                                                    .socketErrors, .socketEnd]

        /// Whether the plan can assemble connections in the kernel, as a connection_records row.
        /// `tried`: nil before any load, else the reason the trial load with assembly failed.
        func assembling(_ plan: Plan, tried failure: String??) -> Plan {
            guard options.programs == .all else { return plan }
            var plan = plan
            let classic = Self.connectionFeatures.filter { plan.modes[$0] == .tracepoint }
            let status: FeatureStatus
            if !options.assembleConnections {
                status = FeatureStatus(name: Feature.connectionRecords.rawValue, attachment: .off,
                                       detail: "per-event records asked for (--assemble user): user space assembles connections")
            } else if plan.modes[.stateChanges] != .btf || plan.modes[.socketEnd] != .btf || !classic.isEmpty {
                let names = (classic.isEmpty ? [Feature.stateChanges, .socketEnd].filter { plan.modes[$0] != .btf } : classic)
                status = FeatureStatus(name: Feature.connectionRecords.rawValue, attachment: .off,
                                       detail: "\(names.map(\.rawValue).joined(separator: ", ")) not on tp_btf: classic "
                                           + "tracepoints cannot assemble connections; every event goes out, user space assembles")
            } else if case .some(.some(let reason)) = failure {
                status = FeatureStatus(name: Feature.connectionRecords.rawValue, attachment: .off,
                                       detail: "tp_btf: \(reason); every event goes out, user space assembles")
            } else {
                plan.assembles = true
                status = FeatureStatus(name: Feature.connectionRecords.rawValue, attachment: .btf)
            }
            plan.statuses.append(status)
            return plan
        }

        /// Each feature in the first mode whose programs load on their own (a trial load each).
        func perFeature() throws(TracerSetupError) -> Plan {
            var modes: [Feature: FeatureAttachment] = [:]
            var statuses: [FeatureStatus] = []
            var cookieIdentity = false
            for entry in wanted {
                let attempts: [LoadPlan.Attempt] = candidates.map { mode in
                    if let reason = unavailable(entry, mode) { return (mode, reason) }
                    do throws(BPFError) {
                        try trialLoad([entry.feature: mode], cookieIdentity: cookieIdentity, assembles: false, options)
                        return (mode, nil)
                    } catch {
                        return (mode, error.loadFailureReason(iteratorTargets: entry.iteratorTargets))
                    }
                }
                let (mode, detail) = LoadPlan.choose(attempts)
                if entry.feature == .stateChanges { cookieIdentity = mode == .btf }
                if mode != .off { modes[entry.feature] = mode }
                statuses.append(FeatureStatus(name: entry.feature.rawValue, attachment: mode, detail: detail))
            }
            // `synwave listeners` still polls without any program; tracing needs state changes.
            if options.programs == .all, modes[.stateChanges] == nil { throw .stateTracingUnavailable(statuses) }
            let plan = Plan(modes: modes, statuses: statuses, cookieIdentity: cookieIdentity)
            let candidate = assembling(plan, tried: nil)
            guard candidate.assembles else { return candidate }
            do throws(BPFError) {
                try trialLoad(modes, cookieIdentity: cookieIdentity, assembles: true, options)
                return candidate
            } catch {
                return assembling(plan, tried: .some(error.loadFailureReason))
            }
        }
    }

    /// Loads (without attaching) the programs of `modes` in a throwaway object with a one-page ring.
    private static func trialLoad(_ modes: [Feature: FeatureAttachment], cookieIdentity: Bool, assembles: Bool,
                                  _ options: TracerOptions) throws(BPFError) {
        var trial = options
        trial.ringBufferBytes = 4096
        _ = try openAndLoad(programs(modes), cookieIdentity: cookieIdentity, assembles: assembles, trial)
    }

    /// Program names in attach order (catalog order, each feature's own order within).
    private static func programs(_ modes: [Feature: FeatureAttachment]) -> [String] {
        FeaturePrograms.catalog.flatMap { entry in modes[entry.feature].map { entry.programs($0) } ?? [] }
    }

    private static func openAndLoad(_ wanted: [String], cookieIdentity: Bool, assembles: Bool,
                                    _ options: TracerOptions) throws(BPFError) -> (BPFObject, PerCPURings) {
        let object = try BPFObject(
            bytes: UnsafeRawBufferPointer(start: synwave_bpf_object_ptr(), count: Int(synwave_bpf_object_size)),
            name: "synwave")
        for program in object.programs {
            try program.setAutoload(wanted.contains(program.name))
        }
        let rings = try PerCPURings(cpus: possibleCPUs, bytesPerRing: options.bytesPerRing)
        try rings.useAsTemplate(of: object.map(named: "rings"))
        // Its 13 MB only where connections are assembled.
        if !assembles { try object.map(named: "connections").setMaxEntries(1) }
        try object.map(named: ".rodata").setInitialValue(synwave_bpf_config(
            wakeup_bytes: options.wakeupBytes, listener_report_ns: options.listenerReportIntervalNs,
            cookie_identity: cookieIdentity ? 1 : 0, assemble_connections: assembles ? 1 : 0,
            count_listed_netns_only: options.countedNetns.isEmpty ? 0 : 1,
            cgroup_ids: CgroupResolver.mountedCgroup2() == nil ? 0 : 1))
        try object.load()
        for inode in options.countedNetns {
            try object.map(named: "counted_netns").update(key: inode, value: UInt8(1))
        }
        try rings.fill(object.map(named: "rings"))
        return (object, rings)
    }

    private static func classify(_ error: BPFError, _ options: TracerOptions) -> TracerSetupError {
        if error.operation.hasPrefix(PerCPURings.createOperation) {
            return .ringBufferRejected(rings: PerCPURings.summary(rings: possibleCPUs, bytesPerRing: options.bytesPerRing), error)
        }
        return .loadFailed(error)
    }

    private static func load(_ plan: Plan, _ options: TracerOptions) throws(BPFError) -> KernelTracer {
        let (object, rings) = try openAndLoad(programs(plan.modes), cookieIdentity: plan.cookieIdentity,
                                              assembles: plan.assembles, options)
        var statuses = plan.statuses
        var links: [BPFLink] = []
        var attached: [BPFProgram] = []
        // In catalog order: a tracepoint runs its programs in attach order, and a rescue
        // program must run after its main one (see state.bpf.c).
        for entry in FeaturePrograms.catalog {
            guard let mode = plan.modes[entry.feature] else { continue }
            do {
                var featureLinks: [BPFLink] = []
                var featurePrograms: [BPFProgram] = []
                for name in entry.attached(mode) {
                    let program = try object.program(named: name)
                    featureLinks.append(try program.attach())
                    featurePrograms.append(program)
                }
                links += featureLinks
                attached += featurePrograms
            } catch {
                if entry.feature == .stateChanges { throw error }
                if let index = statuses.firstIndex(where: { $0.name == entry.feature.rawValue }) {
                    statuses[index] = FeatureStatus(name: entry.feature.rawValue, attachment: .off,
                                                    detail: "\(mode.rawValue): attach failed: \(error.errno.description)")
                }
            }
        }
        return KernelTracer(features: statuses, options: options, object: object, rings: rings, links: links,
                            programs: attached, assembles: plan.assembles)
    }

    /// The per-CPU rings' file descriptors (valid while the tracer lives).
    var ringFDs: [Int32] { rings.fds }

    /// For banners: "2 × 8 MiB ring buffers, one per CPU".
    public var ringSummary: String { "\(rings.summary) ring buffers, one per CPU" }

    /// Stops all programs; maps stay readable so the ring can be drained afterwards.
    public func detach() {
        firings.freeze()
        links.removeAll()
    }

    /// The listener iterator, when its programs loaded (5.11+); nil otherwise: sock_diag then.
    /// The BPF listener polls this kernel allows: the map iterator where it loaded, else the
    /// per-namespace walk (`walkOnly` asks for the walk even where both loaded); nil for neither.
    public func listenerIterator(walkOnly: Bool = false) throws(BPFError) -> ListenerIterator? {
        if !walkOnly, isEnabled(.listenerIterator) {
            let markExisting = try object.program(named: "sw_listener_mark_existing").attachIterator()
            let marks = try object.map(named: "listener_marks")
            return ListenerIterator(.storageMap(
                markExisting: markExisting,
                dumpAll: try object.program(named: "sw_listener_dump").attachIterator(map: marks),
                dumpChanges: try object.program(named: "sw_listener_dump_changes").attachIterator(map: marks)))
        }
        guard isEnabled(.listenerWalk) else { return nil }
        return ListenerIterator(.tcpWalk(all: try object.program(named: "sw_listener_walk").attachIterator(),
                                         changes: try object.program(named: "sw_listener_walk_changes").attachIterator()))
    }

    /// What the programs kept per listener, by socket cookie (empty with no listener program attached).
    public func listenerStats() throws(BPFError) -> [UInt64: ListenerKernelStats] {
        guard hasListenerPrograms else { return [:] }
        let entries = try object.map(named: "listeners").lookupAll(UInt64.self, synwave_listener_stats.self,
                                                                    zero: synwave_listener_stats())
        var result: [UInt64: ListenerKernelStats] = [:]
        result.reserveCapacity(entries.count)
        for (cookie, raw) in entries { result[cookie] = ListenerKernelStats(raw) }
        return result
    }

    /// Sends every event as it happens too (`tail --events`), or stops. Without assembled
    /// connections every event goes out anyway, and this does nothing.
    public func sendEveryEvent(_ on: Bool) throws(BPFError) {
        guard assemblesConnections else { return }
        try object.map(named: "live").update(key: 0, value: synwave_live(per_event: on ? 1 : 0, _pad0: 0))
    }

    public func stats() throws(BPFError) -> TracerStats {
        let counters = try object.map(named: "counters").sumPerCPU(keys: Int(SYNWAVE_COUNTER_MAX.rawValue))
        var stats = TracerStats(ringBufferFull: counters[Int(SYNWAVE_COUNTER_RINGBUF_FULL.rawValue)],
                                recursionRecovered: counters[Int(SYNWAVE_COUNTER_RECURSION_RECOVERED.rawValue)])
        if assemblesConnections { stats.connections = KernelConnectionCounts(counters: counters) }
        stats.submitted = counters[Int(SYNWAVE_COUNTER_SUBMITTED.rawValue)]
        stats.listenersUntracked = counters[Int(SYNWAVE_COUNTER_LISTENER_UNTRACKED.rawValue)]
        for (index, program) in loadedPrograms.enumerated() {
            let info = try program.info()
            if !Self.programsLosingNothingWhenSkipped.contains(program.name) { stats.recursionMisses += info.recursion_misses }
            // Run time of the state programs (main and rescue) per state change, for the benchmark.
            if program.name.hasPrefix("sw_state_") { stats.runTimeNs += info.run_time_ns }
            if index == 0 { stats.runCount += info.run_cnt }
        }
        switch firings.unhandled(handled: handledCounts) {
        case .success(let unhandled):
            stats.notRun = unhandled.count
            stats.notRunWhileInitRan = unhandled.whileInitRan
        case .failure(let unknown): stats.notRunUnchecked = unknown.reason
        }
        return stats
    }

    /// Each attached program's run time, run count and recursion misses (`bpf_prog_info`).
    public func programStats() throws(BPFError) -> [ProgramStats] {
        var result: [ProgramStats] = []
        for program in loadedPrograms {
            let info = try program.info()
            result.append(ProgramStats(name: program.name, runTimeNs: info.run_time_ns, runCount: info.run_cnt,
                                       recursionMisses: info.recursion_misses))
        }
        return result
    }

    /// Whether the kernel measures BPF run time (`sysctl kernel.bpf_stats_enabled`).
    public static var bpfStatsEnabled: Bool {
        ((try? Preflight.readFile("/proc/sys/kernel/bpf_stats_enabled")) ?? "0").hasPrefix("1")
    }
}
