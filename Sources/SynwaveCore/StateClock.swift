/// Remembers when each socket last changed state, to tell how long it spent in the old state.
/// Pure and bounded: a socket is forgotten at CLOSE, and when more than `capacity` sockets are
/// open (their CLOSE was lost or filtered out) the oldest half is dropped and counted.
public struct StateClock: Sendable {
    public let capacity: Int
    public private(set) var forgotten: UInt64 = 0
    private var lastChange: [SocketIdentity: UInt64] = [:]

    public init(capacity: Int = 262_144) {
        self.capacity = max(2, capacity)
    }

    public var tracked: Int { lastChange.count }

    /// Records `event` and returns the nanoseconds spent in its old state, when known.
    public mutating func record(_ event: StateEvent) -> UInt64? {
        let previous = lastChange[event.socket]
        if event.newState == .close {
            lastChange[event.socket] = nil
        } else {
            if previous == nil, lastChange.count >= capacity { evictOldestHalf() }
            lastChange[event.socket] = event.timestampNs
        }
        guard let previous, event.timestampNs >= previous else { return nil }
        return event.timestampNs - previous
    }

    private mutating func evictOldestHalf() {
        let cutoff = lastChange.values.sorted()[lastChange.count / 2]
        let before = lastChange.count
        lastChange = lastChange.filter { $0.value > cutoff }
        forgotten += UInt64(before - lastChange.count)
    }
}
