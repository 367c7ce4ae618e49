/// The last `capacity` keys added, with their values: adding past it forgets the oldest. For
/// joining things that arrive close together (a connection's two ends) without keeping all.
public struct RecentlyKept<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public let capacity: Int
    /// Each value with the serial of the add that set it, so that a ring slot left by an older
    /// add of the same key does not forget a newer one.
    private var values: [Key: (value: Value, serial: UInt64)] = [:]
    private var order: [(key: Key, serial: UInt64)] = []
    private var next = 0
    private var serial: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public subscript(key: Key) -> Value? { values[key]?.value }

    /// Adds or replaces (a replaced key counts as just added).
    public mutating func add(_ value: Value, for key: Key) {
        serial &+= 1
        values[key] = (value, serial)
        if order.count < capacity {
            order.append((key, serial))
        } else {
            let oldest = order[next]
            if values[oldest.key]?.serial == oldest.serial { values[oldest.key] = nil }
            order[next] = (key, serial)
            next = (next + 1) % capacity
        }
    }

    @discardableResult
    public mutating func remove(_ key: Key) -> Value? { values.removeValue(forKey: key)?.value }
}
