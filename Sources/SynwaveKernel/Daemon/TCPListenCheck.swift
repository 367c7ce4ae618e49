import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Binds and listens on an address once, as the HTTP server will, and closes it again: a port
/// already in use is then one clear line at start instead of an error from inside the server.
public enum TCPListenCheck {
    public static func check(_ address: ListenAddress) throws(SyscallError) {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket") }
        defer { close(fd) }
        // The server sets it too: a port held only by TIME_WAIT connections is free.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if address.isIPv6 {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = address.port.bigEndian
            try parse(address.host, family: AF_INET6, into: &socketAddress.sin6_addr)
            bound = bind(fd, socketAddress)
        } else {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = address.port.bigEndian
            try parse(address.host, family: AF_INET, into: &socketAddress.sin_addr)
            bound = bind(fd, socketAddress)
        }
        guard bound == 0 else { throw .last("bind \(address)") }
        guard listen(fd, 1) == 0 else { throw .last("listen \(address)") }
    }

    /// An IP literal into `in_addr` or `in6_addr`.
    private static func parse<Address>(_ host: String, family: Int32, into address: inout Address) throws(SyscallError) {
        let parsed = withUnsafeMutableBytes(of: &address) { inet_pton(family, host, $0.baseAddress) }
        guard parsed == 1 else { throw SyscallError("inet_pton \(host)", errno: .invalidArgument) }
    }

    private static func bind<SocketAddress>(_ fd: Int32, _ socketAddress: SocketAddress) -> Int32 {
        withUnsafePointer(to: socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<SocketAddress>.size)) }
        }
    }
}
