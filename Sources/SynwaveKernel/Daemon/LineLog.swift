import Synchronization
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// An append-only file of whole lines that survives its environment: a full disk, a removed
/// directory, rotation.
///
/// Lines collect in `buffer`; `flush()` appends them with one write(2). If that write fails
/// part-way (disk full) the partial tail is truncated away, so the file never holds a torn
/// line, and the lines stay queued for the next try. While the file cannot be written, lines
/// are kept up to `bufferLimit` bytes, then the oldest are dropped — every failure and drop
/// counted in `stats`, and the start and end of each failing spell reported once on stderr.
/// `requestReopen()` (SIGHUP, after logrotate renamed the file) makes the next flush open the
/// path anew; a file whose directory was removed is noticed (link count 0) and recreated.
/// Used from one task at a time; `stats` and `requestReopen()` from anywhere.
public final class LineLog: @unchecked Sendable {
    public let path: String
    /// Callers append one line's bytes, then call `endLine()`.
    public var buffer: [UInt8] = []
    private var fd: Int32 = -1
    private var pendingLines: UInt64 = 0
    private let bufferLimit: Int
    private let retryIntervalNs: UInt64 = 1_000_000_000
    private var nextRetryNs: UInt64 = 0
    private var failure: String?
    private let reopenRequested = Atomic<Bool>(false)
    private let counters = Mutex(OutputStats())

    public init(path: String, bufferLimit: UInt64) {
        self.path = path
        self.bufferLimit = Int(clamping: bufferLimit)
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public var stats: OutputStats { counters.withLock { $0 } }

    /// Opens (creating the directory and file) now, so a path that can never work is refused at start.
    public func open() throws(SyscallError) {
        try reopen()
    }

    public func endLine() {
        buffer.append(0x0A)
        pendingLines += 1
        if buffer.count > bufferLimit { dropOldest() }
    }

    public func requestReopen() {
        reopenRequested.store(true, ordering: .relaxed)
    }

    /// Writes every queued line, or keeps them for the next call. `nowNs` paces retries while failing.
    public func flush(nowNs: UInt64) {
        if reopenRequested.exchange(false, ordering: .relaxed), fd >= 0 {
            close(fd)
            fd = -1
        }
        guard !buffer.isEmpty else { return }
        if failure != nil, nowNs < nextRetryNs { return }
        if fd >= 0, isUnlinked() {
            counters.withLock { $0.writeErrors += 1 }
            StandardError.line("synwave: \(path) was deleted (its directory removed?): recreating it")
            close(fd)
            fd = -1
        }
        do {
            if fd < 0 { try reopen() }
            try appendBuffer()
            counters.withLock {
                $0.linesWritten += pendingLines
                $0.linesPending = 0
            }
            buffer.removeAll(keepingCapacity: true)
            pendingLines = 0
            if failure != nil {
                failure = nil
                StandardError.line("synwave: \(path) is writable again; queued lines written")
            }
        } catch {
            nextRetryNs = nowNs &+ retryIntervalNs
            let lines = pendingLines
            counters.withLock {
                $0.writeErrors += 1
                $0.linesPending = lines
            }
            let text = error.description
            if failure != text {
                failure = text
                StandardError.line("synwave: cannot write \(path): \(text); keeping \(lines) lines in memory, retrying every second")
            }
        }
    }

    private func reopen() throws(SyscallError) {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        var opened = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        if opened < 0, Glibc.errno == ENOENT {
            try Directories.create(parentOf: path)
            opened = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        }
        guard opened >= 0 else { throw SyscallError.last("open \(path)") }
        fd = opened
    }

    /// The file was deleted under us (its directory removed): writing on would lose every line.
    private func isUnlinked() -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_nlink == 0
    }

    private func appendBuffer() throws(SyscallError) {
        let start = lseek(fd, 0, SEEK_END)
        let (written, failed) = buffer.withUnsafeBytes { writeAll(fd, $0) }
        if let failed {
            // Take back a partial write: the next try appends the same lines whole.
            if written > 0, start >= 0 { _ = ftruncate(fd, start) }
            throw failed
        }
    }

    /// Keeps the newest three quarters of the limit, cut at a line boundary.
    private func dropOldest() {
        let excess = buffer.count - bufferLimit * 3 / 4
        guard excess > 0, let cut = buffer[(excess - 1)...].firstIndex(of: 0x0A) else { return }
        let dropped = UInt64(buffer[..<(cut + 1)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
        buffer.removeFirst(cut + 1)
        pendingLines -= dropped
        counters.withLock { $0.linesDropped += dropped }
    }
}

/// `mkdir -p`, for the daemon's log and runtime directories.
public enum Directories {
    public static func create(_ path: String, mode: mode_t = 0o755) throws(SyscallError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0, Glibc.errno != EEXIST { throw SyscallError.last("mkdir \(prefix)") }
        }
    }

    public static func create(parentOf path: String) throws(SyscallError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try create(String(path[..<slash]))
    }
}
