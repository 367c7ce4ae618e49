#if canImport(Glibc)
import Glibc
#endif

/// Renders state transitions as aligned text columns or JSON lines, appending bytes to a buffer.
public struct StateEventFormatter: Sendable {
    /// CLOCK_REALTIME minus CLOCK_BOOTTIME, in ns: turns event timestamps into wall-clock time.
    public var bootToWallOffsetNs: Int64
    public var useUTC: Bool
    private var clockCache = SecondCache()
    var isoCache = SecondCache()

    public init(bootToWallOffsetNs: Int64, useUTC: Bool = false) {
        self.bootToWallOffsetNs = bootToWallOffsetNs
        self.useUTC = useUTC
    }

    static let columns: [(title: String, width: Int)] = [
        ("TIME", 12), ("PID", 7), ("COMM", 15), ("WORKLOAD", 16), ("LOCAL", 21), ("", 2), ("REMOTE", 21), ("TRANSITION", 26),
    ]

    public var header: String {
        var line = ""
        for (title, width) in Self.columns {
            line += title + String(repeating: " ", count: max(0, width - title.count)) + " "
        }
        return line + "MS"
    }

    /// One aligned line; `oldStateNs` is the time spent in the old state, when known; `workload`
    /// is what the event's cgroup names.
    public mutating func text(_ e: StateEvent, oldStateNs: UInt64?, workload: Workload? = nil, into out: inout [UInt8]) {
        var start = out.count
        func endColumn(_ index: Int) { Self.padColumn(to: Self.columns[index].width, from: &start, in: &out) }
        appendClockTime(e.timestampNs, to: &out); endColumn(0)
        out.append(decimal: UInt64(e.tgid)); endColumn(1)
        out.append(taskName: e.comm); endColumn(2)
        Self.appendWorkload(cgroupID: e.cgroupID, workload, to: &out); endColumn(3)
        e.sourceAddress.unmapped.appendEndpoint(port: e.sourcePort, to: &out); endColumn(4)
        out.append(static: "->"); endColumn(5)
        e.destinationAddress.unmapped.appendEndpoint(port: e.destinationPort, to: &out); endColumn(6)
        out.append(contentsOf: e.oldState.name.utf8)
        out.append(static: " -> ")
        out.append(contentsOf: e.newState.name.utf8); endColumn(7)
        if let oldStateNs {
            let micros = oldStateNs / 1_000
            out.append(decimal: micros / 1_000)
            out.append(UInt8(ascii: "."))
            out.append(decimal: micros % 1_000, width: 3)
        } else {
            out.append(UInt8(ascii: "-"))
        }
    }

    /// One JSON object (`type:"state"`).
    public mutating func json(_ e: StateEvent, oldStateNs: UInt64?, workload: Workload? = nil, into out: inout [UInt8]) {
        var iso = isoCache
        let offset = bootToWallOffsetNs
        JSONLine.write(into: &out) { o in
            o.field("type", literal: "state")
            o.field("ts_ns", e.timestampNs)
            o.field("time") { Self.appendISOTime(e.timestampNs, offset: offset, cache: &iso, to: &$0) }
            o.field("cookie", e.socket.value)
            o.field("identity", e.socket.kind == .cookie ? "cookie" : "sk_addr")
            o.field("netns", e.netns)
            Self.jsonCgroup(e.cgroupID, workload, &o)
            o.field("pid", e.tgid)
            o.field("tid", e.tid)
            o.field("comm", e.comm)
            o.field("family", literal: e.family == IPAddress.familyIPv6 ? "inet6" : "inet")
            o.field("saddr") { e.sourceAddress.appendText(to: &$0) }
            o.field("sport", e.sourcePort)
            o.field("daddr") { e.destinationAddress.appendText(to: &$0) }
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
        }
        isoCache = iso
    }

    public mutating func text(_ e: StateEvent, oldStateNs: UInt64?) -> String {
        var out: [UInt8] = []
        text(e, oldStateNs: oldStateNs, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public mutating func json(_ e: StateEvent, oldStateNs: UInt64?) -> String {
        var out: [UInt8] = []
        json(e, oldStateNs: oldStateNs, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Pads the column written since `start` to `width`, adds the separator, and starts the next one.
    static func padColumn(to width: Int, from start: inout Int, in out: inout [UInt8]) {
        let used = out.count - start
        if used < width { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - used)) }
        out.append(UInt8(ascii: " "))
        start = out.count
    }

    /// The rendered date-and-time of the last second seen; events come in bursts within a second.
    struct SecondCache: Sendable {
        var second: Int64 = .min
        var prefix: [UInt8] = []
    }

    private static func wallNs(_ bootNs: UInt64, offset: Int64) -> Int64 {
        Int64(bitPattern: bootNs) &+ offset
    }

    private static func brokenDown(_ seconds: Int64, utc: Bool) -> tm {
        var t = time_t(seconds)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        return parts
    }

    /// `prefix(second)` + milliseconds: the rendered second is cached, as events come in bursts.
    private static func appendTime<Out: ByteSink>(_ bootNs: UInt64, offset: Int64, cache: inout SecondCache,
                                                  to out: inout Out, prefix: (Int64) -> [UInt8]) {
        let wall = wallNs(bootNs, offset: offset)
        let second = wall / 1_000_000_000
        if cache.second != second { cache = SecondCache(second: second, prefix: prefix(second)) }
        cache.prefix.withUnsafeBytes { out.append(bytes: $0) }
        out.append(decimal: UInt64(wall % 1_000_000_000 / 1_000_000), width: 3)
    }

    /// YYYY-MM-DD
    private static func appendDate(_ p: tm, to out: inout [UInt8]) {
        out.append(decimal: UInt64(p.tm_year + 1900))
        out.append(UInt8(ascii: "-"))
        out.append(decimal: UInt64(p.tm_mon + 1), width: 2)
        out.append(UInt8(ascii: "-"))
        out.append(decimal: UInt64(p.tm_mday), width: 2)
    }

    /// A unix time in UTC for people (`synwave report`): `2026-12-06 02:40:00`, or `02:40:00`.
    public static func utcText(unixSeconds: Int64, withDate: Bool) -> String {
        let p = brokenDown(unixSeconds, utc: true)
        var out: [UInt8] = []
        if withDate {
            appendDate(p, to: &out)
            out.append(UInt8(ascii: " "))
        }
        appendTimeOfDay(p, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// HH:MM:SS
    private static func appendTimeOfDay(_ p: tm, to out: inout [UInt8]) {
        out.append(decimal: UInt64(p.tm_hour), width: 2)
        out.append(UInt8(ascii: ":"))
        out.append(decimal: UInt64(p.tm_min), width: 2)
        out.append(UInt8(ascii: ":"))
        out.append(decimal: UInt64(p.tm_sec), width: 2)
    }

    /// HH:MM:SS.mmm, local or UTC.
    mutating func appendClockTime(_ bootNs: UInt64, to out: inout [UInt8]) {
        let utc = useUTC
        Self.appendTime(bootNs, offset: bootToWallOffsetNs, cache: &clockCache, to: &out) { second in
            var prefix: [UInt8] = []
            Self.appendTimeOfDay(Self.brokenDown(second, utc: utc), to: &prefix)
            prefix.append(UInt8(ascii: "."))
            return prefix
        }
    }

    /// RFC 3339 in UTC with milliseconds, for a one-off time (the metrics line).
    public static func isoTime(bootNs: UInt64, bootToWallOffsetNs: Int64) -> String {
        var cache = SecondCache()
        var out: [UInt8] = []
        appendISOTime(bootNs, offset: bootToWallOffsetNs, cache: &cache, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339 in UTC with milliseconds.
    static func appendISOTime<Out: ByteSink>(_ bootNs: UInt64, offset: Int64, cache: inout SecondCache, to out: inout Out) {
        appendTime(bootNs, offset: offset, cache: &cache, to: &out) { second in
            let p = brokenDown(second, utc: true)
            var prefix: [UInt8] = []
            appendDate(p, to: &prefix)
            prefix.append(UInt8(ascii: "T"))
            appendTimeOfDay(p, to: &prefix)
            prefix.append(UInt8(ascii: "."))
            return prefix
        }
        out.append(UInt8(ascii: "Z"))
    }
}
