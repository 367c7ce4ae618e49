import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// Appends one JSON line per listener event and per connection record the policy keeps
/// (`EventLogPolicy`) to the event log, flushing after every batch (batches come at least every
/// 100 ms). What the policy did is counted for the metrics.
final class EventLogService: Service, @unchecked Sendable {
    let log: LineLog
    private let batches: AsyncStream<DaemonBatch>
    private var formatter = StateEventFormatter(bootToWallOffsetNs: Clocks.bootToWallOffsetNs(), useUTC: true)
    private var sampler: EventLogSampler
    private let countsSnapshot = Mutex(EventLogCounts())
    /// The pipeline's: listener events are named here (records come named).
    private let cgroups: CgroupResolver?

    init(log: LineLog, batches: AsyncStream<DaemonBatch>, policy: EventLogPolicy, cgroups: CgroupResolver?) {
        self.log = log
        self.cgroups = cgroups
        self.batches = batches
        sampler = EventLogSampler(policy: policy)
    }

    var counts: EventLogCounts { countsSnapshot.withLock { $0 } }

    func run() async throws {
        for await batch in batches {
            for event in batch.listenerEvents {
                formatter.json(.listener(event), workload: cgroups?.workload(of: event.cgroupID), into: &log.buffer)
                log.endLine()
            }
            for record in batch.records {
                switch sampler.decide(record) {
                case .skipped: continue
                case .sampled(let oneIn): formatter.json(record, sampledOneIn: oneIn, into: &log.buffer)
                case .otherEnd: formatter.json(record, keptAsOtherEnd: true, into: &log.buffer)
                case .all, .notable: formatter.json(record, into: &log.buffer)
                }
                log.endLine()
            }
            log.flush(nowNs: Clocks.bootNs())
            if !batch.records.isEmpty {
                let counts = sampler.counts
                countsSnapshot.withLock { $0 = counts }
            }
        }
        log.flush(nowNs: .max)
        try? await gracefulShutdown()
    }
}
