import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds which process holds a socket, by its inode: the `socket:[INODE]` links under
/// /proc/PID/fd. A scan reads every process's descriptors, so results are cached and an
/// unknown inode triggers at most one rescan per `minimumRescanNs`.
public final class OwnerResolver: @unchecked Sendable {
    private var owners: [UInt64: SocketOwner] = [:]
    private var lastScanNs: UInt64 = 0
    private let minimumRescanNs: UInt64

    public init(minimumRescanNs: UInt64 = 2_000_000_000) {
        self.minimumRescanNs = minimumRescanNs
    }

    /// The owner of each inode it can find (0 and unknown inodes are left out).
    public func owners(of inodes: some Sequence<UInt64>) -> [UInt64: SocketOwner] {
        let wanted = inodes.filter { $0 != 0 }
        if wanted.contains(where: { owners[$0] == nil }) { rescanIfDue() }
        var result: [UInt64: SocketOwner] = [:]
        for inode in wanted { if let owner = owners[inode] { result[inode] = owner } }
        return result
    }

    public func owner(of inode: UInt64) -> SocketOwner? {
        owners(of: [inode])[inode]
    }

    private func rescanIfDue() {
        let now = Clocks.bootNs()
        guard lastScanNs == 0 || now - lastScanNs >= minimumRescanNs else { return }
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
                if found[inode] == nil { found[inode] = SocketOwner(pid: pid, comm: comm ?? "?") }
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
