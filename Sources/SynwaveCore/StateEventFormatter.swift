#if canImport(Glibc)
import Glibc
#endif

/// Renders state transitions as aligned text columns or JSON lines.
public struct StateEventFormatter: Sendable {
    /// CLOCK_REALTIME minus CLOCK_BOOTTIME, in ns: turns event timestamps into wall-clock time.
    public var bootToWallOffsetNs: Int64
    public var useUTC: Bool

    public init(bootToWallOffsetNs: Int64, useUTC: Bool = false) {
        self.bootToWallOffsetNs = bootToWallOffsetNs
        self.useUTC = useUTC
    }

    static let columns: [(title: String, width: Int)] = [
        ("TIME", 12), ("PID", 7), ("COMM", 15), ("LOCAL", 21), ("", 2), ("REMOTE", 21), ("TRANSITION", 26),
    ]

    public var header: String {
        var line = ""
        for (title, width) in Self.columns { line += Self.pad(title, width) + " " }
        return line + "MS"
    }

    /// One aligned line; `oldStateNs` is the time spent in the old state, when known.
    public func text(_ e: StateEvent, oldStateNs: UInt64?) -> String {
        let values = [
            clockTime(e.timestampNs), String(e.tgid), e.comm,
            e.sourceAddress.unmapped.endpoint(port: e.sourcePort), "->",
            e.destinationAddress.unmapped.endpoint(port: e.destinationPort),
            "\(e.oldState.name) -> \(e.newState.name)",
        ]
        var line = ""
        for (value, column) in zip(values, Self.columns) { line += Self.pad(value, column.width) + " " }
        return line + (oldStateNs.map { Self.milliseconds($0) } ?? "-")
    }

    /// One JSON object (`type:"state"`).
    public func json(_ e: StateEvent, oldStateNs: UInt64?) -> String {
        var o = JSONLine()
        o.field("type", "state")
        o.field("ts_ns", e.timestampNs)
        o.field("time", isoTime(e.timestampNs))
        o.field("cookie", e.socket.value)
        o.field("identity", e.socket.kind.rawValue)
        o.field("netns", e.netns)
        o.field("pid", e.tgid)
        o.field("tid", e.tid)
        o.field("comm", e.comm)
        o.field("family", e.family == IPAddress.familyIPv6 ? "inet6" : "inet")
        o.field("saddr", e.sourceAddress.description)
        o.field("sport", e.sourcePort)
        o.field("daddr", e.destinationAddress.description)
        o.field("dport", e.destinationPort)
        o.field("old", e.oldState.name)
        o.field("new", e.newState.name)
        if let oldStateNs { o.field("old_state_ns", oldStateNs) } else { o.null("old_state_ns") }
        if let t = e.totals {
            o.object("totals") { t2 in
                t2.field("bytes_acked", t.bytesAcked)
                t2.field("bytes_received", t.bytesReceived)
                t2.field("segs_out", t.segsOut)
                t2.field("segs_in", t.segsIn)
                t2.field("total_retrans", t.totalRetrans)
                t2.field("srtt_us", t.srttMicros)
                t2.field("mss", t.mssCache)
            }
        }
        return o.finished()
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func milliseconds(_ ns: UInt64) -> String {
        let micros = ns / 1_000
        let fraction = String(micros % 1_000)
        return "\(micros / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    private func wallTime(_ bootNs: UInt64) -> (seconds: time_t, millis: Int) {
        let wall = Int64(bitPattern: bootNs) &+ bootToWallOffsetNs
        return (time_t(wall / 1_000_000_000), Int(wall % 1_000_000_000) / 1_000_000)
    }

    private func brokenDown(_ seconds: time_t, utc: Bool) -> tm {
        var t = seconds
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        return parts
    }

    func clockTime(_ bootNs: UInt64) -> String {
        let (seconds, millis) = wallTime(bootNs)
        let p = brokenDown(seconds, utc: useUTC)
        return "\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec)).\(three(millis))"
    }

    /// RFC 3339 in UTC with milliseconds.
    func isoTime(_ bootNs: UInt64) -> String {
        let (seconds, millis) = wallTime(bootNs)
        let p = brokenDown(seconds, utc: true)
        return "\(p.tm_year + 1900)-\(two(p.tm_mon + 1))-\(two(p.tm_mday))T"
            + "\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec)).\(three(millis))Z"
    }

    private func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    private func three(_ v: Int) -> String { v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : "\(v)" }
}
