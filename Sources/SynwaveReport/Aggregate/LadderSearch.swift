import SynwaveCore

/// The connections `synwave ladder` draws: one socket by cookie, or connections to a service
/// (a client's remote end, a server's local end), each with its other end when it is on this host.
public struct LadderSearch: Sendable {
    public enum Target: Sendable, Equatable {
        case cookie(UInt64)
        /// Any address when nil.
        case service(IPAddress?, UInt16)
    }

    public let target: Target
    public let all: Bool
    /// In log order: each connection's records (one or both ends).
    public private(set) var found: [[ConnectionRecord]] = []
    private var recent = RecentRecords()

    public init(_ target: Target, all: Bool) {
        self.target = target
        self.all = all
    }

    public mutating func add(_ r: ConnectionRecord) {
        defer { recent.remember(r) }
        if found.join(r) { return }
        guard matches(r) else { return }
        let connection = [r] + (recent.partner(of: r).map { [$0] } ?? [])
        if all || found.isEmpty { found.append(connection) } else { found[found.count - 1] = connection }
    }

    /// A record that may be the other end of the one found by cookie (read in a second pass).
    public mutating func addOtherEnd(_ r: ConnectionRecord) {
        guard case .cookie(let cookie) = target, r.socket.value != cookie else { return }
        _ = found.join(r)
    }

    /// What a record's line holds when one of its ports is `port`.
    public static func portKeys(_ port: UInt16) -> [[UInt8]] {
        [Array("\"sport\":\(port),".utf8), Array("\"dport\":\(port),".utf8)]
    }

    /// The most recent match, or with `all` every one.
    public var connections: [[ConnectionRecord]] { all ? found : Array(found.suffix(1)) }

    func matches(_ r: ConnectionRecord) -> Bool {
        switch target {
        case .cookie(let cookie):
            return r.socket.value == cookie
        case .service(let address, let port):
            guard let e = r.endpoints else { return false }
            let (serviceAddress, servicePort) = r.role == .client ? (e.remoteAddress, e.remotePort) : (e.localAddress, e.localPort)
            return servicePort == port && (address.map { $0.unmapped == serviceAddress.unmapped } ?? true)
        }
    }

    /// `COOKIE` (digits), `ADDR:PORT`, `[IPv6]:PORT`, or `:PORT` / `*:PORT` for any address.
    public static func target(parsing text: String) -> Target? {
        if let cookie = UInt64(text) { return .cookie(cookie) }
        for anyAddress in [":", "*:"] where text.hasPrefix(anyAddress) {
            guard let port = UInt16(text.dropFirst(anyAddress.count)), port > 0 else { return nil }
            return .service(nil, port)
        }
        // The same rules as metrics_listen: brackets exactly around IPv6.
        guard let service = ListenAddress(parsing: text) else { return nil }
        return .service(service.ip, service.port)
    }
}
