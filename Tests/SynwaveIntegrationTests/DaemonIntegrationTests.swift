import Foundation
import SynwaveKernel
import XCTest

/// The real `synwave daemon` as a child process, each case with its own configuration,
/// directories and (where it makes traffic) network namespace.
final class DaemonIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        if !Harness.isRoot {
            if Harness.integrationRequired { XCTFail("integration tests need root (they load BPF programs)") }
            throw XCTSkip("needs root: loads BPF programs")
        }
    }

    /// With the default event log policy: the 3 refused connects, one in 10 of the 80 clean
    /// records (the first included), and the other ends of those sampled are logged; the metrics
    /// count every connection.
    func testRecordsAndMetricsMatchTheTrafficAndTheNamespaceCounters() throws {
        try recordsAndMetricsMatchTheTraffic(assemble: "kernel")
    }

    /// The same numbers where user space assembles connections from every event (the path of
    /// kernels without socket storage for tp_btf, or classic tracepoints).
    func testRecordsAndMetricsMatchTheTrafficWhenUserSpaceAssembles() throws {
        try recordsAndMetricsMatchTheTraffic(assemble: "user")
    }

    private func recordsAndMetricsMatchTheTraffic(assemble: String) throws {
        let atLeast = 3 + 8
        let run = try InitContextFirings.retrying("daemon records and metrics") {
            let namespace = try NetworkNamespace("daemon-metrics")
            let daemon = try DaemonUnderTest("metrics", settings: ["only_netns = \(namespace.inode)", "listener_netns = \(namespace.name)",
                                                                   "assemble = \(assemble)", "event_log_sample = 10"])
            defer { daemon.remove() }

            let churn = try namespace.loadgen(["churn", "--connections", "40", "--seconds", "20"]).answer
            for _ in 0..<3 { _ = try namespace.loadgen(["connect", "--addr", "127.0.0.1", "--port", "9", "--once"]) }
            daemon.waitForRecords(atLeast)
            usleep(1_200_000)  // at least one periodic metrics line before the final one
            let result = daemon.terminate()
            let records = try DaemonUnderTest.jsonLines(daemon.eventLog).filter { $0["type"] as? String == "connection" }
            return DaemonRun(netns: Int(namespace.inode), made: int(churn["connections"]), records: records, result: result,
                             prom: try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8)),
                             tcp: try tcpCounters(in: namespace), metricsLines: try DaemonUnderTest.jsonLines(daemon.metricsLog),
                             leftBehind: [daemon.pidFile, daemon.tailSocket].filter { FileManager.default.fileExists(atPath: $0) })
        }
        let (made, records, prom, tcp) = (run.made, run.records, run.prom, run.tcp)
        XCTAssertEqual(made, 40)
        XCTAssertEqual(run.result.status, 0, run.result.stderr)
        XCTAssertFalse(run.result.stderr.contains("polling through sock_diag instead"), "the BPF listener iterator failed: \(run.result.stderr)")
        XCTAssertTrue(run.result.stderr.contains("feature.attached=\(KernelAllows.listenerPollingAttachment) feature.detail=current queue depths")
                      && run.result.stderr.contains("feature.name=listener_polling"), run.result.stderr)

        XCTAssertTrue(run.result.stderr.contains("feature.attached=\(assemble == "kernel" ? KernelAllows.connectionRecordsAttachment : "off")"
                                                 + " feature.detail=") && run.result.stderr.contains("feature.name=connection_records"),
                      run.result.stderr)

        // The event log: every failed connection, one clean one in 10, nothing from other namespaces.
        let sampled = records.filter { $0["sampled"] != nil }
        let otherEnds = records.filter { $0["kept"] as? String == "other_end" }
        XCTAssertTrue(records.allSatisfy { int($0["netns"]) == run.netns })
        XCTAssertEqual(records.filter { $0["end"] as? String == "refused" }.count, 3)
        XCTAssertEqual(records.filter { $0["end"] as? String == "closed" }.count, sampled.count + otherEnds.count)
        XCTAssertEqual(records.count, 3 + sampled.count + otherEnds.count)
        XCTAssertTrue(sampled.allSatisfy { int($0["sampled"]) == 10 }, "\(sampled)")
        // Counted, not random: every 10th clean record the sample saw (the other ends kept are not in its count).
        XCTAssertEqual(sampled.count, (2 * made - otherEnds.count + 9) / 10)
        func tuple(_ r: [String: Any], mirrored: Bool = false) -> String {
            let (a, b) = ("\(r["saddr"] ?? ""):\(int(r["sport"]))", "\(r["daddr"] ?? ""):\(int(r["dport"]))")
            return mirrored ? b + ">" + a : a + ">" + b
        }
        let sampledTuples = Set(sampled.map { tuple($0) })
        XCTAssertTrue(otherEnds.allSatisfy { sampledTuples.contains(tuple($0, mirrored: true)) }, "each kept end's connection was sampled")
        XCTAssertEqual(prom["synwave_event_log_records_total{decision=\"failed\"}"], 3)
        XCTAssertEqual(prom["synwave_event_log_records_total{decision=\"sampled\"}"], Double(sampled.count))
        XCTAssertEqual(prom["synwave_event_log_records_total{decision=\"other_end\"}"], Double(otherEnds.count))
        XCTAssertEqual(prom["synwave_event_log_records_total{decision=\"skipped\"}"], Double(2 * made - sampled.count - otherEnds.count))

        // The final metrics file: the traffic, and the namespace's own counters.
        XCTAssertEqual(prom["synwave_connections_opened_total{role=\"client\"}"], Double(tcp["ActiveOpens"]!))
        XCTAssertEqual(prom["synwave_connections_opened_total{role=\"server\"}"], Double(tcp["PassiveOpens"]!))
        XCTAssertEqual(tcp["ActiveOpens"], made + 3)
        XCTAssertEqual(tcp["PassiveOpens"], made)
        XCTAssertEqual(prom["synwave_connections_refused_total"], Double(tcp["AttemptFails"]!))
        XCTAssertEqual(prom["synwave_connections_refused_total"], 3)
        XCTAssertEqual(prom["synwave_connections_ended_total{end=\"closed\"}"], Double(2 * made))
        XCTAssertEqual(prom["synwave_handshake_seconds_count"], Double(2 * made))
        XCTAssertEqual(prom["synwave_connection_duration_seconds_count"], Double(2 * made + 3))
        XCTAssertEqual(prom["synwave_events_lost_total{cause=\"ring_buffer_full\"}"], 0)
        XCTAssertEqual(prom["synwave_events_lost_total{cause=\"not_run\"}"], 0)
        XCTAssertEqual(prom["synwave_events_dropped_total"], 0)
        XCTAssertEqual(prom["synwave_decode_errors_total"], 0)
        XCTAssertEqual(prom["synwave_output_lines_total{output=\"events\"}"], Double(records.count))
        XCTAssertEqual(prom.types["synwave_handshake_seconds"], "histogram")
        XCTAssertNotNil(prom["synwave_bpf_recursion_misses_total{program=\"sw_state_btf\"}"])
        XCTAssertEqual(prom["synwave_feature_enabled{feature=\"state_changes\",attached=\"tp_btf\"}"], 1)
        XCTAssertEqual(prom["synwave_feature_enabled{feature=\"listener_polling\",attached=\"\(KernelAllows.listenerPollingAttachment)\"}"], 1)
        XCTAssertNotNil(prom.samples.keys.first { $0.hasPrefix("synwave_netns_listen_overflows_total{netns=\"\(run.netns)\"") })

        // The metrics log's last line carries the same values.
        let lines = run.metricsLines
        XCTAssertGreaterThanOrEqual(lines.count, 2, "one line per second and a final one")
        let samples = try XCTUnwrap(lines.last?["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.count, prom.samples.count)
        for sample in samples {
            let name = sample["name"] as? String ?? ""
            let labels = (sample["labels"] as? [String: String]) ?? [:]
            let matching = prom.samples.filter { key, _ in
                key == name || (key.hasPrefix(name + "{") && labels.allSatisfy { key.contains("\($0.key)=\"\($0.value)\"") })
            }
            if name == "synwave_uptime_seconds" { continue }
            let value = (sample["value"] as? NSNumber)?.doubleValue ?? -1
            XCTAssertTrue(matching.values.contains { abs($0 - value) <= 1e-9 * max(1, abs(value)) }, "\(sample)")
        }
        XCTAssertEqual(run.leftBehind, [], "pidfile and tail socket removed at exit")
    }

    private struct DaemonRun {
        var netns: Int
        var made: Int
        var records: [[String: Any]]
        var result: CommandResult
        var prom: PrometheusFile
        var tcp: [String: Int]
        var metricsLines: [[String: Any]]
        var leftBehind: [String]
    }

    /// Clients that connect and send nothing are answered and closed after the request deadline;
    /// past `tail_clients_max` a client gets one ERROR line at once; both are counted.
    func testSilentTailClientsAreClosedAndTheClientCountIsCapped() throws {
        let daemon = try DaemonUnderTest("tailcap", settings: ["tail_clients_max = 2"])
        defer { daemon.remove() }
        func answer(_ socket: UnixSocket) -> String {
            var timeout = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var text: [UInt8] = []
            while let chunk = try? socket.readSome(), !chunk.isEmpty { text += chunk }
            return String(decoding: text, as: UTF8.self)
        }
        let silent = try (0..<2).map { _ in try UnixSocket.connect(path: daemon.tailSocket) }
        usleep(500_000)  // accepted (the server looks for clients every 100 ms)
        let extra = try UnixSocket.connect(path: daemon.tailSocket)
        let started = Date()
        XCTAssertEqual(answer(extra), "ERROR too many tail clients (2 connected, tail_clients_max): try again later\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4, "refused at once, not at the request deadline")
        for socket in silent { XCTAssertEqual(answer(socket), "ERROR no request line within 5 s\n") }
        // Room again: a real tail is served.
        let tail = try Child(Harness.synwave, ["tail", "--socket", daemon.tailSocket, "--json"])
        XCTAssertTrue(tail.waitForStderr(seconds: 10) { $0.contains("from the daemon") }, tail.err.text)
        XCTAssertEqual(tail.interrupt().status, 0)
        XCTAssertEqual(daemon.terminate().status, 0)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        XCTAssertEqual(prom["synwave_tail_clients_refused_total{cause=\"too_many_clients\"}"], 1)
        XCTAssertEqual(prom["synwave_tail_clients_refused_total{cause=\"bad_request\"}"], 2)
    }

    /// Idle connections are looked up in the kernel's table (close_check_after) and, being
    /// there, stay open: no record before they close, and none marked close_lost after.
    /// (User space holds open connections only where it assembles them.)
    func testIdleConnectionsTheKernelStillHasStayOpen() throws {
        let namespace = try NetworkNamespace("daemon-idle")
        let daemon = try DaemonUnderTest("idle", settings: ["only_netns = \(namespace.inode)", "close_check_after = 1s",
                                                            "assemble = user", "event_log_records = all"])
        defer { daemon.remove() }
        let (server, clients) = try namespace.heldConnections(port: 7310, count: 2, hold: 3.5)
        defer { _ = server.interrupt() }
        usleep(3_000_000)  // idle past close_check_after: looked up at least once
        XCTAssertEqual(daemon.waitForRecords(1, seconds: 0.1).count, 0, "no record while the connections are open")
        XCTAssertEqual(clients.finish(seconds: 10).status, 0)
        _ = server.interrupt()
        let records = daemon.waitForRecords(4)
        let result = daemon.terminate()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(records.count, 4)
        XCTAssertTrue(records.allSatisfy { $0["close_lost"] as? Bool == false }, "\(records)")
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        XCTAssertEqual(prom["synwave_records_close_lost_total"], 0)
        XCTAssertGreaterThanOrEqual(prom["synwave_idle_sockets_confirmed_total"] ?? 0, 4, "each end looked up and found at least once")
        XCTAssertTrue(result.stderr.contains("0 connections still open (no record)"), result.stderr)
    }

    func testTailClientsReceiveLiveEventsFromTheDaemonWithoutLoadingPrograms() throws {
        let namespace = try NetworkNamespace("daemon-tail")
        let daemon = try DaemonUnderTest("tail")
        defer { daemon.remove() }

        let tails = try [["--json"], ["--json", "--events"], []].map { flags in
            let child = try Child(Harness.synwave, ["tail", "--socket", daemon.tailSocket, "--netns", "\(namespace.inode)"] + flags)
            XCTAssertTrue(child.waitForStderr(seconds: 10) { $0.contains("from the daemon") }, child.err.text)
            XCTAssertTrue(bpfProgramIDs(of: child.process.processIdentifier).isEmpty, "a tail of the daemon loads no programs")
            return child
        }
        _ = try namespace.loadgen(["pair", "--bytes", "3000"])
        _ = try namespace.loadgen(["connect", "--addr", "127.0.0.1", "--port", "9", "--once"])
        usleep(600_000)
        let results = tails.map { $0.interrupt() }

        let records = results[0].stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(records.count, 3, results[0].stdout)
        XCTAssertTrue(records.allSatisfy { $0["type"] as? String == "connection" && int($0["netns"]) == Int(namespace.inode) })
        XCTAssertEqual(records.filter { $0["end"] as? String == "refused" }.count, 1)
        let events = results[1].stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertTrue(events.contains { $0["type"] as? String == "state" && $0["new"] as? String == "ESTABLISHED" })
        XCTAssertTrue(results[2].stdout.hasPrefix("TIME"), "the text view starts with its header")
        XCTAssertTrue(results[2].stdout.contains("refused"), results[2].stdout)
        for result in results { XCTAssertEqual(result.status, 0, result.stderr) }
        XCTAssertEqual(daemon.terminate().status, 0)
    }

    func testASlowTailClientIsSkippedWithANoticeAndNeverSlowsTheDaemon() throws {
        let namespace = try NetworkNamespace("daemon-slow")
        let daemon = try DaemonUnderTest("slow", settings: ["only_netns = \(namespace.inode)", "tail_client_buffer = 64K",
                                                            "event_log_records = all"])
        defer { daemon.remove() }
        // A client that asks for every event, then does not read while the traffic runs.
        let client = try UnixClient(path: daemon.tailSocket)
        try client.send("SYNWAVE-TAIL 1 view=events format=json\n")
        // The daemon turns every event on as it answers: traffic before that would reach no one.
        XCTAssertEqual(client.readLine(seconds: 10), "OK")
        let made = int(try namespace.loadgen(["churn", "--connections", "3000", "--seconds", "20"]).answer["connections"])
        XCTAssertEqual(daemon.waitForRecords(2 * made).count, 2 * made, "the event log is complete: the slow client held nothing up")

        let received = client.readAll(seconds: 2)
        let lines = received.split(separator: "\n")
        let notices = lines.filter { $0.hasPrefix("# ") && $0.contains("lines skipped: this tail read too slowly") }
        XCTAssertFalse(notices.isEmpty, "told how many lines it missed")
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("# ") || $0.hasPrefix("{\"type\":") }, "whole lines only")
        usleep(1_200_000)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        let skipped = prom["synwave_tail_lines_skipped_total"] ?? 0
        XCTAssertGreaterThan(skipped, 0)
        let reported = notices.compactMap { Int($0.dropFirst(2).prefix(while: \.isNumber)) }.reduce(0, +)
        XCTAssertLessThanOrEqual(Double(reported), skipped)
        XCTAssertEqual(daemon.terminate().status, 0)
    }

    func testRenamedLogAndSighupLoseNoLine() throws {
        let namespace = try NetworkNamespace("daemon-hup")
        let daemon = try DaemonUnderTest("hup", settings: ["only_netns = \(namespace.inode)", "event_log_records = all"])
        defer { daemon.remove() }

        let churn = try Child("/usr/sbin/ip", ["netns", "exec", namespace.name, Harness.loadgen,
                                               "churn", "--connections", "1000000", "--seconds", "3"])
        usleep(1_000_000)
        try FileManager.default.moveItem(atPath: daemon.eventLog, toPath: daemon.eventLog + ".1")
        usleep(300_000)
        daemon.signal(SIGHUP)
        let answer = churn.finish()
        let made = int((try JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any])?["connections"])
        XCTAssertGreaterThan(made, 0, answer.stderr)
        let deadline = Date().addingTimeInterval(15)
        while DaemonUnderTest.lineCount(daemon.eventLog + ".1") + DaemonUnderTest.lineCount(daemon.eventLog) < 2 * made,
              Date() < deadline {
            usleep(200_000)
        }
        let result = daemon.terminate()
        let rotated = try DaemonUnderTest.jsonLines(daemon.eventLog + ".1")
        let current = try DaemonUnderTest.jsonLines(daemon.eventLog)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("SIGHUP: reopening"), result.stderr)
        XCTAssertGreaterThan(rotated.count, 0, "lines before the rename stay in the renamed file")
        XCTAssertGreaterThan(current.count, 0, "lines after SIGHUP go to the new file")
        // Every line the daemon wrote is in exactly one of the files, whole (each parsed above).
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        XCTAssertEqual(Double(rotated.count + current.count), prom["synwave_output_lines_total{output=\"events\"}"])
        let ended = prom.samples.filter { $0.key.hasPrefix("synwave_connections_ended_total{") }.values.reduce(0, +)
        // Listener events share the log (an accept queue filling under this churn): only records count here.
        let records = (rotated + current).filter { $0["type"] as? String == "connection" }
        XCTAssertEqual(Double(records.count), ended)
        // Records of the traffic: every connection has one, unless one of its events was lost or
        // it was still open in the correlator when the daemon stopped (no record then; the final
        // snapshot's tracked sockets count it): under this 10k/s churn a few dozen sockets
        // sometimes never see their close, because the kernel withheld those events (counted as
        // lost), but none goes uncounted.
        let stillOpen = Int(prom["synwave_tracked_sockets"] ?? 0)
        let expired = Int(prom["synwave_records_expired_total"] ?? 0)
        let lost = prom.samples.filter { $0.key.hasPrefix("synwave_events_lost_total{") }.values.reduce(0, +)
        XCTAssertGreaterThanOrEqual(records.count + stillOpen + expired + Int(lost), 2 * made,
                                    "still open \(stillOpen), expired \(expired), lost \(lost)")
        let cookies = records.map { "\(int($0["cookie"]))" }
        let twice = Dictionary(grouping: records) { int($0["cookie"]) }.filter { $0.value.count > 1 }
        XCTAssertEqual(Set(cookies).count, cookies.count, "records of one cookie: \(twice.values.flatMap { $0 })")
    }

    func testSigtermDetachesEverythingAndExitsZero() throws {
        let daemon = try DaemonUnderTest("sigterm")
        defer { daemon.remove() }
        let programs = bpfProgramIDs(of: daemon.pid)
        XCTAssertFalse(programs.isEmpty)
        let result = daemon.terminate()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("daemon stopped"), result.stderr)
        XCTAssertEqual(try loadedPrograms(among: programs, within: 10), [], "programs still loaded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.pidFile))
        // The final snapshot was written at exit.
        XCTAssertNoThrow(try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8)))
    }

    func testKillNineThenRestartWorksAndLeavesNothingAttached() throws {
        let daemon = try DaemonUnderTest("kill9")
        defer { daemon.remove() }
        let programs = bpfProgramIDs(of: daemon.pid)
        XCTAssertFalse(programs.isEmpty)
        daemon.signal(SIGKILL)
        _ = daemon.child.finish()
        // The kernel frees programs shortly after their last descriptor closes, not at once.
        XCTAssertEqual(try loadedPrograms(among: programs, within: 10), [], "programs outlived their process")
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.pidFile), "kill -9 leaves the pidfile; its lock is gone")

        try daemon.restart()
        let again = bpfProgramIDs(of: daemon.pid)
        XCTAssertFalse(again.isEmpty)
        XCTAssertEqual(daemon.terminate().status, 0)
        XCTAssertEqual(try loadedPrograms(among: again, within: 10), [])
    }

    func testASecondInstanceIsRefused() throws {
        let daemon = try DaemonUnderTest("second")
        defer { daemon.remove() }
        let second = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--config", daemon.configPath], seconds: 30)
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("another synwave daemon is running (pid \(daemon.pid)"), second.stderr)
        // The refused instance touched nothing of the running one's: its pidfile and tail socket stay,
        // so a third is refused too.
        XCTAssertEqual(try? String(contentsOfFile: daemon.pidFile, encoding: .utf8), "\(daemon.pid)\n", "the running daemon's pidfile")
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.tailSocket), "the running daemon's tail socket")
        let third = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--config", daemon.configPath], seconds: 30)
        XCTAssertNotEqual(third.status, 0, "a third daemon started beside the first: \(third.stderr)")
        XCTAssertTrue(third.stderr.contains("another synwave daemon is running (pid \(daemon.pid)"), third.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.tailSocket))
        XCTAssertEqual(daemon.terminate().status, 0, "the first one is unharmed")
    }

    func testBadConfigurationIsRefusedNamingTheKey() throws {
        let directory = NSTemporaryDirectory() + "synwave-badconfig-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(name: String, config: String, flags: [String], expected: String)] = [
            ("interval zero", "metrics_interval = 0s", [], "line 1: metrics_interval: '0s' is not a duration"),
            ("ring not a power of two", "ring_size = 3M", [], "ring_size: '3M' is not a power of two"),
            ("unknown key", "# comment\nlog_dir = /tmp/x\nmetrics_intervall = 5s", [], "line 3: metrics_intervall: unknown key"),
            ("no equals", "attach btf", [], "line 1: expected key = value"),
            ("bad attach", "attach = kprobe", [], "attach: 'kprobe' is not one of auto, btf, tracepoint"),
            ("relative log dir", "log_dir = logs", [], "log_dir: 'logs' must be an absolute path"),
            ("no such group", "tail_group = synwave-no-such-group", [], "tail_group: no group named 'synwave-no-such-group'"),
            ("no such namespace", "only_netns = synwave-no-such-netns", [], "only_netns: 'synwave-no-such-netns' is not a network namespace"),
            ("flag override", "", ["--set", "max_sockets=3"], "--set: max_sockets: '3' is not a count"),
            ("set twice", "attach = btf\nattach = auto", [], "line 2: attach: set twice"),
        ]
        for (index, item) in cases.enumerated() {
            let path = "\(directory)/\(index).conf"
            try (item.config + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let result = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--config", path, "--run-dir", directory + "/run",
                                                   "--log-dir", directory + "/log"] + item.flags)
            XCTAssertEqual(result.status, 64, "\(item.name): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(item.name): one line: \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(item.expected), "\(item.name): \(result.stderr)")
            // --check refuses exactly what start refuses, with the same line.
            let checked = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--check", "--config", path] + item.flags)
            XCTAssertEqual(checked.status, 64, "\(item.name) with --check: \(checked.stdout)\(checked.stderr)")
            XCTAssertTrue(checked.stderr.contains(item.expected), "\(item.name) with --check: \(checked.stderr)")
        }
        let missing = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--config", directory + "/none.conf"])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("none.conf: cannot read it"), missing.stderr)
    }

    func testAnUnprivilegedUserCannotTail() throws {
        let daemon = try DaemonUnderTest("unprivileged")
        defer { daemon.remove() }
        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.tailSocket)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        // A copy the user may execute, wherever the checkout lives.
        let binary = daemon.directory + "/synwave"
        try FileManager.default.copyItem(atPath: Harness.synwave, toPath: binary)
        let result = try SynwaveIntegrationTests.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                  binary, "tail", "--socket", daemon.tailSocket])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("permission denied"), result.stderr)
        XCTAssertEqual(daemon.terminate().status, 0)
    }

    func testLogDirectoryRemovedIsCountedAndRecreated() throws {
        let namespace = try NetworkNamespace("daemon-rmdir")
        let daemon = try DaemonUnderTest("rmdir", settings: ["only_netns = \(namespace.inode)", "event_log_records = all"])
        defer { daemon.remove() }
        try FileManager.default.removeItem(atPath: daemon.logDirectory)
        _ = try namespace.loadgen(["pair"])
        let records = daemon.waitForRecords(2)
        XCTAssertEqual(records.count, 2, "records after the removal land in a recreated log")
        usleep(1_500_000)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        XCTAssertEqual(prom["synwave_output_write_errors_total{output=\"events\"}"], 1)
        let result = daemon.terminate()
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("was deleted"), result.stderr)
    }

    func testFullDiskIsCountedRetriedAndLosesNothing() throws {
        let namespace = try NetworkNamespace("daemon-full")
        let outside = DaemonUnderTest.directory(for: "full")
        var mountPoint: String?
        // The event log on a tiny file system; the metrics beside it, so they can report the trouble.
        let daemon = try DaemonUnderTest("full", settings: [
            "only_netns = \(namespace.inode)", "metrics_file = \(outside)/synwave.prom", "metrics_log = \(outside)/metrics.log",
            "event_log_records = all",
        ]) { directory in
            let logs = directory + "/log"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let mounted = try SynwaveIntegrationTests.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "synwave-test", logs])
            guard mounted.status == 0 else { throw HarnessError("mount tmpfs: \(mounted.stderr)") }
            mountPoint = logs
        }
        defer {
            daemon.remove()
            if let mountPoint { _ = try? SynwaveIntegrationTests.run("/usr/bin/umount", [mountPoint]) }
        }
        // Fill the file system: the event log cannot grow.
        _ = try SynwaveIntegrationTests.run("/usr/bin/dd", ["if=/dev/zero", "of=\(daemon.logDirectory)/filler", "bs=4k", "count=1000"])
        _ = try namespace.loadgen(["churn", "--connections", "20", "--seconds", "10"])
        usleep(2_500_000)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: outside + "/synwave.prom", encoding: .utf8))
        XCTAssertGreaterThan(prom["synwave_output_write_errors_total{output=\"events\"}"] ?? 0, 0)
        XCTAssertEqual(prom["synwave_output_lines_pending{output=\"events\"}"], 40)
        XCTAssertTrue(daemon.child.process.isRunning, "the daemon keeps tracing")

        try FileManager.default.removeItem(atPath: "\(daemon.logDirectory)/filler")
        let records = daemon.waitForRecords(40)
        XCTAssertEqual(records.count, 40, "queued lines written once there is room")
        let result = daemon.terminate()
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("No space left on device"), result.stderr)
        XCTAssertTrue(result.stderr.contains("writable again"), result.stderr)
        XCTAssertTrue(result.stderr.contains("40 event log lines written, 0 log lines dropped (log_buffer_limit), 0 never written"), result.stderr)
    }

    /// Which of `ids` `bpftool prog show` still lists after waiting up to `seconds` for them to go.
    private func loadedPrograms(among ids: Set<Int>, within seconds: Double) throws -> Set<Int> {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let shown = try SynwaveIntegrationTests.run("/usr/sbin/bpftool", ["prog", "show"]).stdout
            let listed = Set(shown.split(separator: "\n").compactMap { line in Int(line.prefix(while: \.isNumber)) })
            let remaining = ids.intersection(listed)
            if remaining.isEmpty || Date() > deadline { return remaining }
            usleep(100_000)
        }
    }
}

