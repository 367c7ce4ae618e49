import SystemPackage

/// A failed libbpf call or syscall: which operation, and the errno it returned.
public struct BPFError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Errno
    /// What libbpf logged about it (verifier output etc.), shown with --verbose.
    public var libbpfLog: [String]

    public init(_ operation: String, errno: Errno, libbpfLog: [String] = []) {
        self.operation = operation
        self.errno = errno
        self.libbpfLog = libbpfLog
    }

    /// From a libbpf return code (negative errno) or, for pointer-returning calls, the thread's errno.
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(BPFError) {
        guard result < 0 else { return }
        throw BPFError(operation(), errno: Errno(rawValue: -result), libbpfLog: LibbpfLog.take())
    }

    static func lastErrno(_ operation: String) -> BPFError {
        BPFError(operation, errno: Errno(rawValue: Glibc.errno), libbpfLog: LibbpfLog.take())
    }

    public var description: String {
        "\(operation) failed: \(errno.description) (errno \(errno.rawValue))"
    }
}

#if canImport(Glibc)
import Glibc
#endif
