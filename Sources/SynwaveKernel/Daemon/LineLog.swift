import Synchronization
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// An append-only file of whole lines that survives its environment: a full disk, a removed
/// directory, rotation.
///
/// Lines collect in `buffer`; `flush()` appends them with one write(2). If that write fails
/// part-way (disk full) the whole lines that fit stay written and the torn rest is truncated
/// away, so the file never holds a torn line, and the other lines stay queued for the next try.
/// While the file cannot be written, lines are kept up to `bufferLimit` bytes, then the oldest
/// are dropped — every failure and drop counted in `stats`, the start and end of each failing
/// spell reported once on stderr, and drops at most every 10 s with their counts.
/// With a `Rotation`, a file that would grow past its size is renamed to `path.1` (and older
/// ones shifted up to `path.N`) before the next lines are written to a new file: whole flushes
/// only, so no line is lost or split by a rotation.
/// `requestReopen()` (SIGHUP, after logrotate renamed the file) makes the next flush open the
/// path anew; a file whose directory was removed is noticed (link count 0) and recreated.
/// Used from one task at a time; `stats` and `requestReopen()` from anywhere.
public final class LineLog: @unchecked Sendable {
    /// Size-based rotation: at most `keep` old files beside the current one.
    public struct Rotation: Sendable {
        public var maxBytes: UInt64
        public var keep: Int

        public init(maxBytes: UInt64, keep: Int) {
            self.maxBytes = maxBytes
            self.keep = keep
        }
    }

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
    private let rotation: Rotation?
    private var fileBytes: UInt64 = 0
    /// Drops not yet said on stderr, and when they may next be said.
    private var unreportedDrops: UInt64 = 0
    private var nextDropReportNs: UInt64 = 0
    private let dropReportIntervalNs: UInt64 = 10_000_000_000
    private let report: @Sendable (String) -> Void

    public init(path: String, bufferLimit: UInt64, rotation: Rotation? = nil,
                report: @escaping @Sendable (String) -> Void = { StandardError.line($0) }) {
        self.path = path
        self.bufferLimit = Int(clamping: bufferLimit)
        self.rotation = rotation
        self.report = report
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
        defer { reportDrops(nowNs: nowNs) }
        guard !buffer.isEmpty else { return }
        if failure != nil, nowNs < nextRetryNs { return }
        if fd >= 0, isUnlinked() {
            counters.withLock { $0.writeErrors += 1 }
            report("synwave: \(path) was deleted (its directory removed?): recreating it")
            close(fd)
            fd = -1
        }
        do {
            if fd < 0 { try reopen() }
            if let rotation, fileBytes > 0, fileBytes + UInt64(buffer.count) > rotation.maxBytes { try rotate(rotation) }
            try appendBuffer()
            counters.withLock {
                $0.linesWritten += pendingLines
                $0.linesPending = 0
            }
            buffer.removeAll(keepingCapacity: true)
            pendingLines = 0
            if failure != nil {
                failure = nil
                report("synwave: \(path) is writable again; queued lines written")
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
                report("synwave: cannot write \(path): \(text); keeping \(lines) lines in memory "
                    + "(up to log_buffer_limit, then the oldest are dropped), retrying every second")
            }
        }
    }

    /// Says on stderr how many lines were dropped since the last report, at most every 10 s.
    private func reportDrops(nowNs: UInt64) {
        guard unreportedDrops > 0, nowNs >= nextDropReportNs else { return }
        let total = stats.linesDropped
        report("synwave: \(path): \(unreportedDrops) lines dropped, the oldest queued ones (log_buffer_limit reached "
            + "while it cannot be written); \(total) dropped since start")
        unreportedDrops = 0
        nextDropReportNs = nowNs &+ dropReportIntervalNs
    }

    /// Shifts `path.N-1` to `path.N` ... `path` to `path.1`, then opens a new `path`.
    private func rotate(_ rotation: Rotation) throws(SyscallError) {
        for index in stride(from: rotation.keep, through: 2, by: -1) {
            _ = rename("\(path).\(index - 1)", "\(path).\(index)")
        }
        if rotation.keep >= 1 {
            guard rename(path, "\(path).1") == 0 else { throw SyscallError.last("rename \(path) to \(path).1") }
        } else {
            guard unlink(path) == 0 else { throw SyscallError.last("unlink \(path)") }
        }
        counters.withLock { $0.rotations += 1 }
        try reopen()
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
        var info = stat()
        fileBytes = fstat(fd, &info) == 0 ? UInt64(info.st_size) : 0
    }

    /// The file was deleted under us (its directory removed): writing on would lose every line.
    private func isUnlinked() -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_nlink == 0
    }

    private func appendBuffer() throws(SyscallError) {
        let start = lseek(fd, 0, SEEK_END)
        let (written, failed) = buffer.withUnsafeBytes { writeAll(fd, $0) }
        guard let failed else {
            fileBytes = UInt64(max(0, start)) + UInt64(buffer.count)
            return
        }
        // Keep the whole lines that fit; take back a torn one: the next try appends it whole.
        let whole = written > 0 ? buffer[..<written].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0 : 0
        if written > whole, start >= 0 { _ = ftruncate(fd, start + off_t(whole)) }
        if whole > 0 {
            let lines = UInt64(buffer[..<whole].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
            buffer.removeFirst(whole)
            pendingLines -= lines
            counters.withLock { $0.linesWritten += lines }
        }
        fileBytes = UInt64(max(0, start)) + UInt64(whole)
        throw failed
    }

    /// Keeps the newest three quarters of the limit, cut at a line boundary.
    private func dropOldest() {
        let excess = buffer.count - bufferLimit * 3 / 4
        guard excess > 0, let cut = buffer[(excess - 1)...].firstIndex(of: 0x0A) else { return }
        let dropped = UInt64(buffer[..<(cut + 1)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
        buffer.removeFirst(cut + 1)
        pendingLines -= dropped
        unreportedDrops += dropped
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
