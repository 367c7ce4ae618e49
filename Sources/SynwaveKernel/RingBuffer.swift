import CLibbpf

/// libbpf's BPF ring buffer consumer. Each record is handed, in place, to `onRecord`.
/// Created on one thread and then used by the reader thread only, hence unchecked.
final class RingBuffer: @unchecked Sendable {
    typealias Handler = (UnsafeRawBufferPointer) -> Void

    private final class Context {
        let onRecord: Handler
        init(_ onRecord: @escaping Handler) { self.onRecord = onRecord }
    }

    private let pointer: OpaquePointer
    private let context: Unmanaged<Context>

    init(mapFD: Int32, onRecord: @escaping Handler) throws(BPFError) {
        let context = Unmanaged.passRetained(Context(onRecord))
        let ring = ring_buffer__new(mapFD, { ctx, data, size in
            guard let ctx else { return 0 }
            let handler = Unmanaged<Context>.fromOpaque(ctx).takeUnretainedValue()
            handler.onRecord(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }, context.toOpaque(), nil)
        guard let ring else {
            context.release()
            throw BPFError.lastErrno("ring_buffer__new")
        }
        self.pointer = ring
        self.context = context
    }

    deinit {
        ring_buffer__free(pointer)
        context.release()
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
