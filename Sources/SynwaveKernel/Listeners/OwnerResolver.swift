import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds which process holds a socket, by its inode: the `socket:[INODE]` links under
/// /proc/PID/fd. A scan reads every process's descriptors, so results are cached: a new inode
/// triggers at most one rescan per `minimumRescanNs`, and one a scan could not place (a socket
/// held by a process in another PID namespace) is retried only every `missRetryNs`.
public final class OwnerResolver: @unchecked Sendable {
    private var owners: [UInt64: SocketOwner] = [:]
    private var missedAtNs: [UInt64: UInt64] = [:]
    private var lastScanNs: UInt64 = 0
    private let minimumRescanNs: UInt64
    private let missRetryNs: UInt64

    public init(minimumRescanNs: UInt64 = 2_000_000_000, missRetryNs: UInt64 = 60_000_000_000) {
        self.minimumRescanNs = minimumRescanNs
        self.missRetryNs = missRetryNs
    }

    private var pending: [UInt64] = []

    public var hasPending: Bool { !pending.isEmpty }

    /// The owner as of the last scan. An inode not seen yet is noted, and placed by the next
    /// `resolvePending()`: one dictionary lookup per call, cheap enough for every listener every poll.
    public func cached(_ inode: UInt64) -> SocketOwner? {
        if let owner = owners[inode] { return owner }
        if inode != 0, missedAtNs[inode] == nil { pending.append(inode) }
        return nil
    }

    /// Rescans /proc for the inodes noted by `cached(_:)`, if a rescan is due; returns whether
    /// it rescanned (owners may have changed).
    @discardableResult
    public func resolvePending() -> Bool {
        let now = Clocks.bootNs()
        missedAtNs = missedAtNs.filter { now - $0.value < missRetryNs }
        guard !pending.isEmpty, lastScanNs == 0 || now - lastScanNs >= minimumRescanNs else { return false }
        rescan(now: now)
        for inode in pending where owners[inode] == nil { missedAtNs[inode] = now }
        pending.removeAll()
        return true
    }

    /// Scans at once if needed (one-off lookups: a tail's listener event).
    public func owner(of inode: UInt64) -> SocketOwner? {
        if let owner = cached(inode) { return owner }
        resolvePending()
        return owners[inode]
    }

    private func rescan(now: UInt64) {
        lastScanNs = now
        var found: [UInt64: SocketOwner] = [:]
        var link = [CChar](repeating: 0, count: 64)
        for pidName in NamespaceDiscovery.entries(of: "/proc") {
            guard let pid = UInt32(pidName) else { continue }
            var comm: String?
            for fd in NamespaceDiscovery.entries(of: "/proc/\(pidName)/fd") {
                let length = readlink("/proc/\(pidName)/fd/\(fd)", &link, link.count - 1)
                guard length > 9 else { continue }
                let target = link.withUnsafeBufferPointer { buffer in
                    String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), as: UTF8.self)
                }
                guard target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()) else { continue }
                if comm == nil { comm = Self.comm(of: pidName) }
                // The first holder in pid order: usually the parent that listened before forking.
                if found[inode] == nil { found[inode] = SocketOwner(pid: pid, comm: TaskName(comm ?? "?")) }
            }
        }
        owners = found
    }

    private static func comm(of pid: String) -> String {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "?" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return "?" }
        return String(decoding: buffer[0..<count].prefix(while: { $0 != UInt8(ascii: "\n") }), as: UTF8.self)
    }
}
