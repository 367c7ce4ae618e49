/// An IP address and a port (`127.0.0.1:9086`, `[::1]:9086`): where the daemon serves `/metrics`,
/// and the service `synwave ladder` looks for.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    /// Outside 9100-9999 (every port there is in Prometheus's default-port allocations) and
    /// 9090-9094 (Prometheus, Pushgateway, Alertmanager); not in /etc/services either.
    public static let defaultPort: UInt16 = 9086
    public static let loopbackDefault = ListenAddress(IPAddress(parsing: "127.0.0.1")!, port: defaultPort)

    public init(_ ip: IPAddress, port: UInt16) {
        self.ip = ip
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
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        // Brackets exactly around IPv6: "[127.0.0.1]:80" and "::1:80" are refused.
        guard let ip = IPAddress(parsing: String(host)), ip.isIPv6 == text.hasPrefix("["),
              portText.allSatisfy(\.isASCII), let port = UInt16(portText), port > 0 else { return nil }
        self.init(ip, port: port)
    }

    /// The address as text, as the HTTP server binds it.
    public var host: String { ip.description }

    public var description: String { ip.isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
