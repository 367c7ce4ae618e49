/// Puts events read from the per-CPU rings back in time order.
///
/// Each CPU's ring holds its events in the order they were reserved, but a drain reads the
/// rings one after another: the events of a socket that moved between CPUs (a connect() on
/// one, the SYN-ACK's softirq on the other) would otherwise reach the correlator out of order.
/// So each drain's events are staged per ring, merged by timestamp with those held from earlier
/// drains, and only those at or before a cutoff are released: a record reserved before the
/// drain can still be uncommitted while it runs (its program was interrupted), and is read by a
/// later drain. The rest are held, in order, for the next one.
///
/// Every event is copied once per merge, and stamps are kept beside the events: reading an
/// event's stamp through its enum costs more than the comparison.
public struct TimeOrder: Sendable {
    /// A sequence in stamp order (or ring order): events with their stamps alongside.
    @usableFromInline struct Run: Sendable {
        @usableFromInline var events: [KernelEvent] = []
        @usableFromInline var stamps: [UInt64] = []

        @usableFromInline init() {}
    }

    /// Index 0: the events held from earlier drains; then one run per ring for this drain.
    @usableFromInline var runs: [Run]

    public init(rings: Int) {
        runs = Array(repeating: Run(), count: 1 + max(1, rings))
    }

    /// Events held from earlier drains, in order.
    public var held: [KernelEvent] { runs[0].events }

    /// Appends to ring `ring`'s run through `body` (the decoder's output). Inlinable: the ring
    /// reader calls it per record, and unspecialized it looks up `R`'s metadata each time.
    @inlinable
    public mutating func append<R>(toRing ring: Int, _ body: (inout [KernelEvent]) -> R) -> R {
        let result = body(&runs[1 + ring].events)
        // In place: a copy of the run would share its arrays and make each append copy them.
        while runs[1 + ring].stamps.count < runs[1 + ring].events.count {
            runs[1 + ring].stamps.append(runs[1 + ring].events[runs[1 + ring].stamps.count].timestampNs)
        }
        return result
    }

    /// Removes and returns, in timestamp order, the staged and held events stamped at or before
    /// `cutoffNs`; the later ones are held. Events with equal stamps keep their ring order.
    public mutating func take(upTo cutoffNs: UInt64) -> [KernelEvent] {
        let total = runs.reduce(0) { $0 + $1.events.count }
        var released: [KernelEvent] = []
        released.reserveCapacity(total)
        var held = Run()
        var next = [Int](repeating: 0, count: runs.count)
        // The sources still open; a run's stamps can dip (a nested softirq's event stamped just
        // before the one it interrupted), so the merge is by heads, and past the first event
        // beyond the cutoff everything is held.
        var open = runs.indices.filter { !runs[$0].events.isEmpty }
        var cut = false
        while !open.isEmpty {
            var best = 0
            for candidate in 1..<open.count {
                let (s, b) = (open[candidate], open[best])
                if runs[s].stamps[next[s]] < runs[b].stamps[next[b]] { best = candidate }
            }
            let source = open[best]
            let index = next[source]
            let stamp = runs[source].stamps[index]
            if !cut, stamp > cutoffNs { cut = true }
            if cut {
                held.events.append(runs[source].events[index])
                held.stamps.append(stamp)
            } else {
                released.append(runs[source].events[index])
            }
            next[source] = index + 1
            if next[source] == runs[source].events.count { open.remove(at: best) }
        }
        runs[0] = held
        for source in 1..<runs.count {
            runs[source].events.removeAll(keepingCapacity: true)
            runs[source].stamps.removeAll(keepingCapacity: true)
        }
        return released
    }
}
