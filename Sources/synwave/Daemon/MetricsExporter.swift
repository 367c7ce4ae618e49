import ServiceLifecycle
import SynwaveCore
import SynwaveKernel

/// Every interval, and once more at shutdown: the Prometheus text file (replaced atomically,
/// for node_exporter's textfile collector) and one JSON line with the same values appended to
/// the metrics log.
final class MetricsExporter: Service, @unchecked Sendable {
    private let source: DaemonMetricsSource
    private let metricsLog: LineLog
    private let metricsFile: String
    private let intervalNs: UInt64
    private var fileFailure: String?
    private let bootToWallOffsetNs = Clocks.bootToWallOffsetNs()

    init(source: DaemonMetricsSource, metricsLog: LineLog, metricsFile: String, intervalNs: UInt64) {
        self.source = source
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
        let families = source.families()
        do {
            try AtomicFile.replace(metricsFile, with: source.mirror.render(families))
            source.fileWritten(true)
            if fileFailure != nil {
                fileFailure = nil
                StandardError.line("synwave: \(metricsFile) is writable again")
            }
        } catch {
            source.fileWritten(false)
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
}
