import Foundation
import Synchronization
import SynwaveCore

/// Counters kept by the reader thread, readable from anywhere.
public struct ReaderStats: Sendable, Equatable {
    public var received: UInt64 = 0
    /// Of those, state changes (the benchmark compares them with the transitions it caused).
    public var stateChanges: UInt64 = 0
    public var decodeErrors: UInt64 = 0
    /// Decoded events dropped because the consumer fell too far behind.
    public var droppedInUserSpace: UInt64 = 0
    /// Connection records taken from the kernel's table: their sockets ended while the kernel
    /// ran no program (`ConnectionTable`).
    public var recoveredFromTable: UInt64 = 0
}

/// Drains the per-CPU ring buffers on its own thread (never on the cooperative pool), decodes
/// records in batches, puts them back in time order (`TimeOrder`) and hands each batch to Swift
/// concurrency with a single yield.
///
/// The BPF side submits without waking us, so the thread polls on a short timer; a burst past the
/// wakeup threshold wakes it early. When idle it still yields an empty batch about every 100 ms,
/// so consumers that wait on time (a record's grace period) make progress. On stop it detaches the programs first and then drains what is
/// left, so no event submitted before the stop is lost.
public final class RingBufferReader: @unchecked Sendable {
    public let batches: AsyncStream<[KernelEvent]>
    private let continuation: AsyncStream<[KernelEvent]>.Continuation
    private let tracer: KernelTracer
    private let pollIntervalMs: Int32
    private let maxBatch: Int
    /// How long before a drain's start an event must be stamped to be released by that drain
    /// (`TimeOrder`): longer than a record can stay reserved but uncommitted, i.e. a program
    /// run with the softirqs that can interrupt it (net_rx_action stops itself after 2 ms).
    /// Nil with a single ring: read in reservation order, it needs no merge and holds nothing.
    private let holdNs: UInt64?
    private let stopRequested = Atomic<Bool>(false)
    private let counters = Mutex(ReaderStats())
    private let completion = Mutex<(done: Bool, failure: BPFError?, waiters: [CheckedContinuation<Void, Never>])>(
        (false, nil, []))

    // Touched by the reader thread only.
    /// Decoded, waiting to be released in time order, with what was counted since the last flush.
    private let intake: RecordIntake
    private var pollsSinceYield = 0
    private var nextSweepNs: UInt64 = 0
    /// How often, and after how long, unsent records of the kernel's table are looked at.
    private static let sweepAfterNs: UInt64 = 10_000_000_000

    public init(tracer: KernelTracer, pollIntervalMs: Int32 = 10, maxBatch: Int = 4096, queuedBatches: Int = 1024) {
        self.tracer = tracer
        self.pollIntervalMs = pollIntervalMs
        self.maxBatch = maxBatch
        holdNs = tracer.ringFDs.count > 1 ? 3_000_000 : nil
        intake = RecordIntake(rings: tracer.ringFDs.count)
        (batches, continuation) = AsyncStream.makeStream(of: [KernelEvent].self,
                                                         bufferingPolicy: .bufferingOldest(queuedBatches))
    }

    public var stats: ReaderStats { counters.withLock { $0 } }

    /// The error that ended the reader early, if any.
    public var failure: BPFError? { completion.withLock { $0.failure } }

    public func start() throws(BPFError) {
        let ring = try RingBuffer(mapFDs: tracer.ringFDs, intake: intake)
        let thread = Thread { [self] in
            self.run(ring)
        }
        thread.name = "synwave-ring"
        thread.start()
    }

    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Returns once the thread has drained the ring and finished the stream.
    public func finished() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let resumeNow = completion.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(waiter)
                return false
            }
            if resumeNow { waiter.resume() }
        }
    }

    private func run(_ ring: RingBuffer) {
        var failure: BPFError?
        do {
            while !stopRequested.load(ordering: .acquiring) {
                try ring.wait(timeoutMs: pollIntervalMs)
                let drainStartNs = Clocks.bootNs()
                try ring.consume()
                flush(upTo: holdNs.map { drainStartNs > $0 ? drainStartNs - $0 : 0 } ?? .max)
                sweepIfDue(nowNs: drainStartNs)
            }
        } catch {
            failure = error
        }
        tracer.detach()
        // Final drain: whatever was submitted before the programs were detached, all released.
        do { try ring.consume() } catch { failure = failure ?? error }
        flush(upTo: .max)
        // And the records of sockets that ended unseen, however recently.
        sweep(firstSeenBefore: .max, nowNs: Clocks.bootNs())
        continuation.finish()
        let waiters = completion.withLock { state in
            state.done = true
            state.failure = failure
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Records of sockets that ended unseen, taken from the kernel's table every `sweepAfterNs`.
    private func sweepIfDue(nowNs: UInt64) {
        guard nowNs >= nextSweepNs else { return }
        if nextSweepNs != 0 { sweep(firstSeenBefore: nowNs &- Self.sweepAfterNs, nowNs: nowNs) }
        nextSweepNs = nowNs &+ Self.sweepAfterNs
    }

    private func sweep(firstSeenBefore cutoffNs: UInt64, nowNs: UInt64) {
        guard let table = tracer.connectionTable else { return }
        let recovered = table.sweep(firstSeenBefore: cutoffNs, nowNs: nowNs)
        guard !recovered.isEmpty else { return }
        let dropped = continuation.yield(recovered)
        counters.withLock {
            $0.recoveredFromTable += UInt64(recovered.count)
            if case .dropped = dropped { $0.droppedInUserSpace += UInt64(recovered.count) }
        }
    }

    /// Hands over the staged events stamped at or before `cutoffNs`, in batches of at most `maxBatch`.
    private func flush(upTo cutoffNs: UInt64) {
        var dropped: UInt64 = 0
        pollsSinceYield += 1
        let ready = intake.release(upTo: cutoffNs)
        if !ready.isEmpty {
            var start = 0
            while start < ready.count {
                let end = min(start + maxBatch, ready.count)
                let batch = start == 0 && end == ready.count ? ready : Array(ready[start..<end])
                if case .dropped = continuation.yield(batch) { dropped += UInt64(batch.count) }
                start = end
            }
            pollsSinceYield = 0
        } else if pollsSinceYield * Int(pollIntervalMs) >= 100 {
            continuation.yield([])
            pollsSinceYield = 0
        }
        let counted = intake.takeCounts()
        guard counted.received > 0 || dropped > 0 else { return }
        counters.withLock {
            $0.received += counted.received
            $0.stateChanges += counted.stateChanges
            $0.decodeErrors += counted.decodeErrors
            $0.droppedInUserSpace += dropped
        }
    }
}
