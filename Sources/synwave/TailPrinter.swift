import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// The standalone `synwave tail`: correlates its own tracer's events and prints what passes the
/// filter, a batch at a time.
final class TailPrinter: Service, @unchecked Sendable {
    private let banner: String
    private let batches: AsyncStream<[KernelEvent]>
    private let renderer: TailRenderer
    private let view: TailRequest.View
    private let output = OutputWriter(fd: 1)
    /// Names cgroups as their announcements pass, while they surely exist (records may end later).
    private let cgroups = CgroupResolver.discover()
    private var correlator: Correlator
    private var records: [ConnectionRecord] = []
    private let shownCount = Atomic<UInt64>(0)
    private let metricsSnapshot = Mutex((metrics: CorrelatorMetrics(), stillOpen: 0))

    init(banner: String, batches: AsyncStream<[KernelEvent]>, request: TailRequest, correlator: CorrelatorOptions) {
        self.banner = banner
        self.batches = batches
        self.view = request.view
        self.renderer = TailRenderer(request, bootToWallOffsetNs: Clocks.bootToWallOffsetNs(), owners: OwnerResolver(),
                                     cgroups: cgroups)
        self.correlator = Correlator(options: correlator)
    }

    var shown: UInt64 { shownCount.load(ordering: .relaxed) }

    /// The correlator's counters as of the last batch.
    var metrics: CorrelatorMetrics { metricsSnapshot.withLock { $0.metrics } }
    /// Connections tracked and not ended when the tail stopped: they have no record.
    var stillOpen: Int { metricsSnapshot.withLock { $0.stillOpen } }

    func run() async throws {
        // Printed from inside the group, whose SIGINT/SIGTERM handlers are in place by the time
        // services run: whoever waits for this line may signal at once.
        StandardError.line(banner)
        if let header = renderer.header {
            output.line(header)
            output.flush()
        }
        if view == .records { adoptExistingConnections() }
        // Runs until the source has drained and finished the stream, so the tail is never cut.
        for await batch in batches {
            print(batch, final: false)
            // stdout's reader is gone (`synwave tail | head`): returning shuts the group down.
            if output.closed { return }
        }
        print([], final: true)
        // The group shuts services down one at a time, source first: returning before our own
        // turn would count as an unexpected exit.
        try? await gracefulShutdown()
    }

    /// Idle sockets looked up in the kernel's table, after the daemon's default `close_check_after`.
    private var idleCheck = IdleSocketCheck()

    /// Connections open before the programs were attached end with records too (first seen mid-life).
    private func adoptExistingConnections() {
        let snapshot = ExistingConnections.snapshot()
        let adopted = correlator.adopt(snapshot.connections, nowNs: Clocks.bootNs())
        var line = "synwave: \(adopted) connections already open, tracked from now"
        if !snapshot.failures.isEmpty {
            line += " (\(snapshot.failures.count) namespaces unreadable: \(snapshot.failures.prefix(3).joined(separator: "; ")))"
        }
        StandardError.line(line)
    }

    private func print(_ batch: [KernelEvent], final: Bool) {
        if let cgroups { for case .cgroup(let e) in batch { cgroups.learn(e.cgroupID) } }
        if view == .records {
            for event in batch { correlator.process(event, into: &records) }
            let now = Clocks.bootNs()
            if final {
                correlator.finishClosing(into: &records)
                // "Still open" counts only sockets the kernel still has.
                _ = correlator.endSocketsGoneFromKernel(idleNs: 0, nowNs: now, into: &records)
            } else {
                correlator.tick(nowNs: now, into: &records)
                _ = idleCheck.runIfDue(&correlator, nowNs: now, into: &records)
            }
            let snapshot = (metrics: correlator.metrics, stillOpen: correlator.tracked)
            metricsSnapshot.withLock { $0 = snapshot }
        }
        shownCount.add(renderer.render(events: batch, records: records, into: &output.buffer), ordering: .relaxed)
        records.removeAll(keepingCapacity: true)
        output.flush()
    }
}
