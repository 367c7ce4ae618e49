#if canImport(Glibc)
import Glibc
#endif

/// A stream socket in the file system, owned: closed in `deinit`.
public final class UnixSocket: @unchecked Sendable {
    public let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// A listening socket at `path`, non-blocking, created with `mode` and group `gid`.
    /// A socket file left by a dead daemon is replaced (the pidfile lock says none runs).
    public static func listen(path: String, mode: mode_t, gid: gid_t?) throws(SyscallError) -> UnixSocket {
        try Directories.create(parentOf: path)
        var address = try socketAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket(AF_UNIX)") }
        let owned = UnixSocket(fd: fd)
        unlink(path)
        // Born without group or other access: nobody can connect before chmod/chown below.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0 else { throw .last("bind \(path)") }
        if let gid, chown(path, uid_t.max, gid) != 0 { throw .last("chown \(path)") }
        guard chmod(path, mode) == 0 else { throw .last("chmod \(path)") }
        guard Glibc.listen(fd, 64) == 0 else { throw .last("listen \(path)") }
        return owned
    }

    /// The next pending connection, non-blocking, or nil when none waits.
    public func accept() throws(SyscallError) -> UnixSocket? {
        // Glibc's module map lacks accept4 (_GNU_SOURCE): flags are set after accepting; the
        // daemon never forks, so the brief window without FD_CLOEXEC cannot leak the socket.
        let client = Glibc.accept(fd, nil, nil)
        if client >= 0 {
            let owned = UnixSocket(fd: client)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            guard fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK) == 0 else { throw .last("fcntl(O_NONBLOCK)") }
            return owned
        }
        switch errno {
        case EAGAIN, EINTR, ECONNABORTED: return nil
        default: throw .last("accept")
        }
    }

    /// A blocking connection to the socket at `path`.
    public static func connect(path: String) throws(SyscallError) -> UnixSocket {
        var address = try socketAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket(AF_UNIX)") }
        let owned = UnixSocket(fd: fd)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw .last("connect \(path)") }
        return owned
    }

    /// Writes what the socket takes now; returns the byte count (0 when it would block).
    public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(SyscallError) -> Int {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            default: throw .last("send")
            }
        }
    }

    /// Reads what is there: nil when it would block, an empty array at end of stream.
    public func readSome(max: Int = 4096) throws(SyscallError) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: max)
        while true {
            let n = recv(fd, &chunk, max, 0)
            if n >= 0 { return Array(chunk.prefix(n)) }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw .last("recv")
            }
        }
    }

    /// Ends both directions: a reader blocked in `readSome` on another thread returns.
    public func shutdownBoth() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    private static func socketAddress(_ path: String) throws(SyscallError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SyscallError("socket path \(path)", errno: .fileNameTooLong)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return address
    }
}
