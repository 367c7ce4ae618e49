import Testing
@testable import SynwaveCore

/// The correlator's hand-made hash table, against a Set of what was inserted, through inserts, swap-removes
/// and growth; cookies and socket addresses mixed so both kinds collide and wrap around.
@Suite struct SocketIndexTests {
    private static func machine(_ socket: SocketIdentity) -> SocketMachine {
        let address = IPAddress(parsing: "10.0.0.1")!
        return SocketMachine(first: StateEvent(
            timestampNs: 1, socket: socket, netns: 1, tgid: 1, tid: 1, comm: "t", family: 2, oldState: .close,
            newState: .synSent, sourceAddress: address, sourcePort: 0, destinationAddress: address,
            destinationPort: 80, error: 0, totals: nil), owner: nil)
    }

    private struct Table {
        var machines: [SocketMachine] = []
        var index = SocketIndex(minimumBuckets: 16)

        mutating func insert(_ socket: SocketIdentity) {
            index.insert(socket, slot: Int32(machines.count), machines)
            machines.append(SocketIndexTests.machine(socket))
        }

        mutating func remove(slot: Int) {
            index.remove(slot: slot, from: &machines)
        }
    }

    @Test func agreesWithASetThroughChurn() {
        var generator = SystemRandomNumberGenerator()
        var table = Table()
        var present: Set<SocketIdentity> = []
        var retired: [SocketIdentity] = []
        for step in 0..<20_000 {
            if present.isEmpty || (present.count < 3_000 && Int.random(in: 0..<3, using: &generator) > 0) {
                let socket = step % 2 == 0
                    ? SocketIdentity(kind: .cookie, value: UInt64(step + 1))
                    : SocketIdentity(kind: .skAddr, value: 0xffff_8880_0000_0000 + UInt64(step) * 2048)
                table.insert(socket)
                present.insert(socket)
            } else {
                let slot = Int.random(in: 0..<table.machines.count, using: &generator)
                let socket = table.machines[slot].socket
                table.remove(slot: slot)
                present.remove(socket)
                retired.append(socket)
            }
        }
        #expect(table.index.count == present.count)
        for socket in present {
            guard let slot = table.index.find(socket, table.machines) else {
                Issue.record("\(socket) lost")
                return
            }
            #expect(table.machines[Int(slot)].socket == socket)
        }
        for socket in retired.suffix(2_000) where !present.contains(socket) {
            #expect(table.index.find(socket, table.machines) == nil)
        }
    }

    /// Same value, other kind: a different socket.
    @Test func kindIsPartOfTheKey() {
        var table = Table()
        table.insert(SocketIdentity(kind: .cookie, value: 5))
        #expect(table.index.find(SocketIdentity(kind: .skAddr, value: 5), table.machines) == nil)
        #expect(table.index.find(SocketIdentity(kind: .cookie, value: 5), table.machines) == 0)
    }
}
