import ServiceLifecycle
import Synchronization
import SynwaveCore
import SynwaveKernel

/// Prints what passes the filter, a batch at a time: connection records as connections end
/// (the default), or every kernel event (`--events`).
final class TailPrinter: Service, @unchecked Sendable {
    enum Format { case text, json }
    enum View { case records, events }

    private let banner: String
    private let batches: AsyncStream<[KernelEvent]>
    private let filter: EventFilter
    private let format: Format
    private let view: View
    private var formatter: StateEventFormatter
    private let output = OutputWriter(fd: 1)
    private var clock = StateClock()
    private var correlator: Correlator
    private var records: [ConnectionRecord] = []
    private let shownCount = Atomic<UInt64>(0)
    private let metricsSnapshot = Mutex(CorrelatorMetrics())
    /// Listener events come from softirq context: their owner is found by socket inode.
    private let owners = OwnerResolver()

    init(banner: String, batches: AsyncStream<[KernelEvent]>, filter: EventFilter, format: Format, view: View,
         formatter: StateEventFormatter, correlator: CorrelatorOptions) {
        self.banner = banner
        self.batches = batches
        self.filter = filter
        self.format = format
        self.view = view
        self.formatter = formatter
        self.correlator = Correlator(options: correlator)
    }

    var shown: UInt64 { shownCount.load(ordering: .relaxed) }

    /// The correlator's counters as of the last batch.
    var metrics: CorrelatorMetrics { metricsSnapshot.withLock { $0 } }

    func run() async throws {
        // Printed from inside the group, whose SIGINT/SIGTERM handlers are in place by the time
        // services run: whoever waits for this line may signal at once.
        StandardError.line(banner)
        if format == .text {
            output.line(view == .records ? formatter.recordHeader : formatter.header)
            output.flush()
        }
        // Runs until the source has drained and finished the stream, so the tail is never cut.
        for await batch in batches {
            let count = view == .records ? printRecords(batch, final: false) : printEvents(batch)
            output.flush()
            shownCount.add(count, ordering: .relaxed)
            // stdout's reader is gone (`synwave tail | head`): returning shuts the group down.
            if output.closed { return }
        }
        if view == .records {
            shownCount.add(printRecords([], final: true), ordering: .relaxed)
            output.flush()
        }
        // The group shuts services down one at a time, source first: returning before our own
        // turn would count as an unexpected exit.
        try? await gracefulShutdown()
    }

    private func printRecords(_ batch: [KernelEvent], final: Bool) -> UInt64 {
        var count: UInt64 = 0
        for event in batch {
            // A listener's queue filling is news now, not part of any connection's record.
            if case .listener(let e) = event, filter.matches(event) {
                printListener(e)
                count += 1
            }
            correlator.process(event, into: &records)
        }
        if final {
            correlator.finishClosing(into: &records)
        } else {
            correlator.tick(nowNs: Clocks.bootNs(), into: &records)
        }
        for record in records where filter.matches(record) {
            count += 1
            switch format {
            case .text: formatter.text(record, into: &output.buffer)
            case .json: formatter.json(record, into: &output.buffer)
            }
            output.endLine()
        }
        records.removeAll(keepingCapacity: true)
        let metrics = correlator.metrics
        metricsSnapshot.withLock { $0 = metrics }
        return count
    }

    private func printEvents(_ batch: [KernelEvent]) -> UInt64 {
        var count: UInt64 = 0
        for event in batch {
            if case .state(let state) = event {
                // Every transition advances the clock, shown or not, so durations stay right.
                let inOldState = clock.record(state)
                guard filter.matches(state) else { continue }
                switch format {
                case .text: formatter.text(state, oldStateNs: inOldState, into: &output.buffer)
                case .json: formatter.json(state, oldStateNs: inOldState, into: &output.buffer)
                }
            } else if case .listener(let e) = event {
                guard filter.states.isEmpty, filter.matches(event) else { continue }
                printListener(e)
                count += 1
                continue
            } else {
                guard filter.states.isEmpty, filter.matches(event) else { continue }
                switch format {
                case .text: formatter.text(event, into: &output.buffer)
                case .json: formatter.json(event, into: &output.buffer)
                }
            }
            count += 1
            output.endLine()
        }
        return count
    }

    private func printListener(_ event: ListenerEvent) {
        var e = event
        e.owner = owners.owner(of: e.inode)
        switch format {
        case .text: formatter.text(.listener(e), into: &output.buffer)
        case .json: formatter.json(.listener(e), into: &output.buffer)
        }
        output.endLine()
    }
}
