import SynwaveCore

/// Joining a connection's two ends from a stream of records. Only the last `kept` records are
/// remembered: both ends' records are written close together.
struct RecentRecords: Sendable {
    /// Mirrored tuples, one client and one server, and lives that overlap on the host's one
    /// clock: a busy client reuses its ports within seconds. A server's socket exists only once
    /// its client has sent the final ACK, so that client reached ESTABLISHED.
    static func partners(_ a: ConnectionRecord, _ b: ConnectionRecord) -> Bool {
        guard a.role != b.role, let ea = a.endpoints, let eb = b.endpoints, ea.unmapped == eb.mirrored.unmapped else { return false }
        let client = a.role == .client ? a : b
        guard client.states.contains(where: { $0.state == .established }) else { return false }
        return a.startNs <= b.endNs && b.startNs <= a.endNs
    }

    private var byTuple: RecentlyKept<Endpoints, ConnectionRecord>

    init(kept: Int = 4096) { byTuple = RecentlyKept(capacity: kept) }

    /// The other end of `r`, if it was among the last records seen.
    func partner(of r: ConnectionRecord) -> ConnectionRecord? {
        guard let ends = r.endpoints, let other = byTuple[ends.mirrored.unmapped], Self.partners(other, r) else { return nil }
        return other
    }

    mutating func remember(_ r: ConnectionRecord) {
        if let ends = r.endpoints { byTuple.add(r, for: ends.unmapped) }
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
