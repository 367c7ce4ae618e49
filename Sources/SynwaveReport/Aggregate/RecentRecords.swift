import SynwaveCore

/// Joining a connection's two ends from a stream of records. Only the last `kept` records are
/// remembered: both ends' records are written close together.
struct RecentRecords: Sendable {
    struct TupleKey: Hashable, Sendable {
        var local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16

        init?(_ r: ConnectionRecord, mirrored: Bool = false) {
            guard let e = r.endpoints else { return nil }
            let a = (e.localAddress.unmapped, e.localPort), b = (e.remoteAddress.unmapped, e.remotePort)
            ((local, localPort), (remote, remotePort)) = mirrored ? (b, a) : (a, b)
        }
    }

    /// Mirrored tuples, one client and one server, and lives that overlap on the host's one
    /// clock: a busy client reuses its ports within seconds. A server's socket exists only once
    /// its client has sent the final ACK, so that client reached ESTABLISHED.
    static func partners(_ a: ConnectionRecord, _ b: ConnectionRecord) -> Bool {
        guard a.role != b.role, let key = TupleKey(a), key == TupleKey(b, mirrored: true) else { return false }
        let client = a.role == .client ? a : b
        guard client.states.contains(where: { $0.state == .established }) else { return false }
        return a.startNs <= b.endNs && b.startNs <= a.endNs
    }

    let kept: Int
    private var byTuple: [TupleKey: ConnectionRecord] = [:]
    private var order: [TupleKey] = []
    private var next = 0

    init(kept: Int = 4096) { self.kept = kept }

    /// The other end of `r`, if it was among the last records seen.
    func partner(of r: ConnectionRecord) -> ConnectionRecord? {
        guard let mirror = TupleKey(r, mirrored: true), let other = byTuple[mirror], Self.partners(other, r) else { return nil }
        return other
    }

    mutating func remember(_ r: ConnectionRecord) {
        guard let key = TupleKey(r) else { return }
        if order.count < kept {
            order.append(key)
        } else {
            byTuple[order[next]] = nil
            order[next] = key
            next = (next + 1) % kept
        }
        byTuple[key] = r
    }
}

/// Each connection as one or both of its ends' records.
extension Array where Element == [ConnectionRecord] {
    /// Adds `r` to the entry holding its other end, among the last few; true if there was one.
    mutating func join(_ r: ConnectionRecord) -> Bool {
        guard let index = indices.suffix(256).last(where: { self[$0].count == 1 && RecentRecords.partners(self[$0][0], r) })
        else { return false }
        self[index].append(r)
        return true
    }
}
