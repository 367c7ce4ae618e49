#if canImport(Glibc)
import Glibc
#endif

/// write(2) until every byte is out or a write fails (EINTR retried): how many bytes were
/// written, and the error that stopped it, if any.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, operation: String = "write") -> (written: Int, error: SyscallError?) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return (offset, .last(operation))
        }
        // A write of nothing would never finish: give up as an I/O error.
        if n == 0 { return (offset, SyscallError(operation, errno: .ioError)) }
        offset += n
    }
    return (offset, nil)
}
