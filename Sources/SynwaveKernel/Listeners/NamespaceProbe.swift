import CNetlinkDiag
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace to watch: where its handle is, and what to call it.
public struct NamespaceTarget: Hashable, Sendable {
    /// nil: synwave's own namespace.
    public var path: String?
    public var name: String

    public init(path: String?, name: String) {
        self.path = path
        self.name = name
    }

    public static let own = NamespaceTarget(path: nil, name: "host")

    /// The namespace's inode number (what the BPF programs report as netns).
    func inode() throws(SyscallError) -> UInt32 {
        var info = stat()
        let file = path ?? "/proc/self/ns/net"
        guard stat(file, &info) == 0 else { throw .last("stat(\(file))") }
        return UInt32(truncatingIfNeeded: info.st_ino)
    }
}

/// Everything synwave reads inside one network namespace, opened once and bound to it
/// (no setns per poll): a sock_diag socket and the namespace's netstat file, and the namespace
/// itself (-1 for synwave's own), for iterators that must be opened inside it.
final class NamespaceProbe {
    let target: NamespaceTarget
    let netns: UInt32
    let nsfd: Int32
    private let diag: SockDiag
    private let netstatFD: Int32
    private var text = [UInt8](repeating: 0, count: 16 * 1024)

    init(_ target: NamespaceTarget) throws(SyscallError) {
        self.target = target
        var nsfd: Int32 = -1
        if let path = target.path {
            nsfd = open(path, O_RDONLY | O_CLOEXEC)
            if nsfd < 0 { throw .last("open(\(path))") }
        }
        var keep = false
        defer { if nsfd >= 0, !keep { close(nsfd) } }
        // The inode of the namespace actually opened (the path could be replaced meanwhile).
        var info = stat()
        if nsfd >= 0 {
            guard fstat(nsfd, &info) == 0 else { throw .last("fstat(\(target.path ?? ""))") }
            netns = UInt32(truncatingIfNeeded: info.st_ino)
        } else {
            netns = try target.inode()
        }
        var diagFD: Int32 = -1
        var netstat: Int32 = -1
        let rc = synwave_open_in_netns(nsfd, &diagFD, &netstat)
        if rc < 0 { throw SyscallError("open sock_diag in netns \(target.name)", errno: .init(rawValue: -rc)) }
        diag = SockDiag(fd: diagFD, netns: netns)
        netstatFD = netstat
        self.nsfd = nsfd
        keep = true
    }

    deinit {
        close(netstatFD)
        if nsfd >= 0 { close(nsfd) }
    }

    func poll() throws(SyscallError) -> NamespacePoll {
        let (listeners, requests) = try diag.dump()
        return NamespacePoll(netns: netns, name: target.name, listeners: listeners, requests: requests,
                             counters: try counters())
    }

    /// The namespace's counters with listeners found elsewhere (the BPF listener iterator):
    /// all of them when `complete`, else those that changed.
    func poll(listeners: [ListenerSnapshot], complete: Bool) throws(SyscallError) -> NamespacePoll {
        NamespacePoll(netns: netns, name: target.name, listeners: listeners, requests: [], counters: try counters(),
                      complete: complete)
    }

    /// The namespace's open connections (owners not placed yet) with their socket inodes; a
    /// local port with a listener marks the accepted ones.
    func connections() throws(SyscallError) -> [(connection: ExistingConnection, inode: UInt64)] {
        let listening = Set(try diag.dump().listeners.map(\.listener.port))
        return try diag.connections().map { c in
            (ExistingConnection(cookie: c.cookie, netns: netns, state: c.state, endpoints: c.endpoints,
                                isServer: listening.contains(c.endpoints.localPort), owner: nil), c.inode)
        }
    }

    /// The cookies of the namespace's connections (any state sock_diag's `connections` lists).
    func connectionCookies() throws(SyscallError) -> Set<UInt64> {
        Set(try diag.connections().map(\.cookie))
    }

    /// Re-reads the netstat file from the start: the kernel regenerates it on every read.
    private func counters() throws(SyscallError) -> NamespaceCounters {
        var length = 0
        while true {
            let count = text.withUnsafeMutableBytes { buffer in
                pread(netstatFD, buffer.baseAddress! + length, buffer.count - length, off_t(length))
            }
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                throw .last("read(/proc/net/netstat of \(target.name))")
            }
            if count == 0 { break }
            length += count
            if length == text.count { text += [UInt8](repeating: 0, count: text.count) }
        }
        return NamespaceCounters(netstat: Substring(String(decoding: text[0..<length], as: UTF8.self)))
    }
}
