import CNetlinkDiag
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// TCP sockets of one network namespace, through a NETLINK_SOCK_DIAG socket opened inside it
/// (what `ss -t` reads): listeners and half-open requests, or connections. Owns the socket.
final class SockDiag {
    private let fd: Int32
    let netns: UInt32
    private var sequence: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    init(fd: Int32, netns: UInt32) {
        self.fd = fd
        self.netns = netns
    }

    deinit { close(fd) }

    private static let tcpListen: UInt8 = 10
    private static let tcpSynRecv: UInt8 = 3
    private static let skMemInfoDrops = 8 // SK_MEMINFO_DROPS in linux/sock_diag.h

    /// Listeners (with their drop counts) and request sockets, of both address families.
    func dump() throws(SyscallError) -> (listeners: [ListenerSnapshot], requests: [RequestSnapshot]) {
        var listeners: [ListenerSnapshot] = []
        var requests: [RequestSnapshot] = []
        // SYN_RECV also selects request (NEW_SYN_RECV) sockets.
        let states = (UInt32(1) << UInt32(Self.tcpListen)) | (1 << UInt32(Self.tcpSynRecv))
        try dump(states: states, extensions: UInt8(1 << (INET_DIAG_SKMEMINFO - 1))) { payload in
            decodeListenerOrRequest(payload, &listeners, &requests)
        }
        return (listeners, requests)
    }

    /// Full sockets of a connection, in any state but LISTEN, SYN_RECV, TIME_WAIT and CLOSE.
    /// SYN_RECV would select request mini-sockets, whose cookie is not their child's; TIME_WAIT
    /// mini-sockets and closed sockets have no transitions left to trace.
    func connections() throws(SyscallError) -> [ConnectionSnapshot] {
        var connections: [ConnectionSnapshot] = []
        let wanted: [TCPState] = [.established, .synSent, .finWait1, .finWait2, .closeWait, .lastAck, .closing]
        let states = wanted.reduce(UInt32(0)) { $0 | 1 << UInt32($1.rawValue) }
        try dump(states: states, extensions: 0) { payload in
            if let connection = decodeConnection(payload) { connections.append(connection) }
        }
        return connections
    }

    private func dump(states: UInt32, extensions: UInt8,
                      _ each: (UnsafeRawBufferPointer) -> Void) throws(SyscallError) {
        sequence &+= 1
        try send(states: states, extensions: extensions)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                if Glibc.errno == EINTR { continue }
                throw .last("recv(sock_diag)")
            }
            let outcome = buffer.withUnsafeBytes { raw in
                Result { () throws(SyscallError) -> Bool in
                    try parse(UnsafeRawBufferPointer(rebasing: raw[0..<received]), each)
                }
            }
            if try outcome.get() { return }
        }
    }

    /// The original TCPDIAG_GETSOCK request, not SOCK_DIAG_BY_FAMILY: it asks for both address
    /// families at once, so the kernel walks its socket hashes once per dump instead of once
    /// per family. The established hash is walked whole whenever a state other than LISTEN is
    /// asked for (262,144 buckets on this 24 GiB machine), and it holds both families.
    private func send(states: UInt32, extensions: UInt8) throws(SyscallError) {
        struct Request {
            var header = nlmsghdr()
            var body = inet_diag_req()
        }
        var request = Request()
        request.header.nlmsg_len = UInt32(MemoryLayout<Request>.size)
        request.header.nlmsg_type = UInt16(TCPDIAG_GETSOCK)
        request.header.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
        request.header.nlmsg_seq = sequence
        request.body.idiag_family = UInt8(AF_UNSPEC)
        request.body.idiag_ext = extensions
        request.body.idiag_states = states
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let sent = withUnsafeBytes(of: &request) { body in
            withUnsafePointer(to: &address) { to in
                to.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, body.baseAddress, body.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
        }
        if sent < 0 { throw .last("sendto(sock_diag)") }
    }

    /// Returns true at the end of the dump.
    private func parse(_ data: UnsafeRawBufferPointer, _ each: (UnsafeRawBufferPointer) -> Void) throws(SyscallError) -> Bool {
        let headerSize = MemoryLayout<nlmsghdr>.size
        var offset = 0
        while offset + headerSize <= data.count {
            let header = data.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self)
            let length = Int(header.nlmsg_len)
            guard length >= headerSize, offset + length <= data.count else { return true }
            let payload = UnsafeRawBufferPointer(rebasing: data[(offset + headerSize)..<(offset + length)])
            switch Int32(header.nlmsg_type) {
            case NLMSG_DONE:
                return true
            case NLMSG_ERROR:
                let code = payload.count >= 4 ? payload.loadUnaligned(as: Int32.self) : -EIO
                if code != 0 { throw SyscallError("sock_diag dump", errno: .init(rawValue: -code)) }
            default:
                if header.nlmsg_seq == sequence { each(payload) }
            }
            offset += (length + 3) & ~3
        }
        return false
    }

    private func decodeConnection(_ payload: UnsafeRawBufferPointer) -> ConnectionSnapshot? {
        guard payload.count >= MemoryLayout<inet_diag_msg>.size else { return nil }
        var message = payload.loadUnaligned(as: inet_diag_msg.self)
        let family = UInt16(message.idiag_family)
        guard let state = TCPState(rawValue: message.idiag_state),
              let local = withUnsafeBytes(of: &message.id.idiag_src, { IPAddress(family: family, bytes: $0) }),
              let remote = withUnsafeBytes(of: &message.id.idiag_dst, { IPAddress(family: family, bytes: $0) })
        else { return nil }
        let cookie = UInt64(message.id.idiag_cookie.0) | UInt64(message.id.idiag_cookie.1) << 32
        return ConnectionSnapshot(
            cookie: cookie, state: state, inode: UInt64(message.idiag_inode),
            endpoints: Endpoints(localAddress: local, localPort: UInt16(bigEndian: message.id.idiag_sport),
                                 remoteAddress: remote, remotePort: UInt16(bigEndian: message.id.idiag_dport)))
    }

    private func decodeListenerOrRequest(_ payload: UnsafeRawBufferPointer, _ listeners: inout [ListenerSnapshot],
                                         _ requests: inout [RequestSnapshot]) {
        let messageSize = MemoryLayout<inet_diag_msg>.size
        guard payload.count >= messageSize else { return }
        var message = payload.loadUnaligned(as: inet_diag_msg.self)
        let family = UInt16(message.idiag_family)
        guard let address = withUnsafeBytes(of: &message.id.idiag_src, { IPAddress(family: family, bytes: $0) }) else { return }
        let local = ListenerAddress(netns: netns, address: address, port: UInt16(bigEndian: message.id.idiag_sport))
        if message.idiag_state == Self.tcpSynRecv {
            requests.append(RequestSnapshot(local: local))
            return
        }
        guard message.idiag_state == Self.tcpListen else { return }
        var drops: UInt32 = 0
        var cgroupID: UInt64 = 0
        var offset = messageSize
        // Attributes: rtattr {len, type} then data, each aligned to 4 bytes.
        while offset + 4 <= payload.count {
            let length = Int(payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
            guard length >= 4, offset + length <= payload.count else { break }
            if type == UInt16(INET_DIAG_SKMEMINFO), length >= 4 + 4 * (Self.skMemInfoDrops + 1) {
                drops = payload.loadUnaligned(fromByteOffset: offset + 4 + 4 * Self.skMemInfoDrops, as: UInt32.self)
            }
            // Sent unasked since 5.9 (older kernels: none, and the row names no workload).
            if type == UInt16(INET_DIAG_CGROUP_ID), length >= 4 + 8 {
                cgroupID = payload.loadUnaligned(fromByteOffset: offset + 4, as: UInt64.self)
            }
            offset += (length + 3) & ~3
        }
        let cookie = UInt64(message.id.idiag_cookie.0) | UInt64(message.id.idiag_cookie.1) << 32
        listeners.append(ListenerSnapshot(
            cookie: cookie, listener: local, acceptQueue: message.idiag_rqueue, backlog: message.idiag_wqueue,
            drops: drops, inode: UInt64(message.idiag_inode), uid: message.idiag_uid, cgroupID: cgroupID))
    }
}

/// One connection as sock_diag reports it.
struct ConnectionSnapshot {
    var cookie: UInt64
    var state: TCPState
    /// 0 once the owner closed its descriptor (the socket lingers in the kernel).
    var inode: UInt64
    var endpoints: Endpoints
}
