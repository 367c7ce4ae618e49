/// Small bounded tables the correlator keeps beside its sockets.

/// Listener owners by (netns, port), recorded at CLOSE->LISTEN (syscall context, so the
/// right task): a server child's transitions happen in softirq, where the task is not its owner.
struct ListenerOwners: Sendable {
    private struct Key: Hashable { var netns: UInt32; var port: UInt16 }
    private var owners: [Key: (pid: UInt32, comm: TaskName)] = [:]
    private let capacity = 65_536

    mutating func opened(_ event: StateEvent) {
        guard owners.count < capacity || owners[Key(netns: event.netns, port: event.sourcePort)] != nil else { return }
        owners[Key(netns: event.netns, port: event.sourcePort)] = (event.tgid, event.comm)
    }

    mutating func closed(_ event: StateEvent) {
        owners[Key(netns: event.netns, port: event.sourcePort)] = nil
    }

    func owner(netns: UInt32, port: UInt16) -> (pid: UInt32, comm: TaskName)? {
        owners[Key(netns: netns, port: port)]
    }
}

/// SYN-ACK retransmits of requests whose child socket does not exist yet, claimed by the
/// child at LISTEN->SYN_RECV. Requests that never complete are forgotten when the table fills.
struct PendingSynacks: Sendable {
    private struct Key: Hashable {
        var netns: UInt32
        var localPort: UInt16
        var remoteAddress: IPAddress
        var remotePort: UInt16
    }
    private var counts: [Key: UInt16] = [:]
    private let capacity = 16_384

    mutating func add(netns: UInt32, _ tuple: Endpoints) {
        if counts.count >= capacity { counts.removeAll(keepingCapacity: true) }
        counts[Key(netns: netns, localPort: tuple.localPort, remoteAddress: tuple.remoteAddress,
                   remotePort: tuple.remotePort), default: 0] &+= 1
    }

    mutating func take(netns: UInt32, _ tuple: Endpoints) -> UInt16? {
        guard !counts.isEmpty else { return nil }
        return counts.removeValue(forKey: Key(netns: netns, localPort: tuple.localPort,
                                              remoteAddress: tuple.remoteAddress, remotePort: tuple.remotePort))
    }
}

/// Resets sent by listeners in the last second: a client on this host that receives one
/// was reset by a server that never accepted it (the accept queue overflowed with
/// tcp_abort_on_overflow). Matched by tuple only: client and server can be in different namespaces.
struct RecentListenerResets: Sendable {
    private var entries: [(tuple: Endpoints, ns: UInt64)] = []
    private var next = 0
    private let capacity = 256
    private let windowNs: UInt64 = 1_000_000_000

    mutating func add(_ tuple: Endpoints, atNs ns: UInt64) {
        if entries.count < capacity {
            entries.append((tuple, ns))
        } else {
            entries[next] = (tuple, ns)
            next = (next + 1) % capacity
        }
    }

    /// Whether a listener reset `tuple`'s connection: its local end is that reset's remote end.
    func contains(peerOf tuple: Endpoints, nearNs ns: UInt64) -> Bool {
        let peer = tuple.mirrored.unmapped
        return entries.contains { entry in
            entry.tuple.unmapped == peer && (ns >= entry.ns ? ns - entry.ns : entry.ns - ns) <= windowNs
        }
    }
}

/// Recently finished sockets and when each ended, so that their late events (a destroy long
/// after CLOSE, a duplicate, an opening transition that arrives after its own record) do not
/// start a bogus record, or count a second open. Every new connection's first event is looked
/// up here, so it is a direct-mapped table (multiply-shift on the cookie, no hashing of the
/// identity): a newer socket landing on the same slot forgets the older one, as a ring would.
struct RecentlyFinished: Sendable {
    /// A socket's identity value (cookies are small counters, kernel addresses are above
    /// 0xffff800000000000: the value alone tells them apart) and when it ended; 0: empty.
    private struct Entry {
        var value: UInt64 = 0
        var endNs: UInt64 = 0
    }

    private static let slotBits = 12
    private var entries = [Entry](repeating: Entry(), count: 1 << slotBits)

    /// A socket whose record was written, and when its connection ended.
    mutating func add(_ socket: SocketIdentity, endNs: UInt64) {
        entries[Self.slot(socket)] = Entry(value: socket.value, endNs: endNs)
    }

    /// When the socket's last recorded connection ended, if it is still remembered.
    func endNs(of socket: SocketIdentity) -> UInt64? {
        let entry = entries[Self.slot(socket)]
        return entry.value == socket.value && entry.value != 0 ? entry.endNs : nil
    }

    private static func slot(_ socket: SocketIdentity) -> Int {
        Int(truncatingIfNeeded: (socket.value &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - slotBits))
    }
}
