#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file's whole content at once (write a temporary file beside it, then rename), so a
/// reader such as node_exporter's textfile collector never sees half of it.
public enum AtomicFile {
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(SyscallError) {
        // node_exporter reads only *.prom: the temporary name must not end in it.
        let temporary = "\(path).\(getpid()).tmp"
        var fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0, errno == ENOENT {
            try Directories.create(parentOf: path)
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        }
        guard fd >= 0 else { throw SyscallError.last("open \(temporary)") }
        var failed = bytes.withUnsafeBytes { writeAll(fd, $0, operation: "write \(temporary)") }.error
        close(fd)
        if failed == nil, rename(temporary, path) != 0 { failed = SyscallError.last("rename \(temporary) to \(path)") }
        if let failed {
            unlink(temporary)
            throw failed
        }
    }
}
