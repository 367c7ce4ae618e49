import SynwaveCore
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

    /// The verifier's last word: the line before its "processed N insns" summary (none when
    /// the log holds nothing but the summary).
    public var verifierReason: String? {
        guard let summary = libbpfLog.lastIndex(where: { $0.hasPrefix("processed ") && $0.contains("insns") }),
              summary > 0, !libbpfLog[summary - 1].contains("BEGIN PROG LOAD LOG") else { return nil }
        return libbpfLog[summary - 1]
    }

    /// The verifier checked no instruction: the kernel refused the program for its type, attach
    /// target or flags, not for anything its code does.
    public var refusedBeforeVerification: Bool {
        libbpfLog.contains { $0.hasPrefix("processed 0 insns") }
    }

    /// The program libbpf names in its "prog 'NAME': ... failed" line, for a whole-object load.
    public var failedProgram: String? {
        for line in libbpfLog where line.contains("failed") {
            guard let start = line.range(of: "prog '"), let end = line[start.upperBound...].firstIndex(of: "'") else { continue }
            return String(line[start.upperBound..<end])
        }
        return nil
    }

    /// "EPERM (Operation not permitted)".
    public var errnoText: String { "\(ErrnoName.name(errno.rawValue)) (\(errno.description))" }

    public var description: String {
        let base = "\(operation) failed: \(errno.description) (errno \(errno.rawValue))"
        return verifierReason.map { "\(base); verifier: \($0)" } ?? base
    }
}

#if canImport(Glibc)
import Glibc
#endif
