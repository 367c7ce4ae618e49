/// What `synwave tail` shows: every non-empty criterion must match (each one matches any of its values).
public struct EventFilter: Sendable, Equatable {
    /// Local or remote port.
    public var ports: Set<UInt16> = []
    /// Local or remote address; IPv4-mapped IPv6 matches its IPv4 form.
    public var addresses: Set<IPAddress> = []
    /// Network namespace inode.
    public var netns: Set<UInt32> = []
    /// Old or new state of a transition; for records, any state the connection passed through.
    public var states: Set<TCPState> = []
    /// How a connection ended (records only).
    public var ends: Set<ConnectionEnd> = []
    /// The workload (docs/workloads.md): every non-empty one of these must match.
    public var workloads = WorkloadFilter()

    public init(ports: Set<UInt16> = [], addresses: Set<IPAddress> = [], netns: Set<UInt32> = [],
                states: Set<TCPState> = [], ends: Set<ConnectionEnd> = [], workloads: WorkloadFilter = WorkloadFilter()) {
        self.ports = ports
        self.addresses = Set(addresses.map(\.unmapped))
        self.netns = netns
        self.states = states
        self.ends = ends
        self.workloads = workloads
    }

    public var isEmpty: Bool {
        ports.isEmpty && addresses.isEmpty && netns.isEmpty && states.isEmpty && ends.isEmpty && workloads.isEmpty
    }

    /// Whether a workload filter is set: then what names no workload is not shown.
    public var namesWorkloads: Bool { !workloads.isEmpty }

    public func matches(_ record: ConnectionRecord) -> Bool {
        if !ends.isEmpty, !ends.contains(record.end) { return false }
        if !states.isEmpty, !record.states.contains(where: { states.contains($0.state) }) { return false }
        if namesWorkloads, !workloads.matches(record.workload) { return false }
        return matches(netns: record.netns, endpoints: record.endpoints)
    }

    /// Retransmit, reset, socket and listener events: by namespace and tuple (`--state` and `--end` do not apply).
    /// Of these only listener events carry a cgroup (`workload` is the one it names): with a
    /// workload filter the others are not shown.
    public func matches(_ event: KernelEvent, workload: Workload? = nil) -> Bool {
        if namesWorkloads {
            guard case .listener = event, workloads.matches(workload) else { return false }
        }
        return switch event {
        case .state(let e): matches(e)
        case .retransmit(let e): matches(netns: e.netns, endpoints: e.endpoints)
        case .reset(let e): matches(netns: e.netns, endpoints: e.endpoints)
        case .socket(let e): matches(netns: e.netns, endpoints: e.endpoints)
        case .connection(let c): matches(netns: c.netns, endpoints: c.endpoints)
        case .listener(let e): matches(netns: e.listener.netns, endpoints: Endpoints(
            localAddress: e.listener.address, localPort: e.listener.port,
            remoteAddress: e.listener.address, remotePort: e.listener.port))
        case .cgroup: false // never shown
        }
    }

    private func matches(netns inode: UInt32, endpoints: Endpoints?) -> Bool {
        if !netns.isEmpty, !netns.contains(inode) { return false }
        guard !ports.isEmpty || !addresses.isEmpty else { return true }
        guard let e = endpoints else { return false }
        if !ports.isEmpty, !ports.contains(e.localPort), !ports.contains(e.remotePort) { return false }
        if !addresses.isEmpty, !addresses.contains(e.localAddress.unmapped), !addresses.contains(e.remoteAddress.unmapped) {
            return false
        }
        return true
    }

    /// A state event, with the workload its cgroup names (needed only when `namesWorkloads`).
    public func matches(_ event: StateEvent, workload: Workload? = nil) -> Bool {
        if namesWorkloads, !workloads.matches(workload) { return false }
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
