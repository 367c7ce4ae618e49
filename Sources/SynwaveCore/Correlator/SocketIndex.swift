/// Finds a socket's machine: an open-addressing table (linear probing) of 4-byte slot numbers
/// into the correlator's dense machine array, whose machines hold the keys. A Dictionary of
/// identities would cost ~5× the memory per socket and a SipHash per event.
///
/// Every operation is handed the machines, whose identities are the keys the table does not store.
struct SocketIndex: Sendable {
    private static let empty: Int32 = -1
    private var buckets: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(minimumBuckets: Int = 1024) {
        var size = 16
        while size < minimumBuckets { size <<= 1 }
        buckets = Array(repeating: Self.empty, count: size)
        mask = size - 1
    }

    /// Cookies count up from 1 and addresses share their high bits: a multiplicative hash
    /// spreads both over the table.
    private func home(_ socket: SocketIdentity) -> Int {
        let mixed = (socket.value ^ (socket.kind == .cookie ? 0 : 0x9E37_79B9)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 32) & mask
    }

    /// The first bucket from the socket's home that holds `value` (a slot, or `empty`).
    private func bucket(from socket: SocketIdentity, holding value: Int32) -> Int {
        var bucket = home(socket)
        while buckets[bucket] != value { bucket = (bucket + 1) & mask }
        return bucket
    }

    func find(_ socket: SocketIdentity, _ machines: [SocketMachine]) -> Int32? {
        var bucket = home(socket)
        while true {
            let slot = buckets[bucket]
            if slot == Self.empty { return nil }
            if machines[Int(slot)].socket == socket { return slot }
            bucket = (bucket + 1) & mask
        }
    }

    /// Adds a socket that is not in the table yet.
    mutating func insert(_ socket: SocketIdentity, slot: Int32, _ machines: [SocketMachine]) {
        if (count + 1) * 2 > buckets.count { grow(machines) }
        buckets[bucket(from: socket, holding: Self.empty)] = slot
        count += 1
    }

    /// Points the socket's entry at the slot its machine moved to.
    mutating func move(_ socket: SocketIdentity, from old: Int32, to new: Int32) {
        buckets[bucket(from: socket, holding: old)] = new
    }

    /// Removes the socket's entry (every other entry's machine still in place). Backward
    /// shift instead of tombstones: later entries of the same run move up, so lookups stay short.
    mutating func remove(_ socket: SocketIdentity, slot: Int32, _ machines: [SocketMachine]) {
        var hole = bucket(from: socket, holding: slot)
        var next = (hole + 1) & mask
        while buckets[next] != Self.empty {
            let wanted = home(machines[Int(buckets[next])].socket)
            // The entry may fill the hole unless its home lies cyclically in (hole, next].
            let fromHome = (next - wanted) & mask
            let fromHole = (next - hole) & mask
            if fromHome >= fromHole {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = Self.empty
        count -= 1
    }

    /// Removes the machine at `slot` from the array and the table: the last machine moves
    /// into its place, so the array stays dense.
    mutating func remove(slot: Int, from machines: inout [SocketMachine]) {
        let last = machines.count - 1
        remove(machines[slot].socket, slot: Int32(slot), machines)
        if slot != last {
            move(machines[last].socket, from: Int32(last), to: Int32(slot))
            machines.swapAt(slot, last)
        }
        machines.removeLast()
    }

    private mutating func grow(_ machines: [SocketMachine]) {
        let old = buckets
        buckets = Array(repeating: Self.empty, count: old.count * 2)
        mask = buckets.count - 1
        for slot in old where slot != Self.empty {
            buckets[bucket(from: machines[Int(slot)].socket, holding: Self.empty)] = slot
        }
    }
}
