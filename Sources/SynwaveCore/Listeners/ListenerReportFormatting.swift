/// `synwave listeners` output: a table like `ss -lnt` with peaks and drops, or JSON lines.
public enum ListenerReportFormatter {
    static let columns: [(title: String, width: Int, rightAligned: Bool)] = [
        ("NETNS", 12, false), ("LOCAL", 24, false), ("OWNER", 18, false), ("WORKLOAD", 16, false),
        ("SYN-Q", 5, true), ("MAX", 5, true), ("ACCEPT-Q", 8, true), ("MAX", 5, true), ("BACKLOG", 7, true),
        ("OVERFLOWS", 9, true), ("SYN-DROPS", 9, true), ("SYNACK-RTX", 10, true),
    ]

    public static func text(_ report: ListenerReport, into out: inout [UInt8]) {
        row(columns.map(\.title), into: &out)
        for r in report.rows {
            var local: [UInt8] = []
            r.listener.address.unmapped.appendEndpoint(port: r.listener.port, to: &local)
            let owner = r.owner.map { "\($0.comm) \($0.pid)" } ?? "-"
            var acceptQueue = "\(r.acceptQueue)"
            if r.acceptQueueFull { acceptQueue = "FULL " + acceptQueue }
            var synQueue = "\(r.synQueue)"
            if r.synQueueFull { synQueue = "FULL " + synQueue }
            let workload = StateEventFormatter.workloadColumn(cgroupID: r.cgroupID, r.workload)
            row([r.namespaceName, String(decoding: local, as: UTF8.self), owner, workload,
                 synQueue, "\(r.maxSynQueue)", acceptQueue, "\(r.maxAcceptQueue)", "\(r.backlog)",
                 "\(r.acceptOverflows)", "\(r.synDrops)", "\(r.synackRetransmits)"], into: &out)
        }
        if report.rows.isEmpty { out.append(static: "(no TCP listeners)\n") }
        out.append(static: "namespace-wide counters since start (the kernel keeps no per-listener count of these):\n")
        for n in report.namespaces {
            let c = n.counters
            out.append(contentsOf: ("  \(n.name) (netns \(n.netns)): ListenOverflows \(c.listenOverflows), "
                + "ListenDrops \(c.listenDrops), TCPReqQFullDrop \(c.reqQueueFullDrops), "
                + "TCPReqQFullDoCookies \(c.reqQueueFullCookies), SyncookiesSent \(c.syncookiesSent), "
                + "SyncookiesRecv \(c.syncookiesReceived), SyncookiesFailed \(c.syncookiesFailed)\n").utf8)
        }
    }

    private static func row(_ cells: [String], into out: inout [UInt8]) {
        for (cell, column) in zip(cells, columns) {
            let padding = max(0, column.width - cell.utf8.count)
            if column.rightAligned { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding)) }
            out.append(contentsOf: cell.utf8)
            if !column.rightAligned { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding)) }
            out.append(static: "  ")
        }
        while out.last == UInt8(ascii: " ") { out.removeLast() }
        out.append(UInt8(ascii: "\n"))
    }

    /// One JSON object per listener and per namespace, each on its own line; `poll` numbers the refresh.
    public static func json(_ report: ListenerReport, poll: UInt64, into out: inout [UInt8]) {
        for r in report.rows {
            JSONLine.write(into: &out) { o in
                o.field("type", literal: "listener")
                o.field("poll", poll)
                o.field("netns", r.listener.netns)
                o.field("netns_name", r.namespaceName)
                StateEventFormatter.jsonCgroup(r.cgroupID, r.workload, &o)
                o.field("cookie", r.cookie)
                o.field("laddr") { r.listener.address.appendText(to: &$0) }
                o.field("lport", r.listener.port)
                if let owner = r.owner {
                    o.field("pid", owner.pid)
                    o.field("comm", owner.comm)
                } else {
                    o.null("pid")
                    o.null("comm")
                }
                o.field("syn_queue", r.synQueue)
                o.field("max_syn_queue", r.maxSynQueue)
                o.field("accept_queue", r.acceptQueue)
                o.field("max_accept_queue", r.maxAcceptQueue)
                o.field("backlog", r.backlog)
                o.field("accept_overflows", r.acceptOverflows)
                o.field("ack_drops", r.ackDrops)
                o.field("syn_drops", r.synDrops)
                o.field("synack_retransmits", r.synackRetransmits)
                o.field("drops", r.drops)
            }
            out.append(UInt8(ascii: "\n"))
        }
        for n in report.namespaces {
            let c = n.counters
            JSONLine.write(into: &out) { o in
                o.field("type", literal: "netns")
                o.field("poll", poll)
                o.field("netns", n.netns)
                o.field("netns_name", n.name)
                o.field("listen_overflows", c.listenOverflows)
                o.field("listen_drops", c.listenDrops)
                o.field("req_queue_full_drops", c.reqQueueFullDrops)
                o.field("req_queue_full_cookies", c.reqQueueFullCookies)
                o.field("syncookies_sent", c.syncookiesSent)
                o.field("syncookies_received", c.syncookiesReceived)
                o.field("syncookies_failed", c.syncookiesFailed)
            }
            out.append(UInt8(ascii: "\n"))
        }
    }
}
