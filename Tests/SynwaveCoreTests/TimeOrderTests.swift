import Testing
@testable import SynwaveCore

/// The per-CPU rings' merge: events staged ring by ring come out in time order, and those past
/// the cutoff wait for the next drain.
struct TimeOrderTests {
    /// A state change stamped `ns`, named by its socket value.
    private func event(_ ns: UInt64, _ name: UInt64) -> KernelEvent {
        .state(StateEvent(timestampNs: ns, socket: SocketIdentity(kind: .cookie, value: name), netns: 1, tgid: 1, tid: 1,
                          comm: "app", family: 2, oldState: .established, newState: .finWait1,
                          sourceAddress: IPAddress(parsing: "10.0.0.1")!, sourcePort: 1,
                          destinationAddress: IPAddress(parsing: "10.0.0.2")!, destinationPort: 2))
    }

    private func names(_ events: [KernelEvent]) -> [UInt64] {
        events.map { if case .state(let e) = $0 { e.socket.value } else { 0 } }
    }

    private func stage(_ order: inout TimeOrder, ring: Int, _ events: [KernelEvent]) {
        order.append(toRing: ring) { $0 += events }
    }

    @Test func interleavedRingsComeOutInTimeOrderUpToTheCutoff() {
        var order = TimeOrder(rings: 2)
        stage(&order, ring: 0, [event(10, 1), event(30, 3), event(50, 5)])
        stage(&order, ring: 1, [event(20, 2), event(40, 4), event(60, 6)])
        #expect(names(order.take(upTo: 40)) == [1, 2, 3, 4])
        #expect(names(order.held) == [5, 6])
    }

    @Test func aLaterDrainMergesWithWhatWasHeld() {
        var order = TimeOrder(rings: 2)
        stage(&order, ring: 0, [event(50, 5), event(60, 6)])
        #expect(order.take(upTo: 40).isEmpty)
        // The next drain reads an event committed late, stamped before the held ones.
        stage(&order, ring: 0, [event(70, 7)])
        stage(&order, ring: 1, [event(45, 4)])
        #expect(names(order.take(upTo: 65)) == [4, 5, 6])
        #expect(names(order.take(upTo: .max)) == [7])
        #expect(order.held.isEmpty)
    }

    @Test func equalStampsKeepTheirRingOrder() {
        var order = TimeOrder(rings: 3)
        stage(&order, ring: 0, [event(20, 1), event(20, 2)])
        stage(&order, ring: 1, [event(10, 0), event(20, 3)])
        stage(&order, ring: 2, [event(20, 4)])
        #expect(names(order.take(upTo: .max)) == [0, 1, 2, 3, 4])
    }

    @Test func manyRingsMergeLikeASort() {
        var order = TimeOrder(rings: 9)
        var all: [KernelEvent] = []
        for ring in 0..<9 {
            let run = (0..<UInt64(20)).map { event($0 * 9 * 7 % 101 + UInt64(ring) * 1000 % 37 + $0 * 50, UInt64(ring * 100) + $0) }
            stage(&order, ring: ring, run)
            all += run
        }
        let merged = order.take(upTo: .max)
        #expect(merged.count == all.count)
        #expect(zip(merged, merged.dropFirst()).allSatisfy { $0.timestampNs <= $1.timestampNs })
    }

    @Test func aNestedEventStampedEarlyKeepsItsRingOrder() {
        // A softirq interrupted a program between its reserve and its stamp: ring order 1, 2
        // with stamps 30, 25. Nothing is lost or duplicated, and the cut stops at the first late one.
        var order = TimeOrder(rings: 1)
        stage(&order, ring: 0, [event(10, 0), event(30, 1), event(25, 2), event(40, 3)])
        #expect(names(order.take(upTo: 28)) == [0])
        #expect(names(order.take(upTo: .max)) == [1, 2, 3])
    }

    @Test func nothingOldEnoughReleasesNothing() {
        var order = TimeOrder(rings: 2)
        stage(&order, ring: 1, [event(90, 0)])
        stage(&order, ring: 0, [event(100, 1)])
        #expect(order.take(upTo: 50).isEmpty)
        #expect(names(order.held) == [0, 1])
    }

    /// A connection whose events were split over two rings gives the same record as in order.
    @Test func aConnectionSplitOverTwoRingsCorrelatesAsInOrder() {
        let socket = SocketIdentity(kind: .cookie, value: 9)
        func step(_ us: UInt64, _ old: TCPState, _ new: TCPState) -> KernelEvent {
            .state(StateEvent(timestampNs: us * 1000, socket: socket, netns: 1, tgid: 7, tid: 7, comm: "app", family: 2,
                              oldState: old, newState: new, sourceAddress: IPAddress(parsing: "10.0.0.1")!, sourcePort: 40000,
                              destinationAddress: IPAddress(parsing: "10.0.0.2")!, destinationPort: 80))
        }
        let inOrder = [step(1, .close, .synSent), step(5, .synSent, .established), step(9, .established, .finWait1),
                       step(12, .finWait1, .finWait2), step(15, .finWait2, .close)]
        // The syscall-driven steps ran on one CPU, the softirq ones on the other.
        var order = TimeOrder(rings: 2)
        stage(&order, ring: 0, [inOrder[0], inOrder[2]])
        stage(&order, ring: 1, [inOrder[1], inOrder[3], inOrder[4]])
        let merged = order.take(upTo: .max)
        #expect(merged == inOrder)

        func records(_ events: [KernelEvent]) -> [ConnectionRecord] {
            var correlator = Correlator()
            var out: [ConnectionRecord] = []
            for e in events { correlator.process(e, into: &out) }
            correlator.finishClosing(into: &out)
            return out
        }
        #expect(records(merged) == records(inOrder))
        #expect(records(merged).count == 1)
    }
}
