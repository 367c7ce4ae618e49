/// `tail` lines for listener events.
extension StateEventFormatter {
    /// "listener accept queue full 3/2 on 10.0.0.2:5004 (python3 1234): new ACKs and SYNs are dropped"
    static func appendListenerText(_ e: ListenerEvent, workload: Workload?, to out: inout [UInt8]) {
        out.append(static: "listener ")
        switch e.kind {
        case .acceptQueueFull:
            out.append(static: "accept queue full ")
            appendDepth(e.acceptQueue, e.backlog, to: &out)
        case .acceptOverflow:
            out.append(static: "accept queue overflow ")
            appendDepth(e.acceptQueue, e.backlog, to: &out)
        case .synQueueFull:
            out.append(static: "SYN queue full ")
            appendDepth(e.synQueue, e.backlog, to: &out)
        }
        out.append(static: " on ")
        e.listener.address.unmapped.appendEndpoint(port: e.listener.port, to: &out)
        if let owner = e.owner {
            out.append(static: " (")
            out.append(taskName: owner.comm)
            out.append(UInt8(ascii: " "))
            out.append(decimal: UInt64(owner.pid))
            out.append(UInt8(ascii: ")"))
        }
        if let workload {
            out.append(static: " [")
            out.append(contentsOf: workload.shortName.utf8)
            out.append(UInt8(ascii: "]"))
        }
        switch e.kind {
        case .acceptQueueFull:
            out.append(static: ": the application is not accepting; final ACKs and new SYNs are dropped")
        case .acceptOverflow:
            out.append(static: ": dropping ACKs, ")
            out.append(decimal: e.acceptOverflows)
            out.append(static: " dropped so far")
        case .synQueueFull:
            out.append(static: ": half-open requests at the limit; new SYNs are dropped or answered with syncookies")
        }
    }

    /// "3/2": entries over the backlog limit (the queues hold backlog + 1).
    private static func appendDepth(_ depth: UInt32, _ backlog: UInt32, to out: inout [UInt8]) {
        out.append(decimal: UInt64(depth))
        out.append(UInt8(ascii: "/"))
        out.append(decimal: UInt64(backlog))
    }

    static func listenerJSON(_ e: ListenerEvent, workload: Workload?, _ o: inout JSONLine) {
        o.field("type", literal: "listener")
        o.field("ts_ns", e.timestampNs)
        o.field("cookie", e.socket.value)
        o.field("netns", e.listener.netns)
        jsonCgroup(e.cgroupID, workload, &o)
        o.field("kind", e.kind.name)
        o.field("laddr") { e.listener.address.appendText(to: &$0) }
        o.field("lport", e.listener.port)
        o.field("syn_queue", e.synQueue)
        o.field("accept_queue", e.acceptQueue)
        o.field("backlog", e.backlog)
        o.field("accept_overflows", e.acceptOverflows)
        if let owner = e.owner {
            o.field("pid", owner.pid)
            o.field("comm", owner.comm)
        } else {
            o.null("pid")
            o.null("comm")
        }
    }
}
