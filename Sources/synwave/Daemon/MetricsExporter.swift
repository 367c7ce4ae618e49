import ServiceLifecycle
import SynwaveCore
import SynwaveKernel

/// Every interval, and once more at shutdown: the Prometheus text file (replaced atomically,
/// for node_exporter's textfile collector) and one JSON line with the same values appended to
/// the metrics log.
final class MetricsExporter: Service, @unchecked Sendable {
    struct Sources {
        var tracer: KernelTracer
        var features: [FeatureStatus]
        var reader: RingBufferReader
        var pipeline: DaemonPipeline
        var listeners: ListenerService
        var listenerSeriesLimit: Int
        var tail: TailServer
        var eventLog: LineLog
        var eventLogService: EventLogService
    }

    private let sources: Sources
    private let metricsLog: LineLog
    private let metricsFile: String
    private let intervalNs: UInt64
    private let startedNs = Clocks.bootNs()
    private var fileStats = OutputStats()
    private var fileFailure: String?
    private let bootToWallOffsetNs = Clocks.bootToWallOffsetNs()

    init(sources: Sources, metricsLog: LineLog, metricsFile: String, intervalNs: UInt64) {
        self.sources = sources
        self.metricsLog = metricsLog
        self.metricsFile = metricsFile
        self.intervalNs = intervalNs
    }

    /// Exports every interval; a shutdown ends the wait early and the last export is the final snapshot.
    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let pause = intervalNs
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(pause)) }
            export()
        }
    }

    private func export() {
        let families = snapshot().families()
        let text = Array(MetricText.prometheus(families).utf8)
        do {
            try AtomicFile.replace(metricsFile, with: text)
            fileStats.linesWritten += 1
            if fileFailure != nil {
                fileFailure = nil
                StandardError.line("synwave: \(metricsFile) is writable again")
            }
        } catch {
            fileStats.writeErrors += 1
            if fileFailure != error.description {
                fileFailure = error.description
                StandardError.line("synwave: cannot write \(metricsFile): \(error); retrying every interval")
            }
        }
        let bootNs = Clocks.bootNs()
        let unixMs = UInt64(max(0, Int64(bitPattern: bootNs) &+ bootToWallOffsetNs)) / 1_000_000
        let time = StateEventFormatter.isoTime(bootNs: bootNs, bootToWallOffsetNs: bootToWallOffsetNs)
        metricsLog.buffer += MetricText.jsonLine(families, unixMs: unixMs, time: time)
        metricsLog.endLine()
        metricsLog.flush(nowNs: Clocks.bootNs())
    }

    private func snapshot() -> DaemonMetrics {
        var metrics = DaemonMetrics()
        let pipeline = sources.pipeline.metrics
        let kernel = (try? sources.tracer.stats()) ?? TracerStats()
        metrics.connections = pipeline.metrics.adding(kernel.connections)
        metrics.trackedSockets = pipeline.tracked
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
        health.listenersUntracked = kernel.listenersUntracked
        health.kernelConnections = kernel.connections
        health.bpfStatsEnabled = KernelTracer.bpfStatsEnabled
        health.programs = (try? sources.tracer.programStats()) ?? []
        metrics.tracer = health
        metrics.outputs = [("events", sources.eventLog.stats), ("metrics_log", metricsLog.stats), ("metrics_file", fileStats)]
        metrics.tail = sources.tail.stats
        metrics.eventLog = sources.eventLogService.counts
        metrics.uptimeSeconds = Double(Clocks.bootNs() - startedNs) / 1e9
        metrics.features = sources.features
        return metrics
    }
}
