import Logging
import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// One batch as the daemon's outputs see it: the kernel events and the records they completed,
/// and the listener events among them (the event log writes those, and should not scan for them).
struct DaemonBatch: Sendable {
    var events: [KernelEvent]
    var records: [ConnectionRecord]
    var listenerEvents: [ListenerEvent] = []
}

/// Whether the tail server has anyone to serve, set by the server and read by the pipeline:
/// without clients it only needs a tick now and then to accept one, not every batch.
final class TailDemand: Sendable {
    private let connected = Atomic<Bool>(false)

    var hasClients: Bool { connected.load(ordering: .relaxed) }

    func set(hasClients: Bool) { connected.store(hasClients, ordering: .relaxed) }
}

/// The correlator service: kernel event batches in, records out to the event log and the tail
/// server (each through its own stream, so a slow one never holds up the other). The tail
/// server gets every batch only while it has clients; otherwise an empty one every 100 ms,
/// so it still accepts them.
final class DaemonPipeline: Service, @unchecked Sendable {
    private let batches: AsyncStream<[KernelEvent]>
    private var correlator: Correlator
    /// Events from other namespaces are dropped before correlation (config `only_netns`). A
    /// handful of inodes: a linear search per event costs less than hashing.
    private let onlyNetns: [UInt32]
    /// Listener events come from softirq context: their owner is found by socket inode, once here for every output.
    private let owners = OwnerResolver()
    /// Records name their workload once here, for every output; the outputs name listener events'.
    let cgroups = CgroupResolver.discover()
    private let eventLogOutput: AsyncStream<DaemonBatch>.Continuation
    private let tailOutput: AsyncStream<DaemonBatch>.Continuation
    let eventLogBatches: AsyncStream<DaemonBatch>
    let tailBatches: AsyncStream<DaemonBatch>
    let tailDemand = TailDemand()
    private static let idleTailTickNs: UInt64 = 100_000_000
    private var lastTailYieldNs: UInt64 = 0
    private let logger: Logger
    private let snapshot = Mutex((metrics: CorrelatorMetrics(), tracked: 0, droppedEvents: UInt64(0)))
    /// Counted by the pipeline, which names the records; shared with the metrics under their own lock.
    private let workloadCounts: Mutex<WorkloadMetrics>
    /// Idle sockets are looked up in the kernel's table (`Correlator.socketsToConfirm`).
    private var idleCheck: IdleSocketCheck
    private let unverified = Atomic<Int>(0)

    init(batches: AsyncStream<[KernelEvent]>, correlator: CorrelatorOptions, onlyNetns: Set<UInt32>,
         closeCheckAfterNs: UInt64, workloadSeriesLimit: Int, logger: Logger) {
        workloadCounts = Mutex(WorkloadMetrics(limit: workloadSeriesLimit))
        self.batches = batches
        self.logger = logger
        idleCheck = IdleSocketCheck(afterNs: closeCheckAfterNs)
        self.correlator = Correlator(options: correlator)
        self.onlyNetns = Array(onlyNetns)
        let log = AsyncStream.makeStream(of: DaemonBatch.self, bufferingPolicy: .bufferingOldest(4096))
        let tail = AsyncStream.makeStream(of: DaemonBatch.self, bufferingPolicy: .bufferingOldest(4096))
        eventLogBatches = log.stream
        tailBatches = tail.stream
        eventLogOutput = log.continuation
        tailOutput = tail.continuation
    }

    var metrics: (metrics: CorrelatorMetrics, tracked: Int, droppedEvents: UInt64) { snapshot.withLock { $0 } }

    var workloadMetrics: WorkloadMetrics { workloadCounts.withLock { $0 } }

    /// Of the sockets still tracked at stop, those the kernel's table could not be asked about.
    var unverifiedAtStop: Int { unverified.load(ordering: .relaxed) }

    func run() async throws {
        var records: [ConnectionRecord] = []
        // Connections open before the programs were attached end with records too (first seen mid-life).
        let existing = ExistingConnections.snapshot()
        let adopted = correlator.adopt(existing.connections.filter {
            wanted(netns: $0.netns)
        }, nowNs: Clocks.bootNs())
        logger.info("connections already open, tracked from now", metadata: ["connections.adopted": "\(adopted)"])
        for failure in existing.failures {
            logger.warning("namespace not read for open connections", metadata: ["netns.error": "\(failure)"])
        }
        for await batch in batches {
            // A fresh array: the last one went to the outputs, and clearing it would copy it.
            records = []
            // Named while they surely exist: records may end after their cgroup is removed.
            if let cgroups { for case .cgroup(let e) in batch { cgroups.learn(e.cgroupID) } }
            var prepared = prepare(batch)
            // At most about one record per event: grown by appends, the array was copied repeatedly.
            records.reserveCapacity(prepared.events.count)
            for event in prepared.events { correlator.process(event, into: &records) }
            let now = Clocks.bootNs()
            correlator.tick(nowNs: now, into: &records)
            if let answer = idleCheck.runIfDue(&correlator, nowNs: now, into: &records) { logFailures(answer) }
            nameWorkloads(&records)
            prepared.records = records
            publish(prepared, nowNs: now)
        }
        records.removeAll(keepingCapacity: true)
        correlator.finishClosing(into: &records)
        // "Still open" at stop counts only sockets the kernel still has.
        let answer = correlator.endSocketsGoneFromKernel(idleNs: 0, nowNs: Clocks.bootNs(), into: &records)
        logFailures(answer)
        unverified.store(answer.unverified, ordering: .relaxed)
        nameWorkloads(&records)
        publish(DaemonBatch(events: [], records: records), nowNs: Clocks.bootNs())
        eventLogOutput.finish()
        tailOutput.finish()
        // The group shuts services down one at a time, source first: returning before our own
        // turn would count as an unexpected exit.
        try? await gracefulShutdown()
    }

    /// Namespaces whose sockets could not be looked up.
    private func logFailures(_ answer: SocketPresence.Answer) {
        for failure in answer.failures {
            logger.warning("namespace not read for idle sockets", metadata: ["netns.error": "\(failure)"])
        }
    }

    /// The batch itself unless it must change: copying thousands of events costs more than checking them.
    private func prepare(_ batch: [KernelEvent]) -> DaemonBatch {
        var events = batch
        if !onlyNetns.isEmpty, !batch.allSatisfy({ wanted(netns: $0.netns) }) {
            events = batch.filter { wanted(netns: $0.netns) }
        }
        guard events.contains(where: { if case .listener = $0 { true } else { false } }) else {
            return DaemonBatch(events: events, records: [])
        }
        var listenerEvents: [ListenerEvent] = []
        for index in events.indices {
            if case .listener(var e) = events[index] {
                e.owner = owners.owner(of: e.inode)
                events[index] = .listener(e)
                listenerEvents.append(e)
            }
        }
        return DaemonBatch(events: events, records: [], listenerEvents: listenerEvents)
    }

    /// Names each record's workload and counts it there.
    private func nameWorkloads(_ records: inout [ConnectionRecord]) {
        guard !records.isEmpty else { return }
        if let cgroups {
            for index in records.indices where records[index].cgroupID != 0 {
                records[index].workload = cgroups.workload(of: records[index].cgroupID)
            }
        }
        workloadCounts.withLock { counts in
            for record in records { counts.count(record) }
        }
    }

    private func wanted(netns: UInt32) -> Bool {
        onlyNetns.isEmpty || onlyNetns.contains(netns)
    }

    private func publish(_ batch: DaemonBatch, nowNs: UInt64) {
        var dropped: UInt64 = 0
        if case .dropped = eventLogOutput.yield(batch) { dropped += UInt64(batch.events.count) }
        if tailDemand.hasClients {
            if case .dropped = tailOutput.yield(batch) { dropped += UInt64(batch.events.count) }
            lastTailYieldNs = nowNs
        } else if nowNs &- lastTailYieldNs >= Self.idleTailTickNs {
            tailOutput.yield(DaemonBatch(events: [], records: []))
            lastTailYieldNs = nowNs
        }
        let metrics = correlator.metrics
        let tracked = correlator.tracked
        snapshot.withLock {
            $0.metrics = metrics
            $0.tracked = tracked
            $0.droppedEvents += dropped
        }
    }
}
