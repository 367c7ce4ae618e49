import SystemPackage

/// A failed system call (not libbpf): the operation, and its errno.
public struct SyscallError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Errno

    public init(_ operation: String, errno: Errno) {
        self.operation = operation
        self.errno = errno
    }

    static func last(_ operation: String) -> SyscallError {
        SyscallError(operation, errno: Errno(rawValue: Glibc.errno))
    }

    public var description: String { "\(operation) failed: \(errno.description) (errno \(errno.rawValue))" }
}

#if canImport(Glibc)
import Glibc
#endif
