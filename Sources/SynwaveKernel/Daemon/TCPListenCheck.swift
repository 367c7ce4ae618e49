import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Binds and listens on an address once, as the HTTP server will, and closes it again: a port
/// already in use is then one clear line at start instead of an error from inside the server.
public enum TCPListenCheck {
    public static func check(_ address: ListenAddress) throws(SyscallError) {
        let fd = socket(address.ip.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket") }
        defer { close(fd) }
        // The server sets it too: a port held only by TIME_WAIT connections is free.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        // IPAddress holds the bytes in network order, as the socket address does.
        switch address.ip {
        case .v6(let high, let low):
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.storeBytes(of: (high, low), as: (UInt64, UInt64).self) }
            bound = bind(fd, socketAddress)
        case .v4(let raw):
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = address.port.bigEndian
            socketAddress.sin_addr.s_addr = raw
            bound = bind(fd, socketAddress)
        }
        guard bound == 0 else { throw .last("bind \(address)") }
        guard listen(fd, 1) == 0 else { throw .last("listen \(address)") }
    }

    private static func bind<SocketAddress>(_ fd: Int32, _ socketAddress: SocketAddress) -> Int32 {
        withUnsafePointer(to: socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<SocketAddress>.size)) }
        }
    }
}
