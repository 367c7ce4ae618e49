import CLibbpf

/// libbpf's BPF ring buffer consumer over several rings (one per CPU). Each record is handed,
/// in place, to `intake` with the index of its ring in `mapFDs`.
/// Created on one thread and then used by the reader thread only, hence unchecked.
final class RingBuffer: @unchecked Sendable {
    private final class Context {
        let ring: Int
        let intake: RecordIntake
        init(ring: Int, _ intake: RecordIntake) {
            self.ring = ring
            self.intake = intake
        }
    }

    private let pointer: OpaquePointer
    /// One per ring, so the callback knows the ring; released with the consumer.
    private let contexts: [Unmanaged<Context>]

    init(mapFDs: [Int32], intake: RecordIntake) throws(BPFError) {
        let callback: ring_buffer_sample_fn = { ctx, data, size in
            guard let ctx else { return 0 }
            // Borrowed, not retained: this runs once per kernel event, and the consumer keeps every context alive.
            Unmanaged<Context>.fromOpaque(ctx)._withUnsafeGuaranteedRef { context in
                context.intake.handle(UnsafeRawBufferPointer(start: data, count: size), ring: context.ring)
            }
            return 0
        }
        let contexts = mapFDs.indices.map { Unmanaged.passRetained(Context(ring: $0, intake)) }
        guard let first = mapFDs.first, let ring = ring_buffer__new(first, callback, contexts[0].toOpaque(), nil) else {
            contexts.forEach { $0.release() }
            throw BPFError.lastErrno("ring_buffer__new")
        }
        self.pointer = ring
        self.contexts = contexts
        for (index, fd) in mapFDs.enumerated().dropFirst() {
            try BPFError.check(ring_buffer__add(ring, fd, callback, contexts[index].toOpaque()), "ring_buffer__add")
        }
    }

    deinit {
        ring_buffer__free(pointer)
        contexts.forEach { $0.release() }
    }

    /// Waits up to `timeoutMs` for a wakeup. Records submitted without wakeup are not read here.
    func wait(timeoutMs: Int32) throws(BPFError) {
        let result = ring_buffer__poll(pointer, timeoutMs)
        if result == -EINTR { return }
        try BPFError.check(result, "ring_buffer__poll")
    }

    /// Reads every record available now; returns how many.
    @discardableResult
    func consume() throws(BPFError) -> Int {
        let result = ring_buffer__consume(pointer)
        try BPFError.check(result, "ring_buffer__consume")
        return Int(result)
    }
}

#if canImport(Glibc)
import Glibc
#endif
