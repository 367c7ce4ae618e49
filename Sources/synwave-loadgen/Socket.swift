#if canImport(Glibc)
import Glibc
#endif

struct SocketError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32
    var description: String { "\(operation): \(String(cString: strerror(code))) (errno \(code))" }
}

/// A blocking TCP socket over loopback (IPv4 or IPv6), closed on deinit unless closed before.
final class TCPSocket {
    private(set) var fd: Int32
    let family: Int32

    init(fd: Int32, family: Int32) {
        self.fd = fd
        self.family = family
    }

    init(family: Int32) throws {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        self.fd = fd
        self.family = family
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func withAddress<R>(host: String, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws -> R {
        if family == AF_INET6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { throw SocketError(operation: "address \(host)", code: EINVAL) }
            return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw SocketError(operation: "address \(host)", code: EINVAL) }
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    func listen(host: String, port: UInt16 = 0, backlog: Int32 = 4096) throws {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = try withAddress(host: host, port: port) { bind(fd, $0, $1) }
        guard bound == 0 else { throw SocketError(operation: "bind \(host):\(port)", code: errno) }
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketError(operation: "listen", code: errno) }
    }

    func connect(host: String, port: UInt16) throws {
        let result = try withAddress(host: host, port: port) { Glibc.connect(fd, $0, $1) }
        guard result == 0 else { throw SocketError(operation: "connect \(host):\(port)", code: errno) }
    }

    func accept() throws -> TCPSocket {
        let child = Glibc.accept(fd, nil, nil)
        guard child >= 0 else { throw SocketError(operation: "accept", code: errno) }
        return TCPSocket(fd: child, family: family)
    }

    /// A child waiting in the accept queue, without blocking.
    func acceptPending() -> TCPSocket? {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let child = Glibc.accept(fd, nil, nil)
        return child >= 0 ? TCPSocket(fd: child, family: family) : nil
    }

    /// Starts connecting without waiting (the socket stays non-blocking).
    func startConnect(host: String, port: UInt16) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = try? withAddress(host: host, port: port) { Glibc.connect(fd, $0, $1) }
    }

    /// The handshake completed from this side (the peer may still drop the final ACK).
    var isConnected: Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
        }
    }

    var localPort: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return withUnsafeBytes(of: &storage) { raw in UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) }
    }

    /// Close with RST instead of FIN (SO_LINGER {1, 0}).
    func setLingerZero() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// SO_KEEPALIVE with idle, interval (seconds) and probe count.
    func setKeepalive(idle: Int32, interval: Int32, count: Int32) {
        var one: Int32 = 1, idle = idle, interval = interval, count = count
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
    }

    /// Blocks until the peer closes, the connection fails or `seconds` pass; returns the
    /// pending socket error (0: none).
    func waitForEnd(seconds: Double) -> Int32 {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Double(time(nil)) + seconds
        var chunk = [UInt8](repeating: 0, count: 4096)
        while Double(time(nil)) < deadline {
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { return errno }
            if n == 0 { return 0 }
        }
        return 0
    }

    func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SocketError(operation: "send", code: errno) }
            offset += n
        }
    }

    /// Reads exactly `count` bytes, or fewer at EOF.
    func receive(exactly count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, count - result.count), 0) }
            if n < 0 { throw SocketError(operation: "recv", code: errno) }
            if n == 0 { break }
            result += chunk[0..<n]
        }
        return result
    }

    /// Reads until the peer closes (FIN) or resets; returns how many bytes arrived.
    @discardableResult
    func drainUntilClosed() -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return total }
            total += n
        }
    }
}
