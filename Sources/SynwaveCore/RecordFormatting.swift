/// Connection records and the connection-level events, as aligned text or JSON lines.
extension StateEventFormatter {
    static let recordColumns: [(title: String, width: Int)] = [
        ("TIME", 12), ("ROLE", 6), ("PID", 7), ("COMM", 15), ("WORKLOAD", 16), ("LOCAL", 21), ("", 2), ("REMOTE", 21),
        ("END", endColumnWidth), ("HS_MS", 8), ("DURATION", 10), ("TX/RX BYTES", 17), ("RETX", 4),
    ]

    /// Wide enough for every end with its detail: "reset_sent(TCP_DISCONNECT_WITH_DATA)" is the
    /// longest (errors an end implies are not repeated, see `endDetail`).
    static let endColumnWidth: Int = {
        let resets = ResetReason.allCases.map { ConnectionEnd.resetSent.rawValue.count + $0.name.count + 2 }
        let errors = ConnectionEnd.allCases.map { $0.rawValue.count + ($0.impliedError == nil ? "(EHOSTUNREACH)".count : 0) }
        return (resets + errors).max()!
    }()

    /// The WORKLOAD column: the container's short id, else the unit, else the cgroup's last
    /// directory; `-` without a cgroup, `?` for one not resolved to a path.
    static func workloadColumn(cgroupID: UInt64, _ workload: Workload?) -> String {
        workload?.shortName ?? (cgroupID == 0 ? "-" : "?")
    }

    static func appendWorkload(cgroupID: UInt64, _ workload: Workload?, to out: inout [UInt8]) {
        out.append(contentsOf: workloadColumn(cgroupID: cgroupID, workload).utf8)
    }

    /// `"cgroup":{"id":…,"path":…}` with the unit, container and pod where the path names them
    /// (docs/json-schema.md); null without a cgroup id.
    static func jsonCgroup(_ id: UInt64, _ workload: Workload?, _ o: inout JSONLine) {
        guard id != 0 else { return o.null("cgroup") }
        o.object("cgroup") { c in
            c.field("id", id)
            guard let workload else { return c.null("path") }
            c.field("path", workload.path)
            if let unit = workload.unit { c.field("unit", unit) }
            if let container = workload.container {
                if let runtime = container.runtime { c.field("container_runtime", runtime.rawValue) }
                c.field("container_id", container.id)
            }
            if let pod = workload.pod {
                c.field("pod_uid", pod.uid)
                c.field("pod_qos", pod.qos.rawValue)
            }
        }
    }

    /// What the END column adds in parentheses: the reset reason, or an error the end does not imply.
    static func endDetail(_ r: ConnectionRecord) -> String? {
        if r.end == .resetSent { return r.resetsSent.first?.name }
        guard let error = r.error, r.end != .closed, error != r.end.impliedError else { return nil }
        return error
    }

    public var recordHeader: String {
        var line = ""
        for (title, width) in Self.recordColumns.dropLast() {
            line += title + String(repeating: " ", count: max(0, width - title.count)) + " "
        }
        return line + Self.recordColumns.last!.title
    }

    /// One aligned line per connection: role, local -> remote, end, handshake, duration, bytes, retransmits.
    public mutating func text(_ r: ConnectionRecord, into out: inout [UInt8]) {
        var start = out.count
        func endColumn(_ index: Int) { Self.padColumn(to: Self.recordColumns[index].width, from: &start, in: &out) }
        appendClockTime(r.endNs, to: &out); endColumn(0)
        out.append(contentsOf: r.role.rawValue.utf8); endColumn(1)
        if r.pid == 0 { out.append(UInt8(ascii: "-")) } else { out.append(decimal: UInt64(r.pid)) }
        if r.ownerInferred, r.pid != 0 { out.append(UInt8(ascii: "*")) }
        endColumn(2)
        if r.comm.isEmpty { out.append(UInt8(ascii: "-")) } else { out.append(taskName: r.comm) }; endColumn(3)
        Self.appendWorkload(cgroupID: r.cgroupID, r.workload, to: &out); endColumn(4)
        if let e = r.endpoints {
            e.localAddress.unmapped.appendEndpoint(port: e.localPort, to: &out); endColumn(5)
            out.append(static: "->"); endColumn(6)
            e.remoteAddress.unmapped.appendEndpoint(port: e.remotePort, to: &out); endColumn(7)
        } else {
            out.append(UInt8(ascii: "?")); endColumn(5)
            out.append(static: "->"); endColumn(6)
            out.append(UInt8(ascii: "?")); endColumn(7)
        }
        out.append(contentsOf: r.end.rawValue.utf8)
        if let detail = Self.endDetail(r) {
            out.append(UInt8(ascii: "("))
            out.append(contentsOf: detail.utf8)
            out.append(UInt8(ascii: ")"))
        }
        endColumn(8)
        if let hs = r.handshakeMicros { Self.appendMillis(hs, to: &out) } else { out.append(UInt8(ascii: "-")) }
        endColumn(9)
        Self.appendDuration(r.durationMicros, to: &out); endColumn(10)
        if let sent = r.bytesSent, let received = r.bytesReceived {
            out.append(decimal: sent)
            out.append(UInt8(ascii: "/"))
            out.append(decimal: received)
        } else {
            out.append(UInt8(ascii: "-"))
        }
        endColumn(11)
        out.append(decimal: UInt64(r.retransmits.total))
    }

    /// One JSON object (`type:"connection"`); the schema is in docs/json-schema.md. `sampledOneIn`:
    /// the event log kept this clean connection as one of that many; `keptAsOtherEnd`: it kept it
    /// because the connection's other end was logged (`EventLogPolicy`).
    public mutating func json(_ r: ConnectionRecord, sampledOneIn: Int? = nil, keptAsOtherEnd: Bool = false,
                              into out: inout [UInt8]) {
        var iso = isoCache
        let offset = bootToWallOffsetNs
        JSONLine.write(into: &out) { o in
            o.field("type", literal: "connection")
            if let sampledOneIn { o.field("sampled", UInt64(sampledOneIn)) }
            if keptAsOtherEnd { o.field("kept", literal: "other_end") }
            o.field("start_ns", r.startNs)
            o.field("end_ns", r.endNs)
            o.field("time") { Self.appendISOTime(r.endNs, offset: offset, cache: &iso, to: &$0) }
            o.field("cookie", r.socket.value)
            o.field("identity", r.socket.kind == .cookie ? "cookie" : "sk_addr")
            o.field("netns", r.netns)
            Self.jsonCgroup(r.cgroupID, r.workload, &o)
            o.field("role", r.role.rawValue)
            o.field("pid", r.pid)
            o.field("comm", r.comm)
            o.field("owner_inferred", bool: r.ownerInferred)
            o.field("first_seen_mid_life", bool: r.firstSeenMidLife)
            o.field("close_inferred", bool: r.closeInferred)
            o.field("close_lost", bool: r.closeLost)
            if let e = r.endpoints {
                o.field("family", literal: e.localAddress.isIPv6 ? "inet6" : "inet")
                o.field("saddr") { e.localAddress.appendText(to: &$0) }
                o.field("sport", e.localPort)
                o.field("daddr") { e.remoteAddress.appendText(to: &$0) }
                o.field("dport", e.remotePort)
            } else {
                for key: StaticString in ["family", "saddr", "sport", "daddr", "dport"] { o.null(key) }
            }
            o.field("states", rawArray: r.states) { mark, a in
                a.append(static: "{\"state\":\"")
                a.append(contentsOf: mark.state.name.utf8)
                a.append(static: "\",\"us\":")
                a.append(decimal: mark.offsetMicros)
                a.append(UInt8(ascii: "}"))
            }
            if let hs = r.handshakeMicros { o.field("handshake_us", hs) } else { o.null("handshake_us") }
            o.field("duration_us", r.durationMicros)
            if let first = r.closedFirst { o.field("closed_first", first.rawValue) } else { o.null("closed_first") }
            o.field("time_wait", bool: r.timeWait)
            if let v = r.bytesSent { o.field("bytes_sent", v) } else { o.null("bytes_sent") }
            if let v = r.bytesReceived { o.field("bytes_received", v) } else { o.null("bytes_received") }
            if let v = r.srttMicros { o.field("srtt_us", v) } else { o.null("srtt_us") }
            if let v = r.mss { o.field("mss", v) } else { o.null("mss") }
            o.object("retransmits") { t in
                t.field("syn", r.retransmits.syn)
                t.field("synack", r.retransmits.synack)
                t.field("data", r.retransmits.data)
                t.field("fin", r.retransmits.fin)
                t.field("tlp", r.retransmits.tlp)
            }
            o.field("resets_sent", rawArray: r.resetsSent) { reason, a in
                a.append(UInt8(ascii: "\""))
                a.append(contentsOf: reason.name.utf8)
                a.append(UInt8(ascii: "\""))
            }
            o.field("resets_received", r.resetsReceived)
            if let error = r.error { o.field("error", error) } else { o.null("error") }
            o.field("end", r.end.rawValue)
        }
        isoCache = iso
    }

    /// One line for a retransmit, reset or socket event (`tail --events`).
    /// `workload`: a listener event's (the event holds only its cgroup id).
    public mutating func text(_ event: KernelEvent, workload: Workload? = nil, into out: inout [UInt8]) {
        appendClockTime(event.timestampNs, to: &out)
        out.append(UInt8(ascii: " "))
        switch event {
        case .state:
            return
        case .retransmit(let e):
            out.append(static: "retransmit ")
            out.append(contentsOf: (e.isTailLossProbe ? "tlp" : e.kind.name).utf8)
            out.append(static: " in ")
            out.append(contentsOf: e.state.name.utf8)
            Self.appendEndpoints(e.endpoints, to: &out)
            if e.kind == .synack {
                out.append(static: " syn_queue=")
                out.append(decimal: UInt64(e.synQueue))
                out.append(static: " accept_queue=")
                out.append(decimal: UInt64(e.acceptQueue))
                out.append(UInt8(ascii: "/"))
                out.append(decimal: UInt64(e.backlog))
            }
        case .reset(let e):
            if e.direction == .sent {
                out.append(static: "reset sent ")
                out.append(contentsOf: e.reason.name.utf8)
            } else {
                out.append(static: "reset received")
            }
            if let state = e.state {
                out.append(static: " in ")
                out.append(contentsOf: state.name.utf8)
            }
            Self.appendEndpoints(e.endpoints, to: &out)
        case .socket(let e):
            out.append(contentsOf: (e.kind == .error ? "error " : "destroy").utf8)
            if e.kind == .error { out.append(contentsOf: ErrnoName.name(e.error).utf8) }
            out.append(static: " in ")
            out.append(contentsOf: e.state.name.utf8)
            Self.appendEndpoints(e.endpoints, to: &out)
        case .listener(let e):
            Self.appendListenerText(e, workload: workload, to: &out)
        case .connection, .cgroup:
            return // shown as its record; names the workloads of others
        }
    }

    /// One JSON object for a retransmit, reset or socket event (`tail --events --json`).
    public func json(_ event: KernelEvent, workload: Workload? = nil, into out: inout [UInt8]) {
        JSONLine.write(into: &out) { o in
            switch event {
            case .state:
                return
            case .retransmit(let e):
                o.field("type", literal: "retransmit")
                o.field("ts_ns", e.timestampNs)
                o.field("cookie", e.socket.value)
                o.field("netns", e.netns)
                o.field("kind", e.kind.name)
                o.field("tlp", bool: e.isTailLossProbe)
                o.field("after_timeout", bool: e.afterTimeout)
                o.field("state", e.state.name)
                o.field("retransmits", e.retransmits)
                o.field("err", signed: Int64(e.error))
                if e.kind == .synack {
                    o.field("syn_queue", e.synQueue)
                    o.field("accept_queue", e.acceptQueue)
                    o.field("backlog", e.backlog)
                }
                Self.jsonEndpoints(e.endpoints, &o)
            case .reset(let e):
                o.field("type", literal: "reset")
                o.field("ts_ns", e.timestampNs)
                if let socket = e.socket { o.field("cookie", socket.value) } else { o.null("cookie") }
                o.field("netns", e.netns)
                o.field("direction", e.direction == .sent ? "sent" : "received")
                o.field("socket", Self.socketKindName(e.socketKind))
                if let state = e.state { o.field("state", state.name) } else { o.null("state") }
                if e.direction == .sent { o.field("reason", e.reason.name) }
                Self.jsonEndpoints(e.endpoints, &o)
            case .socket(let e):
                o.field("type", literal: e.kind == .error ? "error" : "destroy")
                o.field("ts_ns", e.timestampNs)
                o.field("cookie", e.socket.value)
                o.field("netns", e.netns)
                o.field("state", e.state.name)
                if e.kind == .error { o.field("error", ErrnoName.name(e.error)) }
                o.field("probes_out", e.probesOut)
                o.field("packets_out", e.packetsOut)
                Self.jsonEndpoints(e.endpoints, &o)
            case .listener(let e):
                Self.listenerJSON(e, workload: workload, &o)
            case .connection, .cgroup:
                return
            }
        }
    }

    private static func socketKindName(_ kind: SocketKind) -> String {
        switch kind {
        case .none: "none"
        case .full: "full"
        case .listener: "listener"
        case .request: "request"
        case .timeWait: "time_wait"
        }
    }

    private static func appendEndpoints(_ endpoints: Endpoints?, to out: inout [UInt8]) {
        guard let e = endpoints else { return }
        out.append(UInt8(ascii: " "))
        e.localAddress.unmapped.appendEndpoint(port: e.localPort, to: &out)
        out.append(static: " -> ")
        e.remoteAddress.unmapped.appendEndpoint(port: e.remotePort, to: &out)
    }

    private static func jsonEndpoints(_ endpoints: Endpoints?, _ o: inout JSONLine) {
        guard let e = endpoints else { return }
        o.field("saddr") { e.localAddress.appendText(to: &$0) }
        o.field("sport", e.localPort)
        o.field("daddr") { e.remoteAddress.appendText(to: &$0) }
        o.field("dport", e.remotePort)
    }

    static func appendMillis(_ micros: UInt64, to out: inout [UInt8]) {
        out.append(decimal: micros / 1_000)
        out.append(UInt8(ascii: "."))
        out.append(decimal: micros % 1_000, width: 3)
    }

    /// 812us, 12.345ms, 3.2s, 1h02m
    static func appendDuration(_ micros: UInt64, to out: inout [UInt8]) {
        switch micros {
        case ..<1_000:
            out.append(decimal: micros)
            out.append(static: "us")
        case ..<1_000_000:
            appendMillis(micros, to: &out)
            out.append(static: "ms")
        case ..<3_600_000_000:
            out.append(decimal: micros / 1_000_000)
            out.append(UInt8(ascii: "."))
            out.append(decimal: micros / 100_000 % 10)
            out.append(UInt8(ascii: "s"))
        default:
            out.append(decimal: micros / 3_600_000_000)
            out.append(UInt8(ascii: "h"))
            out.append(decimal: micros / 60_000_000 % 60, width: 2)
            out.append(UInt8(ascii: "m"))
        }
    }
}
