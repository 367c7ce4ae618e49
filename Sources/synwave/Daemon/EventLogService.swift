import ServiceLifecycle
import SynwaveCore
import SynwaveKernel

/// Appends one JSON line per connection record and per listener event to the event log,
/// flushing after every batch (batches come at least every 100 ms).
final class EventLogService: Service, @unchecked Sendable {
    let log: LineLog
    private let batches: AsyncStream<DaemonBatch>
    private var formatter = StateEventFormatter(bootToWallOffsetNs: Clocks.bootToWallOffsetNs(), useUTC: true)

    init(log: LineLog, batches: AsyncStream<DaemonBatch>) {
        self.log = log
        self.batches = batches
    }

    func run() async throws {
        for await batch in batches {
            for event in batch.listenerEvents {
                formatter.json(.listener(event), into: &log.buffer)
                log.endLine()
            }
            for record in batch.records {
                formatter.json(record, into: &log.buffer)
                log.endLine()
            }
            log.flush(nowNs: Clocks.bootNs())
        }
        log.flush(nowNs: .max)
        try? await gracefulShutdown()
    }
}
