import XCTest
@testable import SynwaveCore

final class DaemonConfigTests: XCTestCase {
    func testDefaultsNeedNoFile() {
        let config = DaemonConfig()
        XCTAssertEqual(config.eventLogPath, "/var/log/synwave/events.log")
        XCTAssertEqual(config.metricsFilePath, "/var/log/synwave/synwave.prom")
        XCTAssertEqual(config.tailSocketPath, "/run/synwave/tail.sock")
        XCTAssertEqual(config.pidFilePath, "/run/synwave/synwave.pid")
        XCTAssertEqual(config.metricsIntervalNs, 10_000_000_000)
    }

    func testFileWithCommentsQuotesAndLists() throws {
        var config = DaemonConfig()
        let text = """
            # synwave
            log_dir = "/srv/logs"   # where
            metrics_file = /var/lib/node_exporter/synwave.prom
            metrics_interval = 30s
            listener_netns = blue, "red"
            listener_all_netns = false
            tail_group = synwave-tail
            ring_size = 64M
            poll_interval = 5ms

            """
        try DaemonConfigParser.apply(file: text, path: "x.conf", to: &config)
        XCTAssertEqual(config.eventLogPath, "/srv/logs/events.log")
        XCTAssertEqual(config.metricsFilePath, "/var/lib/node_exporter/synwave.prom")
        XCTAssertEqual(config.metricsIntervalNs, 30_000_000_000)
        XCTAssertEqual(config.listenerNetns, ["blue", "red"])
        XCTAssertFalse(config.listenerAllNetns, "the default, every namespace, turned off")
        XCTAssertEqual(config.tailGroup, "synwave-tail")
        XCTAssertEqual(config.ringBufferBytes, 64 << 20)
        XCTAssertEqual(config.pollIntervalMs, 5)
    }

    func testEveryBadValueNamesItsKeyAndLine() {
        let cases: [(String, String)] = [
            ("metrics_interval = 500ms", "config c line 1: metrics_interval: '500ms' is not a duration from 1s to 1h"),
            ("\nring_size = 100K", "config c line 2: ring_size: '100K' is not a power of two from 64K to 1G"),
            ("max_sockets = lots", "config c line 1: max_sockets: 'lots' is not a count from 16 to 16777216"),
            ("listener_all_netns = yes", "config c line 1: listener_all_netns: 'yes' is not true or false"),
            ("listener_metrics_max = -1", "config c line 1: listener_metrics_max: '-1' is not a count from 0 to 100000"),
            ("run_dir = run", "config c line 1: run_dir: 'run' must be an absolute path"),
            ("tail_group = a b", "config c line 1: tail_group: 'a b' is not a group name"),
            ("event_log =", "config c line 1: event_log: needs a path"),
            ("nonsense", "config c line 1: expected key = value, found 'nonsense'"),
            ("tail_socket = " + String(repeating: "s", count: 120), "is too long for a Unix socket path"),
        ]
        for (text, expected) in cases {
            var config = DaemonConfig()
            XCTAssertThrowsError(try DaemonConfigParser.apply(file: text, path: "c", to: &config), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    func testMetricsListenTakesAnIPAndPortOrOff() throws {
        XCTAssertEqual(DaemonConfig().metricsListen, ListenAddress(IPAddress(parsing: "127.0.0.1")!, port: 9086))
        var config = DaemonConfig()
        try DaemonConfigParser.apply(assignment: "metrics_listen = [::1]:9186", to: &config)
        XCTAssertEqual(config.metricsListen?.description, "[::1]:9186")
        XCTAssertTrue(config.text.contains("metrics_listen = [::1]:9186\n"))
        try DaemonConfigParser.apply(assignment: "metrics_listen=0.0.0.0:1", to: &config)
        XCTAssertEqual(config.metricsListen, ListenAddress(IPAddress(parsing: "0.0.0.0")!, port: 1))
        try DaemonConfigParser.apply(assignment: "metrics_listen=off", to: &config)
        XCTAssertNil(config.metricsListen)
        XCTAssertTrue(config.text.contains("metrics_listen = off\n"))
        for bad in ["", "9086", ":9086", "localhost:9086", "127.0.0.1:0", "127.0.0.1:65536", "::1:9086", "[::1]9086",
                    "[127.0.0.1]:9086", "127.0.0.1:９０", "1.2.3.4:80:80", String(repeating: "1", count: 300)] {
            XCTAssertThrowsError(try DaemonConfigParser.apply(assignment: "metrics_listen=\(bad)", to: &config), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("--set: metrics_listen: '"), "\(error)")
            }
        }
    }

    func testSetOverridesAndEffectiveTextRoundTrips() throws {
        var config = DaemonConfig()
        try DaemonConfigParser.apply(assignment: "metrics_interval=2m", to: &config)
        try DaemonConfigParser.apply(assignment: "only_netns = 4026531840,blue", to: &config)
        XCTAssertEqual(config.metricsIntervalNs, 120_000_000_000)
        XCTAssertThrowsError(try DaemonConfigParser.apply(assignment: "metrics_interval", to: &config))
        var reread = DaemonConfig()
        try DaemonConfigParser.apply(file: config.text, path: "effective", to: &reread)
        XCTAssertEqual(reread, config)
    }
}

/// Each sample as `name{labels} value\n`, unescaped: what the families hold, whatever renders them
/// (the exposition itself is swift-prometheus's, tested in SynwavePrometheusTests).
private func sampleLines(_ families: [MetricFamily]) -> String {
    families.flatMap { $0.flattened() }.map { line in
        let labels = line.labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        return line.name + (labels.isEmpty ? "" : "{\(labels)}") + " " + MetricText.number(line.value) + "\n"
    }.joined()
}

final class MetricTextTests: XCTestCase {
    func testJSONLineHoldsTheSameSamples() {
        var family = MetricFamily("synwave_y", .gauge, "Y.")
        family.add(7, [("output", "events")])
        let line = String(decoding: MetricText.jsonLine([family], unixMs: 1_700_000_000_123, time: "2026-11-21T00:00:00.123Z"),
                          as: UTF8.self)
        XCTAssertEqual(line, #"{"type":"metrics","time":"2026-11-21T00:00:00.123Z","unix_ms":1700000000123,"#
                       + #""samples":[{"name":"synwave_y","labels":{"output":"events"},"value":7}]}"#)
    }

    func testDaemonMetricsNamesEveryFamilyOnce() {
        var metrics = DaemonMetrics()
        metrics.connections.connectionsEnded[.keepaliveTimeout] = 2
        metrics.tracer.programs = [ProgramStats(name: "sw_state_btf", runTimeNs: 1500, runCount: 3, recursionMisses: 1)]
        metrics.tracer.bpfStatsEnabled = true
        let families = metrics.families()
        let names = families.map(\.name)
        XCTAssertEqual(names.count, Set(names).count)
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("synwave_") })
        XCTAssertTrue(families.filter { $0.kind == .counter }.allSatisfy { $0.name.hasSuffix("_total") })
        let text = sampleLines(families)
        XCTAssertTrue(text.contains("synwave_keepalive_timeouts_total 2\n"))
        XCTAssertTrue(text.contains("synwave_connections_ended_total{end=\"keepalive_timeout\"} 2\n"))
        XCTAssertTrue(text.contains("synwave_bpf_run_seconds_total{program=\"sw_state_btf\"} 1.5e-06\n"))
        XCTAssertTrue(text.contains("synwave_bpf_recursion_misses_total{program=\"sw_state_btf\"} 1\n"))
    }

    func testPerListenerSeriesAreCappedBusiestFirst() {
        func row(_ port: UInt16, overflows: UInt64 = 0, maxAccept: UInt32 = 0) -> ListenerRow {
            ListenerRow(cookie: UInt64(port), listener: ListenerAddress(netns: 1, address: IPAddress(parsing: "0.0.0.0")!, port: port),
                        namespaceName: "host", maxAcceptQueue: maxAccept, acceptOverflows: overflows)
        }
        var metrics = DaemonMetrics()
        metrics.listeners = ListenerReport(rows: [row(1), row(2, maxAccept: 3), row(3), row(4, overflows: 1)], namespaces: [])
        metrics.listenerSeriesLimit = 2
        let text = sampleLines(metrics.families())
        XCTAssertTrue(text.contains(#"synwave_listener_backlog{netns="1",namespace="host",address="0.0.0.0",port="2",comm="",workload="none"} 0"#), text)
        XCTAssertTrue(text.contains(#"port="4""#), "the listener that dropped is kept")
        XCTAssertFalse(text.contains(#"port="1""#) || text.contains(#"port="3""#))
        XCTAssertTrue(text.contains("synwave_listeners_omitted 2\n"))
    }

    func testFiringsNotRunAreSplitByWhetherPID1WasOnTheCPU() {
        var metrics = DaemonMetrics()
        metrics.tracer.lostNotRun = 5
        metrics.tracer.lostNotRunWhileInitRan = 3
        metrics.connections.closesInferred = 2
        let text = sampleLines(metrics.families())
        XCTAssertTrue(text.contains("synwave_events_lost_total{cause=\"not_run\"} 2\n"), text)
        XCTAssertTrue(text.contains("synwave_events_lost_total{cause=\"not_run_init_context\"} 3\n"), text)
        XCTAssertTrue(text.contains("synwave_records_close_inferred_total 2\n"), text)
    }

    func testFeaturesAreExportedWithTheirAttachment() {
        var metrics = DaemonMetrics()
        metrics.features = [FeatureStatus(name: "state_changes", attachment: .btf),
                            FeatureStatus(name: "socket_errors", attachment: .off, detail: "no tracepoint"),
                            FeatureStatus(name: "listener_polling", attachment: .sockDiag)]
        let text = sampleLines(metrics.families())
        XCTAssertTrue(text.contains("synwave_feature_enabled{feature=\"state_changes\",attached=\"tp_btf\"} 1\n"))
        XCTAssertTrue(text.contains("synwave_feature_enabled{feature=\"socket_errors\",attached=\"off\"} 0\n"))
        XCTAssertTrue(text.contains("synwave_feature_enabled{feature=\"listener_polling\",attached=\"sock_diag\"} 1\n"))
    }
}

final class TailRequestTests: XCTestCase {
    func testRequestLineRoundTrips() throws {
        let filter = try EventFilter(ports: [443, 80], addresses: ["10.0.0.1", "::1"], netns: [4026531840],
                                     states: ["SYN_SENT"], ends: ["refused", "connect_timeout"])
        let request = TailRequest(view: .records, format: .text, utc: true, filter: filter)
        XCTAssertTrue(request.line.hasPrefix("SYNWAVE-TAIL 1 view=records format=text utc=1 port=80 port=443 "))
        XCTAssertTrue(request.line.hasSuffix("\n"))
        XCTAssertEqual(try TailRequest(parsing: String(request.line.dropLast())), request)
    }

    func testMalformedRequestsAreRefusedWithAReason() {
        let cases: [(String, String)] = [
            ("", "not a synwave tail request"),
            ("GET / HTTP/1.1", "not a synwave tail request"),
            ("SYNWAVE-TAIL 2 view=records", "version 2 is not supported"),
            ("SYNWAVE-TAIL 1 view=all", "unknown view 'all'"),
            ("SYNWAVE-TAIL 1 port=70000", "--port '70000' is not a port"),
            ("SYNWAVE-TAIL 1 addr=300.1.1.1", "--addr '300.1.1.1' is not an IPv4 or IPv6 address"),
            ("SYNWAVE-TAIL 1 state=OPEN", "--state 'OPEN' is not a TCP state"),
            ("SYNWAVE-TAIL 1 view=events end=refused", "cannot be used with --events"),
            ("SYNWAVE-TAIL 1 colour", "bad request word 'colour'"),
            ("SYNWAVE-TAIL 1 x=1", "unknown request key 'x'"),
            ("SYNWAVE-TAIL 1 \u{0}\u{ff}=", "unknown request key"),
        ]
        for (line, expected) in cases {
            XCTAssertThrowsError(try TailRequest(parsing: line), line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(line): \(error)")
            }
        }
    }
}
