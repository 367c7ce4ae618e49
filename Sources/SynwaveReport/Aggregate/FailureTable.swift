import SynwaveCore

/// Failed connections (every end but `closed`) counted by a key: a peer or a local service.
public struct FailureTable: Sendable {
    public struct Row: Sendable {
        public var key: String
        public var total = 0
        public var byEnd: [ConnectionEnd: Int] = [:]
    }

    public private(set) var rows: [String: Row] = [:]
    /// Past this many keys, new ones are counted together as "others" (a scan of many ports
    /// must not grow the table without bound).
    let limit: Int
    public private(set) var others = Row(key: "others")

    public init(limit: Int = 10_000) { self.limit = limit }

    mutating func count(_ key: String, _ end: ConnectionEnd) {
        if rows[key] == nil, rows.count >= limit {
            others.total += 1
            others.byEnd[end, default: 0] += 1
            return
        }
        rows[key, default: Row(key: key)].total += 1
        rows[key, default: Row(key: key)].byEnd[end, default: 0] += 1
    }

    public func top(_ n: Int) -> [Row] {
        Array(rows.values.sorted { ($0.total, $1.key) > ($1.total, $0.key) }.prefix(n))
    }
}

/// What the event log's records say: counts by end, and failures by peer and by local service.
public struct RecordSummary: Sendable {
    public var byEnd: [ConnectionEnd: Int] = [:]
    /// The remote end: a client's server (address:port), a server's client (address).
    public var peers = FailureTable()
    /// This host's end: a server's address:port and program, a client's program.
    public var services = FailureTable()
    public var worst = WorstConnections()

    public init() {}

    public mutating func add(_ r: ConnectionRecord) {
        byEnd[r.end, default: 0] += 1
        worst.add(r)
        guard r.end != .closed else { return }
        let comm = r.comm.isEmpty ? "?" : r.comm.description
        if let e = r.endpoints {
            switch r.role {
            case .client:
                peers.count(Ladder.End.endpoint(e.remoteAddress, e.remotePort), r.end)
                services.count("\(comm) (client)", r.end)
            case .server:
                peers.count(e.remoteAddress.unmapped.description, r.end)
                services.count("\(Ladder.End.endpoint(e.localAddress, e.localPort)) \(comm)", r.end)
            }
        } else {
            peers.count("?", r.end)
            services.count("\(comm) (\(r.role.rawValue))", r.end)
        }
    }

    public var failed: Int { byEnd.filter { $0.key != .closed }.values.reduce(0, +) }
}
