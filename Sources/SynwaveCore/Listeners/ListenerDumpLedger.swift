/// What the reader of the BPF listener iterator remembers between dumps, to know when a dump
/// of changes is enough. Such a dump lists the listeners that are new or whose counters moved,
/// and ends with how many it visited; it cannot list the ones that are gone. Every visited
/// listener is either known from earlier dumps or listed as new, so the visited count equals
/// the known count exactly when none is gone; otherwise a full dump must follow.
public struct ListenerDumpLedger: Sendable {
    private var known: Set<UInt64> = []
    /// The next dump must list every listener: the first one, after a mismatch, or when a
    /// namespace was (re)marked (a namespace watched again has listeners marked long ago).
    public var needsFullDump = true

    public init() {}

    /// Takes a dump's listener cookies and its end record's count (nil: no end record).
    /// Returns whether the dump can be used: a full one that says how many it visited, or one
    /// of changes that lost track of nothing.
    public mutating func take(cookies: [UInt64], visited: UInt32?, full: Bool) -> Bool {
        guard let visited else {
            needsFullDump = true
            return false
        }
        if full { known = Set(cookies) } else { known.formUnion(cookies) }
        needsFullDump = known.count != Int(visited)
        return !needsFullDump
    }
}
