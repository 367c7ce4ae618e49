import SynwaveKernel
#if canImport(Glibc)
import Glibc
#endif

/// Buffered line output to a file descriptor: one write(2) per batch, not per line.
/// Reports (instead of dying of SIGPIPE) when the reader of a pipe has gone.
final class OutputWriter {
    private let fd: Int32
    /// Formatters append a line here, then call `endLine()`.
    var buffer: [UInt8] = []
    private(set) var closed = false

    init(fd: Int32) {
        self.fd = fd
        signal(SIGPIPE, SIG_IGN)
        buffer.reserveCapacity(1 << 20)
    }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        endLine()
    }

    func endLine() {
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty, !closed else { buffer.removeAll(keepingCapacity: true); return }
        if buffer.withUnsafeBytes({ writeAll(fd, $0) }).error != nil { closed = true }
        buffer.removeAll(keepingCapacity: true)
    }
}
