import Foundation
import Testing

/// One client/server connection per case, traced by the real BPF programs.
struct ConnectionScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var family: String
    var attach: String
    var closeFirst: String
    var testDescription: String { name }

    static let all = [
        ConnectionScenario(name: "IPv4, tp_btf, client closes first", family: "4", attach: "btf", closeFirst: "client"),
        ConnectionScenario(name: "IPv4, tp_btf, server closes first", family: "4", attach: "btf", closeFirst: "server"),
        ConnectionScenario(name: "IPv6, tp_btf, client closes first", family: "6", attach: "btf", closeFirst: "client"),
        ConnectionScenario(name: "IPv4, classic tracepoint", family: "4", attach: "tracepoint", closeFirst: "client"),
        ConnectionScenario(name: "IPv6, classic tracepoint, server closes first", family: "6", attach: "tracepoint", closeFirst: "server"),
        ConnectionScenario(name: "IPv4, auto attach", family: "4", attach: "auto", closeFirst: "client"),
    ]
}

let activeClose = ["ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"]
let passiveClose = ["ESTABLISHED->CLOSE_WAIT", "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"]

@Suite(.serialized, .enabled(if: Harness.isRoot, "root integration tests: they load BPF programs and make network namespaces"))
struct TailIntegrationTests {
    @Test(arguments: ConnectionScenario.all)
    func connectionTransitions(_ scenario: ConnectionScenario) throws {
        let (ns, pid, answer, events, result) = try InitContextFirings.retrying(scenario.name) {
            let ns = try NetworkNamespace("conn")
            let tail = try Tail(["--netns", "\(ns.inode)", "--attach", scenario.attach])
            let (pid, answer) = try ns.loadgen(["pair", "--family", scenario.family, "--close-first", scenario.closeFirst])
            let (events, _, result) = try tail.stop()
            return (ns, pid, answer, events, result)
        }

        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(" 0 lost in the kernel"), "\(result.stderr)")
        // Checked, not "unknown": the per-CPU perf counters on the tracepoints opened.
        #expect(result.stderr.contains(", 0 not run by the kernel)"), "\(result.stderr)")
        #expect(result.stderr.contains(" 0 dropped in user space, 0 decode errors"), "\(result.stderr)")
        let mode = scenario.attach == "tracepoint" ? "classic tracepoint" : "tp_btf"
        #expect(result.stderr.contains("tracing TCP events (\(mode)"), "\(result.stderr)")

        let sockets = socketsOf(events)
        try #require(sockets.count == 3, "expected listener, client and server sockets: \(sockets.map(transitions))")
        let listener = try #require(sockets.first { transitions($0).first == "CLOSE->LISTEN" })
        let client = try #require(sockets.first { transitions($0).first == "CLOSE->SYN_SENT" })
        let server = try #require(sockets.first { transitions($0).first == "LISTEN->SYN_RECV" })

        let clientCloses = scenario.closeFirst == "client"
        #expect(transitions(listener) == ["CLOSE->LISTEN", "LISTEN->CLOSE"])
        #expect(transitions(client) == ["CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED"] + (clientCloses ? activeClose : passiveClose))
        #expect(transitions(server) == ["LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED"] + (clientCloses ? passiveClose : activeClose))

        let listenPort = int(answer["listen_port"]), clientPort = int(answer["client_port"])
        let identity = scenario.attach == "tracepoint" ? "sk_addr" : "cookie"
        let loopback = scenario.family == "6" ? "::1" : "127.0.0.1"
        for event in events {
            #expect(int(event["netns"]) == Int(ns.inode))
            #expect(event["identity"] as? String == identity)
            #expect(event["family"] as? String == (scenario.family == "6" ? "inet6" : "inet"))
            #expect(event["type"] as? String == "state")
            #expect(int(event["ts_ns"]) > 0)
        }
        // Ports and addresses, once the client's port is bound.
        for event in client.dropFirst() {
            #expect(int(event["sport"]) == clientPort && int(event["dport"]) == listenPort)
            #expect(event["saddr"] as? String == loopback && event["daddr"] as? String == loopback)
        }
        for event in server {
            #expect(int(event["sport"]) == listenPort && int(event["dport"]) == clientPort)
        }
        // Syscall-context transitions carry the owner.
        #expect(int(client[0]["pid"]) == Int(pid))
        #expect(client[0]["comm"] as? String == "synwave-loadgen")
        #expect(int(listener[0]["pid"]) == Int(pid))
        // Each socket's last transition carries its totals: 1000 bytes each way. The kernel counts
        // sequence space: bytes_acked includes our FIN (and the client's SYN; the server child is
        // born after its SYN-ACK was acked), bytes_received the peer's FIN.
        for (socket, acked) in [(client, 1002), (server, 1001)] {
            let totals = try #require(socket.last?["totals"] as? [String: Any])
            #expect(int(totals["bytes_acked"]) == acked, "\(totals)")
            #expect(int(totals["bytes_received"]) == 1001, "\(totals)")
            #expect(int(totals["mss"]) > 0)
        }
        // Time in the old state is known after the first transition of each socket.
        for socket in [client, server, listener] {
            #expect(socket.dropFirst().allSatisfy { $0["old_state_ns"] is NSNumber })
        }
    }

    @Test func filtersByPortAndState() throws {
        let (events, result) = try InitContextFirings.retrying("filters") {
            let ns = try NetworkNamespace("filter")
            let tail = try Tail(["--netns", "\(ns.inode)", "--port", "5004", "--state", "syn_sent"])
            _ = try ns.loadgen(["pair", "--port", "5004"])
            _ = try ns.loadgen(["pair", "--port", "5005"])
            let (events, _, result) = try tail.stop()
            return (events, result)
        }
        #expect(result.status == 0)
        #expect(transitions(events) == ["CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED"])
        #expect(events.allSatisfy { int($0["dport"]) == 5004 })
    }

    @Test func textOutputShowsTransitions() throws {
        let result = try InitContextFirings.retrying("text output") {
            let ns = try NetworkNamespace("text")
            let child = try Child(Harness.synwave, ["tail", "--events", "--netns", "\(ns.inode)"])
            #expect(child.waitForStderr(seconds: 20) { $0.contains("tracing TCP") })
            _ = try ns.loadgen(["pair", "--port", "5006"])
            return child.interrupt()
        }
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TIME ") == true)
        // 12 state changes, and a destroy for each of the three sockets.
        #expect(lines.filter { $0.contains(" -> ") && !$0.contains("destroy") }.count == 12)
        #expect(lines.filter { $0.contains("destroy") }.count == 3)
        #expect(lines.contains { $0.contains("127.0.0.1:5006") && $0.contains("LISTEN -> SYN_RECV") })
        // "received" is host-wide (the filter applies in user space): other namespaces' sockets,
        // e.g. the previous test's being torn down, can add to it; what this namespace made is exact.
        #expect(result.stderr.contains(", 15 shown, 0 lost in the kernel"), "\(result.stderr)")
        let summary = result.stderr.split(separator: "\n").first { $0.contains("events received") }
        let received = summary.flatMap { Int($0.split(separator: " ")[1]) }
        #expect((received ?? 0) >= 15, "\(result.stderr)")
    }

    @Test func sigtermStopsCleanly() throws {
        let child = try Child(Harness.synwave, ["tail", "--json"])
        #expect(child.waitForStderr(seconds: 20) { $0.contains("tracing TCP") })
        // Our own programs, by the ids its descriptors hold: other suites may run synwave meanwhile.
        let ours = bpfProgramIDs(of: child.process.processIdentifier)
        #expect(!ours.isEmpty)
        kill(child.process.processIdentifier, SIGTERM)
        let result = child.finish()
        #expect(result.status == 0)
        #expect(result.stderr.contains("events received"))
        // Nothing of ours stays loaded (the kernel frees programs after an RCU grace period).
        var remaining = ours
        for _ in 0..<50 {
            remaining = remaining.filter { (try? run("/usr/sbin/bpftool", ["prog", "show", "id", "\($0)"]).status) == 0 }
            if remaining.isEmpty { break }
            usleep(100_000)
        }
        #expect(remaining.isEmpty, "programs still loaded: \(remaining)")
    }

    @Test func unprivilegedUserGetsAClearError() throws {
        let result = try run("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            Harness.synwave, "tail",
        ])
        #expect(result.status == 1)
        #expect(result.stderr == "synwave: tracing needs root (or CAP_BPF and CAP_PERFMON): run synwave with sudo\n")
        #expect(result.stdout.isEmpty)
    }
}

@Suite struct RootRequirement {
    @Test func rootIsAvailableWhenRequired() {
        #expect(!Harness.integrationRequired || Harness.isRoot,
                "SYNWAVE_REQUIRE_INTEGRATION=1 but not root: the BPF integration tests would be skipped")
    }
}

/// Bad flags: one clear error and usage, exit 64, never a crash. No root needed.
@Suite struct CommandLineErrorTests {
    @Test(arguments: [
        (["tail", "--ring-size", "3M"], "--ring-size must be a power of two"),
        (["tail", "--ring-size", "lots"], "--ring-size 'lots' is not a size"),
        (["tail", "--state", "SYN"], "--state 'SYN' is not a TCP state"),
        (["tail", "--addr", "300.1.1.1"], "--addr '300.1.1.1' is not an IPv4 or IPv6 address"),
        (["tail", "--port", "70000"], "--port"),
        (["tail", "--attach", "kprobe"], "--attach"),
        (["tail", "--poll-interval", "50"], "--poll-interval must be between 1 and 10"),
        (["tail", "--no-such-flag"], "--no-such-flag"),
        (["frobnicate"], "frobnicate"),
    ])
    func badArguments(arguments: [String], message: String) throws {
        let result = try run(Harness.synwave, arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("Error:"), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
    }
}

/// The BPF program ids a process holds descriptors to (programs and links), from /proc/PID/fdinfo.
func bpfProgramIDs(of pid: Int32) -> Set<Int> {
    let directory = "/proc/\(pid)/fdinfo"
    var ids: Set<Int> = []
    for fd in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
        guard let info = try? String(contentsOfFile: "\(directory)/\(fd)", encoding: .utf8) else { continue }
        for line in info.split(separator: "\n") where line.hasPrefix("prog_id:") {
            if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
        }
    }
    return ids
}
