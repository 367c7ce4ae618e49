/// What `synwave tail` shows: every non-empty criterion must match (each one matches any of its values).
public struct EventFilter: Sendable, Equatable {
    /// Local or remote port.
    public var ports: Set<UInt16> = []
    /// Local or remote address; IPv4-mapped IPv6 matches its IPv4 form.
    public var addresses: Set<IPAddress> = []
    /// Network namespace inode.
    public var netns: Set<UInt32> = []
    /// Old or new state of a transition.
    public var states: Set<TCPState> = []

    public init(ports: Set<UInt16> = [], addresses: Set<IPAddress> = [], netns: Set<UInt32> = [],
                states: Set<TCPState> = []) {
        self.ports = ports
        self.addresses = Set(addresses.map(\.unmapped))
        self.netns = netns
        self.states = states
    }

    public var isEmpty: Bool { ports.isEmpty && addresses.isEmpty && netns.isEmpty && states.isEmpty }

    public func matches(_ event: StateEvent) -> Bool {
        if !netns.isEmpty, !netns.contains(event.netns) { return false }
        if !ports.isEmpty, !ports.contains(event.sourcePort), !ports.contains(event.destinationPort) {
            return false
        }
        if !states.isEmpty, !states.contains(event.oldState), !states.contains(event.newState) { return false }
        if !addresses.isEmpty,
           !addresses.contains(event.sourceAddress.unmapped),
           !addresses.contains(event.destinationAddress.unmapped) {
            return false
        }
        return true
    }
}
