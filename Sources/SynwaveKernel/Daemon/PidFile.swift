#if canImport(Glibc)
import Glibc
#endif

/// The daemon's pidfile, locked for as long as the daemon lives: the lock, not the file's
/// existence, says a daemon runs, so a file left by `kill -9` does not block a restart.
public final class PidFile {
    public enum Failure: Error, CustomStringConvertible {
        case alreadyRunning(path: String, pid: String)
        case system(SyscallError)

        public var description: String {
            switch self {
            case .alreadyRunning(let path, let pid):
                "another synwave daemon is running (pid \(pid.isEmpty ? "unknown" : pid), holding the lock on \(path))"
            case .system(let error): "\(error)"
            }
        }
    }

    public let path: String
    private var fd: Int32

    public init(path: String) throws(Failure) {
        self.path = path
        do { try Directories.create(parentOf: path) } catch { throw .system(error) }
        // Assigned to `fd` only once locked: a refused instance's deinit must not unlink the file
        // that the running daemon holds.
        fd = -1
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(.last("open \(path)")) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = SyscallError.last("flock \(path)")
            var text = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &text, text.count, 0)
            close(fd)
            if error.errno == .wouldBlock {
                let pid = String(decoding: text.prefix(max(0, n)), as: UTF8.self).filter(\.isNumber)
                throw .alreadyRunning(path: path, pid: pid)
            }
            throw .system(error)
        }
        let content = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0, pwrite(fd, content, content.count, 0) == content.count else {
            let error = SyscallError.last("write \(path)")
            close(fd)
            throw .system(error)
        }
        self.fd = fd
    }

    /// Removes the file while still holding the lock, so no second daemon can lock the old inode.
    public func remove() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    deinit { remove() }
}
