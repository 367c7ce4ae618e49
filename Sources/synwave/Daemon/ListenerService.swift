import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// Polls every listener's queues each interval and keeps the table for the metrics.
final class ListenerService: Service, @unchecked Sendable {
    private let poller: ListenerPoller
    private let tracer: KernelTracer
    private let intervalNs: UInt64
    private let owners = OwnerResolver()
    /// The pipeline's: one cache of cgroup paths for the whole daemon.
    private let cgroups: CgroupResolver?
    /// Locked while a poll updates it: the metrics exporter reads the report in between.
    private let table = Mutex(ListenerTable())

    init(poller: ListenerPoller, tracer: KernelTracer, cgroups: CgroupResolver?, intervalNs: UInt64) {
        self.poller = poller
        self.cgroups = cgroups
        self.tracer = tracer
        self.intervalNs = intervalNs
    }

    var report: ListenerReport { table.withLock { $0.report } }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            table.withLock { _ = Listeners.refresh(poller, tracer: tracer, owners: owners, cgroups: cgroups, table: &$0) }
            let pause = intervalNs
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(pause)) }
        }
    }
}
