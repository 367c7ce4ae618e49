import ServiceLifecycle
import Synchronization
import SynwaveCore

/// Prints the state transitions that pass the filter, a batch at a time.
final class TailPrinter: Service, @unchecked Sendable {
    enum Format { case text, json }

    private let batches: AsyncStream<[KernelEvent]>
    private let filter: EventFilter
    private let format: Format
    private var formatter: StateEventFormatter
    private let output = OutputWriter(fd: 1)
    private var clock = StateClock()
    private let shownCount = Atomic<UInt64>(0)

    init(batches: AsyncStream<[KernelEvent]>, filter: EventFilter, format: Format, formatter: StateEventFormatter) {
        self.batches = batches
        self.filter = filter
        self.format = format
        self.formatter = formatter
    }

    var shown: UInt64 { shownCount.load(ordering: .relaxed) }

    func run() async throws {
        if format == .text {
            output.line(formatter.header)
            output.flush()
        }
        // Runs until the source has drained and finished the stream, so the tail is never cut.
        for await batch in batches {
            var count: UInt64 = 0
            for case .state(let event) in batch {
                // Every event advances the clock, shown or not, so durations stay right.
                let inOldState = clock.record(event)
                guard filter.matches(event) else { continue }
                count += 1
                switch format {
                case .text: formatter.text(event, oldStateNs: inOldState, into: &output.buffer)
                case .json: formatter.json(event, oldStateNs: inOldState, into: &output.buffer)
                }
                output.endLine()
            }
            output.flush()
            shownCount.add(count, ordering: .relaxed)
            // stdout's reader is gone (`synwave tail | head`): returning shuts the group down.
            if output.closed { return }
        }
        // The group shuts services down one at a time, source first: returning before our own
        // turn would count as an unexpected exit.
        try? await gracefulShutdown()
    }
}
