import Foundation
import Testing

/// One listener-queue scenario: a server in its own namespace that accepts slowly or never,
/// clients from a second namespace, and what `synwave listeners` must report for it, checked
/// against the server namespace's own counters.
struct ListenerScenario: Sendable, CustomTestStringConvertible {
    enum Step: Sendable {
        /// Non-blocking connects from the client namespace, held `hold` seconds (in the background).
        case burst(count: Int, spacingMs: Int, hold: Double)
        /// Drop (or stop dropping) the clients' pure ACKs at the server: handshakes stay half-open.
        case dropFinalAcks, allowFinalAcks
        case pause(Double)
    }

    typealias Check = @Sendable (_ last: [String: Any], _ maxima: (syn: Int, accept: Int), _ netns: [String: Any],
                                 _ counters: [String: Int], _ events: [[String: Any]]) -> Void

    var name: String
    var port: Int
    var backlog: Int
    var sysctls: [String] = []
    var acceptEveryMs = 0
    var steps: [Step]
    var check: Check

    var testDescription: String { name }

    static let all: [ListenerScenario] = [
        ListenerScenario(
            name: "accept queue full: the application never accepts", port: 7101, backlog: 2,
            steps: [.burst(count: 6, spacingMs: 20, hold: 2.5)],
            check: { last, maxima, netns, counters, events in
                #expect(int(last["accept_queue"]) == 3 && int(last["backlog"]) == 2)
                #expect(maxima.accept == 3)
                #expect(int(last["accept_overflows"]) > 0)
                #expect(int(last["accept_overflows"]) == counters["TcpExtListenOverflows"])
                #expect(int(netns["listen_overflows"]) == counters["TcpExtListenOverflows"])
                #expect(int(last["syn_drops"]) == 0)
                #expect(last["comm"] as? String == "synwave-loadgen")
                let full = events.filter { $0["type"] as? String == "listener" && $0["kind"] as? String == "accept_queue_full" }
                #expect(full.count == 1)
                #expect(int(full.first?["accept_queue"]) == 3 && int(full.first?["backlog"]) == 2)
                #expect(full.first?["comm"] as? String == "synwave-loadgen")
            }),
        ListenerScenario(
            name: "final ACKs on a full accept queue, tcp_abort_on_overflow=1", port: 7102, backlog: 2,
            sysctls: ["net.ipv4.tcp_abort_on_overflow=1", "net.ipv4.tcp_syncookies=0"],
            // Two children leave room for one more; three handshakes then complete at once.
            steps: [.burst(count: 2, spacingMs: 20, hold: 6), .pause(0.3), .dropFinalAcks,
                    .burst(count: 3, spacingMs: 20, hold: 5), .pause(0.3), .allowFinalAcks, .pause(2.5)],
            check: { last, maxima, _, counters, events in
                #expect(maxima.accept == 3)
                #expect(int(last["ack_drops"]) > 0)
                #expect(int(last["accept_overflows"]) == counters["TcpExtListenOverflows"])
                let overflow = events.filter { $0["type"] as? String == "listener" && $0["kind"] as? String == "accept_overflow" }
                #expect(!overflow.isEmpty)
                let resets = events.filter { $0["type"] as? String == "reset" && $0["direction"] as? String == "sent" }
                #expect(!resets.isEmpty, "the listener's resets are reported")
                #expect(counters["TcpExtEmbryonicRsts"] ?? 0 > 0)
            }),
        ListenerScenario(
            name: "SYN flood with syncookies off", port: 7103, backlog: 4,
            sysctls: ["net.ipv4.tcp_syncookies=0"],
            steps: [.dropFinalAcks, .burst(count: 10, spacingMs: 20, hold: 2.5)],
            check: { last, maxima, netns, counters, events in
                #expect(maxima.syn == 5, "the SYN queue holds backlog + 1")
                #expect(int(last["syn_drops"]) > 0)
                #expect(int(last["syn_drops"]) == counters["TcpExtTCPReqQFullDrop"])
                #expect(int(netns["req_queue_full_drops"]) == counters["TcpExtTCPReqQFullDrop"])
                #expect(int(last["accept_overflows"]) == 0)
                #expect(int(last["synack_retransmits"]) > 0)
                #expect(events.contains { $0["type"] as? String == "listener" && $0["kind"] as? String == "syn_queue_full" })
            }),
        ListenerScenario(
            name: "SYN flood with syncookies on", port: 7104, backlog: 4,
            sysctls: ["net.ipv4.tcp_syncookies=1"],
            steps: [.dropFinalAcks, .burst(count: 10, spacingMs: 20, hold: 2.5)],
            check: { last, maxima, netns, counters, _ in
                #expect(maxima.syn == 5)
                #expect(int(netns["syncookies_sent"]) > 0)
                #expect(int(netns["syncookies_sent"]) == counters["TcpExtSyncookiesSent"])
                #expect(int(netns["req_queue_full_cookies"]) == counters["TcpExtTCPReqQFullDoCookies"])
                #expect(int(last["syn_drops"]) == 0)
            }),
        ListenerScenario(
            name: "healthy server: queues drain to zero", port: 7105, backlog: 8, acceptEveryMs: 5,
            steps: [.burst(count: 10, spacingMs: 20, hold: 1), .pause(0.5)],
            check: { last, _, _, counters, events in
                #expect(int(last["accept_queue"]) == 0 && int(last["syn_queue"]) == 0)
                #expect(int(last["accept_overflows"]) == 0 && int(last["syn_drops"]) == 0 && int(last["drops"]) == 0)
                #expect(counters["TcpExtListenDrops"] ?? 0 == 0)
                #expect(!events.contains { $0["type"] as? String == "listener" })
            }),
    ]
}

@Suite(.serialized, .enabled(if: Harness.isRoot, "root integration tests: they load BPF programs and make network namespaces"))
struct ListenerIntegrationTests {
    /// Each scenario through every source this kernel allows: the same numbers from each.
    @Test(arguments: ListenerScenario.all, KernelAllows.listenerPollSources)
    func listenerQueues(_ scenario: ListenerScenario, _ source: ListenerPollSource) throws {
        let (netnsInode, counters, watched, events, tailResult) = try InitContextFirings.retrying(scenario.name) {
            let pair = try VethPair("lst\(scenario.port)")
            for setting in scenario.sysctls { try pair.sysctl(pair.server, setting) }
            let tail = try Tail(["--netns", "\(pair.server.inode)"])
            let watch = try Child(Harness.synwave, ["listeners", "--watch", "--json", "--interval", "100ms",
                                                    "--netns", pair.server.name, "--poll-via", source.rawValue])
            try #require(watch.waitForStderr(seconds: 20) { $0.contains("watching TCP listeners") }, "\(watch.err.text)")
            #expect(watch.err.text.contains(source.startLine), "\(watch.err.text)")
            let server = try Child("/usr/sbin/ip", ["netns", "exec", pair.server.name, Harness.loadgen, "listen",
                                                    "--port", "\(scenario.port)", "--backlog", "\(scenario.backlog)",
                                                    "--accept-every-ms", "\(scenario.acceptEveryMs)", "--seconds", "20"])
            try #require(pair.waitListening(pair.server, port: scenario.port), "the server never listened")
            let ackRule = ["-p", "tcp", "--dport", "\(scenario.port)", "--tcp-flags", "SYN,ACK,FIN,RST", "ACK", "-j", "DROP"]
            var clients: [Child] = []
            for step in scenario.steps {
                switch step {
                case .burst(let count, let spacing, let hold):
                    clients.append(try Child("/usr/sbin/ip", [
                        "netns", "exec", pair.client.name, Harness.loadgen, "burst", "--addr", VethPair.serverV4,
                        "--port", "\(scenario.port)", "--count", "\(count)", "--spacing-ms", "\(spacing)",
                        "--hold-seconds", "\(hold)"]))
                case .dropFinalAcks: try pair.exec(pair.server, ["/usr/sbin/iptables", "-I", "INPUT"] + ackRule)
                case .allowFinalAcks: try pair.exec(pair.server, ["/usr/sbin/iptables", "-D", "INPUT"] + ackRule)
                case .pause(let seconds): usleep(UInt32(seconds * 1_000_000))
                }
            }
            for client in clients {
                let result = client.finish(seconds: 30)
                #expect(result.status == 0, "\(result.stderr)")
            }
            // Clients closed: nothing moves the counters any more. Two more polls, then compare.
            usleep(400_000)
            let counters = try pair.counters(pair.server)
            usleep(300_000)
            let watched = watch.interrupt()
            _ = server.interrupt()
            let (_, events, tailResult) = try tail.stop()
            return (Int(pair.server.inode), counters, watched, events, tailResult)
        }
        #expect(watched.status == 0, "\(watched.stderr)")
        #expect(!watched.stderr.contains("polling through sock_diag instead"), "the BPF listener iterator failed: \(watched.stderr)")
        #expect(tailResult.stderr.contains(" 0 lost in the kernel"), "\(tailResult.stderr)")

        let lines = watched.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let rows = lines.filter {
            $0["type"] as? String == "listener" && int($0["lport"]) == scenario.port && int($0["netns"]) == netnsInode
        }
        let namespaces = lines.filter { $0["type"] as? String == "netns" && int($0["netns"]) == netnsInode }
        let last = try #require(rows.last, "no row for the listener: \(watched.stdout.suffix(2000))")
        let netns = try #require(namespaces.last, "no row for the namespace")
        let maxima = (syn: rows.map { int($0["max_syn_queue"]) }.max() ?? -1,
                      accept: rows.map { int($0["max_accept_queue"]) }.max() ?? -1)
        scenario.check(last, maxima, netns, counters, events)
    }
}

/// Listeners older than the watch, and newer ones that close while it runs, must show and then
/// be forgotten, through each source. The BPF listener iterator's polls list only the listeners
/// that changed, and a full dump when one is gone (the dump's end record counts the listeners it
/// visited); sock_diag lists every listener at each poll.
@Suite(.serialized, .enabled(if: Harness.isRoot, "root integration tests: they load BPF programs and make network namespaces"))
struct ListenerIteratorIntegrationTests {
    @Test(arguments: KernelAllows.listenerPollSources)
    func listenersThatComeAndGoAreShownThenForgotten(_ source: ListenerPollSource) throws {
        let namespace = try NetworkNamespace("lstgone")
        // 600 listeners: more records than one read of the iterator holds (512 of 64 bytes).
        let older = try Child("/usr/sbin/ip", ["netns", "exec", namespace.name, Harness.loadgen, "listen",
                                               "--port", "21000", "--count", "600", "--seconds", "8"])
        defer { _ = older.interrupt() }
        usleep(1_000_000)
        let watch = try Child(Harness.synwave, ["listeners", "--watch", "--json", "--interval", "100ms",
                                                "--netns", namespace.name, "--poll-via", source.rawValue])
        try #require(watch.waitForStderr(seconds: 20) { $0.contains("watching TCP listeners") }, "\(watch.err.text)")
        #expect(watch.err.text.contains(source.startLine), "\(watch.err.text)")
        let newer = try Child("/usr/sbin/ip", ["netns", "exec", namespace.name, Harness.loadgen, "listen",
                                               "--port", "22000", "--count", "3", "--seconds", "1.5"])
        #expect(newer.finish(seconds: 10).status == 0)
        usleep(800_000)
        let watched = watch.interrupt()
        #expect(watched.status == 0, "\(watched.stderr)")
        #expect(!watched.stderr.contains("polling through sock_diag instead"), "the BPF listener iterator failed: \(watched.stderr)")

        var portsByPoll: [Int: Set<Int>] = [:]
        for line in watched.stdout.split(separator: "\n") {
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  row["type"] as? String == "listener", int(row["netns"]) == Int(namespace.inode) else { continue }
            portsByPoll[int(row["poll"]), default: []].insert(int(row["lport"]))
        }
        let older600 = Set(21000..<21600)
        let polls = portsByPoll.keys.sorted()
        let first = try #require(polls.first, "no listener rows: \(watched.stdout.suffix(1000))")
        #expect(portsByPoll[first]!.isSuperset(of: older600), "older listeners missing from the first poll")
        #expect(polls.contains { portsByPoll[$0] == older600.union(22000..<22003) }, "the newer listeners never showed with the older ones")
        #expect(portsByPoll[polls.last!] == older600, "closed listeners still listed at the last poll")
    }
}

/// Where the kernel refuses the listener iterator, asking for it fails with the cause in one line.
@Suite(.enabled(if: Harness.isRoot && !KernelAllows.listenerIterator, "the kernel takes the listener iterator here"))
struct ListenerIteratorRefusedTests {
    @Test func pollViaIteratorNamesTheRefusal() throws {
        let result = try run(Harness.synwave, ["listeners", "--watch", "--poll-via", "iterator", "--count", "1"])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("--poll-via iterator: listener_iterator is off on this kernel"), "\(result.stderr)")
        #expect(result.stderr.contains("refused sw_listener_dump before verifying any instruction: EPERM"), "\(result.stderr)")
    }
}
