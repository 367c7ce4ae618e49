/// A connection that was already open when tracing started, from a sock_diag snapshot (whose
/// cookie is the same socket cookie the BPF programs report). Its record says it was first
/// seen mid-life.
public struct ExistingConnection: Equatable, Sendable {
    public var cookie: UInt64
    public var netns: UInt32
    public var state: TCPState
    public var endpoints: Endpoints
    /// A listener of the namespace has the local port: the connection was accepted.
    public var isServer: Bool
    public var owner: SocketOwner?

    public init(cookie: UInt64, netns: UInt32, state: TCPState, endpoints: Endpoints, isServer: Bool,
                owner: SocketOwner?) {
        self.cookie = cookie
        self.netns = netns
        self.state = state
        self.endpoints = endpoints
        self.isServer = isServer
        self.owner = owner
    }

    public var socket: SocketIdentity { SocketIdentity(kind: .cookie, value: cookie) }
}
