import SynwaveCore

/// Records as the correlator writes them, for one connection's two ends on one host:
/// client 10.0.0.1:40000 -> server 10.0.0.2:80, times in µs.
enum Synthetic {
    static let clientAddress = IPAddress(parsing: "10.0.0.1")!, serverAddress = IPAddress(parsing: "10.0.0.2")!

    static func client(_ marks: [(TCPState, UInt64)], at startUs: UInt64 = 1_000_000, end: ConnectionEnd = .closed,
                       change: (inout ConnectionRecord) -> Void = { _ in }) -> ConnectionRecord {
        record(.client, cookie: 100, marks, startUs: startUs, end: end, change: change)
    }

    static func server(_ marks: [(TCPState, UInt64)], at startUs: UInt64 = 1_000_110, end: ConnectionEnd = .closed,
                       change: (inout ConnectionRecord) -> Void = { _ in }) -> ConnectionRecord {
        record(.server, cookie: 200, marks, startUs: startUs, end: end, change: change)
    }

    static func record(_ role: ConnectionRole, cookie: UInt64, _ marks: [(TCPState, UInt64)], startUs: UInt64,
                       end: ConnectionEnd, change: (inout ConnectionRecord) -> Void) -> ConnectionRecord {
        let ends = role == .client
            ? Endpoints(localAddress: clientAddress, localPort: 40000, remoteAddress: serverAddress, remotePort: 80)
            : Endpoints(localAddress: serverAddress, localPort: 80, remoteAddress: clientAddress, remotePort: 40000)
        var r = ConnectionRecord(
            socket: SocketIdentity(kind: .cookie, value: cookie), netns: 4026531840, role: role,
            pid: role == .client ? 7 : 9, comm: role == .client ? "curl" : "nginx", endpoints: ends,
            states: marks.map { .init(state: $0.0, offsetMicros: $0.1) }, startNs: startUs * 1000,
            endNs: (startUs + (marks.last?.1 ?? 0)) * 1000, bytesSent: 1001, bytesReceived: 501, end: end)
        for (index, mark) in marks.enumerated() where index > 0 {
            if mark.0 == .finWait1, r.closedFirst == nil { r.closedFirst = .local }
            if mark.0 == .closeWait, r.closedFirst == nil { r.closedFirst = .peer }
        }
        change(&r)
        return r
    }

    static let clientHandshake: [(TCPState, UInt64)] = [(.close, 0), (.synSent, 0), (.established, 100)]
    static let serverHandshake: [(TCPState, UInt64)] = [(.listen, 0), (.synRecv, 0), (.established, 1)]
}
