import Foundation
import Testing

/// One TCP scenario between two namespaces joined by veth: how to provoke it and what the
/// client's and server's records must say, checked against the namespaces' own counters.
struct RecordScenario: Sendable, CustomTestStringConvertible {
    typealias Check = @Sendable (_ client: [String: Any]?, _ server: [String: Any]?,
                                 _ clientCounters: [String: Int], _ serverCounters: [String: Int]) -> Void

    var name: String
    var port: Int
    var family = "4"
    /// Server namespace sysctls and rules applied before anything starts.
    var prepare: @Sendable (VethPair) throws -> Void = { _ in }
    /// nil: nothing listens (refused).
    var serve: [String]?
    var connect: [String]
    /// Done once the client is established (blackholing a live connection).
    var whenEstablished: (@Sendable (VethPair) throws -> Void)?
    var check: Check

    var testDescription: String { name }

    var serverAddress: String { family == "6" ? VethPair.serverV6 : VethPair.serverV4 }

    static let all: [RecordScenario] = [
        RecordScenario(
            name: "normal close, client first", port: 7001,
            serve: ["--mode", "echo", "--bytes", "1000", "--close-first", "client"],
            connect: ["--bytes", "1000", "--echo"],
            check: { client, server, cc, sc in
                expectEnd(client, "closed", closedFirst: "local", timeWait: true)
                expectEnd(server, "closed", closedFirst: "peer", timeWait: false)
                #expect(int(client?["bytes_sent"]) >= 1000 && int(client?["bytes_received"]) >= 1000)
                #expect(int(client?["handshake_us"]) >= 0 && int(server?["handshake_us"]) >= 0)
                #expect(cc["TcpActiveOpens"] == 1 && sc["TcpPassiveOpens"] == 1)
                #expect(cc["TcpExtTW"] == 1)
                expectRetransmits(client, equal: cc)
                expectRetransmits(server, equal: sc)
            }),
        RecordScenario(
            name: "normal close, server first", port: 7002,
            serve: ["--mode", "echo", "--bytes", "1000", "--close-first", "server"],
            connect: ["--bytes", "1000", "--echo", "--hold-seconds", "5"],
            check: { client, server, cc, sc in
                expectEnd(client, "closed", closedFirst: "peer", timeWait: false)
                expectEnd(server, "closed", closedFirst: "local", timeWait: true)
                #expect(sc["TcpExtTW"] == 1)
            }),
        RecordScenario(
            name: "IPv6 close", port: 7003, family: "6",
            serve: ["--mode", "echo", "--bytes", "1000"],
            connect: ["--bytes", "1000", "--echo"],
            check: { client, server, _, _ in
                expectEnd(client, "closed", closedFirst: "local", timeWait: true)
                expectEnd(server, "closed", closedFirst: "peer", timeWait: false)
                #expect(client?["family"] as? String == "inet6")
                #expect(client?["daddr"] as? String == VethPair.serverV6)
                #expect(int(client?["dport"]) == 7003)
            }),
        RecordScenario(
            name: "refused", port: 7004, serve: nil, connect: ["--once"],
            check: { client, server, cc, sc in
                expectEnd(client, "refused", error: "ECONNREFUSED")
                #expect(server == nil)
                #expect(int(client?["resets_received"]) == 1)
                #expect(cc["TcpAttemptFails"] == 1 && sc["TcpOutRsts"] == 1)
            }),
        RecordScenario(
            name: "connect timeout", port: 7005,
            prepare: { pair in
                try pair.sysctl(pair.client, "net.ipv4.tcp_syn_retries=1")
                try pair.dropIncoming(pair.server, port: 7005)
            },
            serve: nil, connect: ["--once"],
            check: { client, _, cc, _ in
                expectEnd(client, "connect_timeout", error: "ETIMEDOUT")
                let retransmits = client?["retransmits"] as? [String: Any]
                #expect(int(retransmits?["syn"]) >= 1)
                #expect(int(retransmits?["syn"]) == cc["TcpExtTCPSynRetrans"])
                #expect(cc["TcpAttemptFails"] == 1 && cc["TcpExtTCPAbortOnTimeout"] == 1)
            }),
        RecordScenario(
            name: "data retransmit timeout", port: 7006,
            prepare: { pair in try pair.sysctl(pair.client, "net.ipv4.tcp_retries2=2") },
            serve: ["--mode", "hold", "--seconds", "30"],
            connect: ["--pause-ms", "500", "--bytes", "1000", "--hold-seconds", "20"],
            whenEstablished: { pair in try pair.dropIncoming(pair.server, port: 7006) },
            check: { client, _, cc, _ in
                expectEnd(client, "retransmit_timeout", error: "ETIMEDOUT")
                let retransmits = client?["retransmits"] as? [String: Any]
                #expect(int(retransmits?["data"]) >= 1)
                expectRetransmits(client, equal: cc)
                #expect(cc["TcpExtTCPAbortOnTimeout"] == 1)
            }),
        RecordScenario(
            name: "keepalive timeout", port: 7007,
            serve: ["--mode", "hold", "--seconds", "30"],
            connect: ["--keepalive", "1,1,2", "--hold-seconds", "20"],
            whenEstablished: { pair in try pair.dropIncoming(pair.server, port: 7007) },
            check: { client, _, cc, _ in
                expectEnd(client, "keepalive_timeout", error: "ETIMEDOUT")
                #expect(client?["resets_sent"] as? [String] == ["TCP_KEEPALIVE_TIMEOUT"])
                #expect(cc["TcpExtTCPAbortOnTimeout"] == 1 && (cc["TcpExtTCPKeepAlive"] ?? 0) >= 2)
            }),
        RecordScenario(
            name: "reset by SO_LINGER zero", port: 7008,
            serve: ["--mode", "hold", "--seconds", "10"],
            connect: ["--pause-ms", "200", "--linger-zero"],
            check: { client, server, cc, _ in
                expectEnd(client, "reset_sent")
                #expect(client?["resets_sent"] as? [String] == ["TCP_STATE"])
                expectEnd(server, "reset_received", error: "ECONNRESET")
                #expect(cc["TcpOutRsts"] == 1)
            }),
        RecordScenario(
            name: "reset by closing with unread data", port: 7009,
            serve: ["--mode", "unread"],
            connect: ["--bytes", "1000", "--hold-seconds", "5"],
            check: { client, server, _, sc in
                expectEnd(server, "reset_sent")
                #expect(server?["resets_sent"] as? [String] == ["TCP_ABORT_ON_CLOSE"])
                expectEnd(client, "reset_received", error: "ECONNRESET")
                // OutRsts can also count resets answering the client's late segments (no socket).
                #expect(sc["TcpExtTCPAbortOnClose"] == 1 && (sc["TcpOutRsts"] ?? 0) >= 1)
            }),
    ]
}

private func expectEnd(_ record: [String: Any]?, _ end: String, closedFirst: String? = nil, timeWait: Bool? = nil,
                       error: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let record else {
        Issue.record("no record (expected end \(end))", sourceLocation: sourceLocation)
        return
    }
    #expect(record["end"] as? String == end, "\(record)", sourceLocation: sourceLocation)
    if let closedFirst { #expect(record["closed_first"] as? String == closedFirst, "\(record)", sourceLocation: sourceLocation) }
    if let timeWait { #expect(record["time_wait"] as? Bool == timeWait, "\(record)", sourceLocation: sourceLocation) }
    if let error { #expect(record["error"] as? String == error, "\(record)", sourceLocation: sourceLocation) }
}

/// A record's retransmits add up to its namespace's TcpRetransSegs (one connection per namespace).
private func expectRetransmits(_ record: [String: Any]?, equal counters: [String: Int],
                               sourceLocation: SourceLocation = #_sourceLocation) {
    let r = record?["retransmits"] as? [String: Any] ?? [:]
    let total = ["syn", "synack", "data", "fin", "tlp"].reduce(0) { $0 + max(0, int(r[$1])) }
    #expect(total == counters["TcpRetransSegs"], "\(r) vs \(counters["TcpRetransSegs"] ?? -1)", sourceLocation: sourceLocation)
}

@Suite(.serialized, .enabled(if: Harness.isRoot, "root integration tests: they load BPF programs and make network namespaces"))
struct ConnectionRecordIntegrationTests {
    /// Each scenario with every feature on tp_btf, and with every feature on its classic
    /// tracepoint program (what older kernels fall back to; socket errors have none).
    @Test(arguments: RecordScenario.all, ["btf", "tracepoint"])
    func connectionRecord(_ scenario: RecordScenario, attach: String) throws {
        // Classic tracepoints share one per-CPU guard: a softirq or timer firing one while any
        // program (another test's too) runs on that CPU is skipped by the kernel, and no second
        // program can rescue it. Counted, and then the exact counts below cannot hold: run again.
        let run = try InitContextFirings.retrying("\(scenario.name), \(attach)", alsoWhen: { run in
            let skips = InitContextFirings.recursionSkips(in: run.result.stderr)
            return attach == "tracepoint" && skips > 0 ? "\(skips) firings skipped by the classic tracepoints' recursion guard" : nil
        }) { try Self.runScenario(scenario, attach: attach) }
        let (records, result) = (run.records, run.result)
        #expect(result.status == 0, "\(result.stderr)")
        if attach == "btf" {
            #expect(result.stderr.contains(" 0 lost in the kernel"), "\(result.stderr)")
        } else {
            // Recursion-guard skips are allowed here (see above): what synwave owes is that every one is counted.
            #expect(result.stderr.contains("lost in the kernel (0 ring buffer full, "), "\(result.stderr)")
            #expect(result.stderr.contains(", 0 not run by the kernel)"), "\(result.stderr)")
        }

        #expect(records.allSatisfy { $0["type"] as? String == "connection" })
        let clientRecord = records.first { $0["role"] as? String == "client" && int($0["netns"]) == run.clientNetns }
        let serverRecord = records.first { $0["role"] as? String == "server" && int($0["netns"]) == run.serverNetns }
        if let clientRecord {
            #expect(clientRecord["comm"] as? String == "synwave-loadgen")
            #expect(int(clientRecord["dport"]) == scenario.port)
        }
        if let serverRecord {
            #expect(serverRecord["comm"] as? String == "synwave-loadgen")
            #expect(int(serverRecord["sport"]) == scenario.port)
        }
        scenario.check(clientRecord, serverRecord, run.clientCounters, run.serverCounters)
    }

    private struct Run {
        var records: [[String: Any]]
        var result: CommandResult
        var clientNetns: Int
        var serverNetns: Int
        var clientCounters: [String: Int]
        var serverCounters: [String: Int]
    }

    /// One run of the scenario in its own pair of namespaces, deleted on return.
    private static func runScenario(_ scenario: RecordScenario, attach: String) throws -> Run {
        let pair = try VethPair("rec\(scenario.port)")
        try scenario.prepare(pair)
        let tail = try Tail(["--attach", attach, "--netns", "\(pair.client.inode)", "--netns", "\(pair.server.inode)"],
                            events: false)
        let family = ["--family", scenario.family]
        let server = try scenario.serve.map {
            try Child("/usr/sbin/ip", ["netns", "exec", pair.server.name, Harness.loadgen, "serve", "--port", "\(scenario.port)"] + family + $0)
        }
        if server != nil { try #require(pair.waitListening(pair.server, port: scenario.port), "the server never listened") }
        let client = try Child("/usr/sbin/ip", ["netns", "exec", pair.client.name, Harness.loadgen, "connect",
                                                "--addr", scenario.serverAddress, "--port", "\(scenario.port)"] + family + scenario.connect)
        if let action = scenario.whenEstablished {
            try #require(pair.waitEstablished(pair.client), "the client never connected")
            try action(pair)
        }
        let clientResult = client.finish(seconds: 40)
        #expect(clientResult.status == 0, "\(clientResult.stderr)")
        // A server holding a connection the client already lost is only waited for briefly.
        if let server { _ = server.finish(seconds: 5) }
        usleep(300_000)
        let (_, records, result) = try tail.stop()
        return Run(records: records, result: result, clientNetns: Int(pair.client.inode), serverNetns: Int(pair.server.inode),
                   clientCounters: try pair.counters(pair.client),
                   serverCounters: try pair.counters(pair.server))
    }

    /// A listener that never accepts, with tcp_abort_on_overflow: a final ACK finding the accept
    /// queue full is answered with a reset, and the client's record says so.
    @Test func abortOnOverflowResetsTheClient() throws {
        let port = 7012
        let pair = try VethPair("recovf")
        try pair.sysctl(pair.server, "net.ipv4.tcp_abort_on_overflow=1")
        // Requests beyond the SYN queue dropped, not answered with cookies: each accepted SYN is a request.
        try pair.sysctl(pair.server, "net.ipv4.tcp_syncookies=0")
        let tail = try Tail(["--netns", "\(pair.client.inode)", "--netns", "\(pair.server.inode)"], events: false)
        let server = try Child("/usr/sbin/ip", ["netns", "exec", pair.server.name, Harness.loadgen, "listen",
                                                "--port", "\(port)", "--backlog", "1", "--seconds", "8"])
        try #require(pair.waitListening(pair.server, port: port), "the server never listened")
        let burst = ["netns", "exec", pair.client.name, Harness.loadgen, "burst", "--addr", VethPair.serverV4,
                     "--port", "\(port)", "--spacing-ms", "0", "--hold-seconds", "2"]
        // One child waits in the accept queue (backlog 1 holds two). Two more connect while the
        // server drops pure ACKs, so both stay requests; once the drop is lifted, the SYN-ACK
        // retransmits (1 s) draw their ACKs again: the first fills the queue, the second overflows.
        let first = try Child("/usr/sbin/ip", burst + ["--count", "1"])
        try #require(pair.waitEstablished(pair.client), "the first client never connected")
        let dropAcks = ["-p", "tcp", "--dport", "\(port)", "--tcp-flags", "SYN,ACK,FIN,RST", "ACK", "-j", "DROP"]
        let iptables = ["netns", "exec", pair.server.name, "/usr/sbin/iptables"]
        #expect(try run("/usr/sbin/ip", iptables + ["-A", "INPUT"] + dropAcks).status == 0)
        let second = try Child("/usr/sbin/ip", burst + ["--count", "2"])
        usleep(400_000)
        #expect(try run("/usr/sbin/ip", iptables + ["-D", "INPUT"] + dropAcks).status == 0)
        let result = second.finish(seconds: 20)
        #expect(result.status == 0, "\(result.stderr)")
        _ = first.finish(seconds: 10)
        _ = server.finish(seconds: 10)
        usleep(300_000)
        let (_, records, tailResult) = try tail.stop()
        #expect(tailResult.status == 0, "\(tailResult.stderr)")

        let counters = try pair.counters(pair.server)
        let overflowed = records.filter { $0["end"] as? String == "accept_queue_overflow_reset" }
        let seen = records.map { "\($0["type"] ?? "") \($0["role"] ?? "") \($0["end"] ?? "") \($0["error"] ?? "") resets \($0["resets_received"] ?? "")" }
        #expect(overflowed.count >= 1, "\(seen)")
        #expect(overflowed.count == counters["TcpExtListenOverflows"], "\(counters["TcpExtListenOverflows"] ?? -1)")
        for record in overflowed {
            #expect(record["role"] as? String == "client" && int(record["netns"]) == Int(pair.client.inode))
            #expect(record["error"] as? String == "ECONNRESET" && int(record["resets_received"]) == 1)
        }
    }
}
