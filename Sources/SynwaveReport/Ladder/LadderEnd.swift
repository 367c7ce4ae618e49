import SynwaveCore

extension Ladder.End {
    init(traced r: ConnectionRecord) {
        role = r.role
        remote = false
        endpoint = r.endpoints.map { Self.endpoint($0.localAddress, $0.localPort) } ?? "?"
        var owner = r.pid == 0 ? nil : "pid \(r.pid)"
        if !r.comm.isEmpty { owner = (owner.map { $0 + " " } ?? "") + r.comm.description }
        if r.ownerInferred, owner != nil { owner! += " (listener's)" }
        self.owner = owner
        cookie = r.socket.value
    }

    init(remoteOf r: ConnectionRecord, role: ConnectionRole) {
        self.role = role
        remote = true
        endpoint = r.endpoints.map { Self.endpoint($0.remoteAddress, $0.remotePort) } ?? "?"
        owner = nil
        cookie = nil
    }

    static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        var bytes: [UInt8] = []
        address.unmapped.appendEndpoint(port: port, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public var title: String { "\(role.rawValue)\(remote ? " (remote)" : "") \(endpoint)" }
}
