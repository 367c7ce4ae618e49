import Synchronization
import SynwaveCore
import SynwaveKernel
import SynwavePrometheus

/// Every number the daemon exports, read at once from any thread: the exporter's interval and
/// each HTTP scrape take their snapshot here. Each source keeps its counters behind its own lock
/// (or in kernel maps), so a snapshot never waits for tracing.
final class DaemonMetricsSource: @unchecked Sendable {
    struct Sources {
        var tracer: KernelTracer
        var features: [FeatureStatus]
        var reader: RingBufferReader
        var pipeline: DaemonPipeline
        var listeners: ListenerService
        var listenerSeriesLimit: Int
        var tail: TailServer
        var eventLog: LineLog
        var metricsLog: LineLog
        var eventLogService: EventLogService
    }

    private let sources: Sources
    /// The registry behind `synwave.prom` and `/metrics`: one, so both show the same series.
    let mirror = PrometheusMirror()
    private let fileStats = Mutex(OutputStats())
    private let startedNs = Clocks.bootNs()

    init(_ sources: Sources) {
        self.sources = sources
    }

    func fileWritten(_ succeeded: Bool) {
        fileStats.withLock { succeeded ? ($0.linesWritten += 1) : ($0.writeErrors += 1) }
    }

    /// One HTTP scrape: a fresh snapshot, rendered.
    func scrape() -> [UInt8] { mirror.render(families()) }

    func families() -> [MetricFamily] {
        var metrics = DaemonMetrics()
        let pipeline = sources.pipeline.metrics
        let kernel = (try? sources.tracer.stats()) ?? TracerStats()
        metrics.connections = pipeline.metrics.adding(kernel.connections)
        metrics.trackedSockets = pipeline.tracked
        metrics.workloads = sources.pipeline.workloadMetrics
        metrics.listeners = sources.listeners.report
        metrics.listenerSeriesLimit = sources.listenerSeriesLimit
        let reader = sources.reader.stats
        var health = TracerHealth()
        health.eventsReceived = reader.received
        health.lostRingBufferFull = kernel.ringBufferFull
        health.lostRecursion = kernel.recursionLost
        health.lostNotRun = kernel.notRun
        health.lostNotRunWhileInitRan = kernel.notRunWhileInitRan
        health.droppedInUserSpace = reader.droppedInUserSpace + pipeline.droppedEvents
        health.decodeErrors = reader.decodeErrors
        health.recoveredFromTable = reader.recoveredFromTable
        health.listenersUntracked = kernel.listenersUntracked
        health.kernelConnections = kernel.connections
        health.bpfStatsEnabled = KernelTracer.bpfStatsEnabled
        health.programs = (try? sources.tracer.programStats()) ?? []
        metrics.tracer = health
        metrics.outputs = [("events", sources.eventLog.stats), ("metrics_log", sources.metricsLog.stats),
                           ("metrics_file", fileStats.withLock { $0 })]
        metrics.tail = sources.tail.stats
        metrics.eventLog = sources.eventLogService.counts
        metrics.uptimeSeconds = Double(Clocks.bootNs() - startedNs) / 1e9
        metrics.features = sources.features
        return metrics.families()
    }
}
