import SynwaveCore

/// Where the ring reader's records land: decoded and staged in time order, and counted.
///
/// libbpf calls into it once per kernel event, so its state sits behind a pointer it owns:
/// a class's stored properties would cost a dynamic exclusivity check per access, and a
/// closure in between a retain and a release per record.
final class RecordIntake {
    private struct State {
        var staged: TimeOrder
        var received: UInt64 = 0
        var decodeErrors: UInt64 = 0
        var stateChanges: UInt64 = 0
    }

    private let state: UnsafeMutablePointer<State>

    init(rings: Int) {
        state = .allocate(capacity: 1)
        state.initialize(to: State(staged: TimeOrder(rings: rings)))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The staged events stamped at or before `cutoffNs`, in time order (`TimeOrder.take`).
    func release(upTo cutoffNs: UInt64) -> [KernelEvent] {
        state.pointee.staged.take(upTo: cutoffNs)
    }

    /// What was counted since the last call; the counts start again from zero.
    func takeCounts() -> (received: UInt64, decodeErrors: UInt64, stateChanges: UInt64) {
        defer {
            state.pointee.received = 0
            state.pointee.decodeErrors = 0
            state.pointee.stateChanges = 0
        }
        return (state.pointee.received, state.pointee.decodeErrors, state.pointee.stateChanges)
    }

    func handle(_ record: UnsafeRawBufferPointer, ring: Int) {
        state.pointee.received += 1
        let isState = state.pointee.staged.append(toRing: ring) { run -> Bool? in
            guard EventDecoder.decode(record, into: &run) == nil else { return nil }
            if case .state = run[run.count - 1] { return true }
            return false
        }
        switch isState {
        case nil: state.pointee.decodeErrors += 1
        case true?: state.pointee.stateChanges += 1
        case false?: break
        }
    }
}
