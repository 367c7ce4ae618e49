/// Where the daemon serves `/metrics`: an IP literal and a port (`127.0.0.1:9086`, `[::1]:9086`).
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    /// Outside 9100-9999 (every port there is in Prometheus's default-port allocations) and
    /// 9090-9094 (Prometheus, Pushgateway, Alertmanager); not in /etc/services either.
    public static let defaultPort: UInt16 = 9086
    public static let loopbackDefault = ListenAddress(host: "127.0.0.1", port: defaultPort)

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT` with an IPv4 literal, or `[HOST]:PORT` with an IPv6 one.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, IPAddress(parsing: String(host)) != nil,
              portText.allSatisfy(\.isASCII), let port = UInt16(portText), port > 0 else { return nil }
        self.init(host: String(host), port: port)
    }

    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
