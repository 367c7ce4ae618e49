import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// Polls every listener's queues each interval and keeps the latest report for the metrics.
final class ListenerService: Service, @unchecked Sendable {
    private let poller: ListenerPoller
    private let tracer: KernelTracer
    private let intervalNs: UInt64
    private let owners = OwnerResolver()
    private var table = ListenerTable()
    private let latest = Mutex(ListenerReport(rows: [], namespaces: []))

    init(poller: ListenerPoller, tracer: KernelTracer, intervalNs: UInt64) {
        self.poller = poller
        self.tracer = tracer
        self.intervalNs = intervalNs
    }

    var report: ListenerReport { latest.withLock { $0 } }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let report = Listeners.refresh(poller, tracer: tracer, owners: owners, table: &table)
            latest.withLock { $0 = report }
            let pause = intervalNs
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(pause)) }
        }
    }
}
