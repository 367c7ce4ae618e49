import Foundation
import XCTest

/// The daemon's metrics as a fleet reads them: a real Prometheus scraping `/metrics` every
/// second, and a real node_exporter's textfile collector reading `synwave.prom`, both queried
/// through Prometheus's HTTP API and held against the traffic made and the namespace's counters.
final class PrometheusIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        if !Harness.isRoot {
            if Harness.integrationRequired { XCTFail("integration tests need root (they load BPF programs)") }
            throw XCTSkip("needs root: loads BPF programs")
        }
        for binary in [PrometheusServer.binary, NodeExporter.binary] where !FileManager.default.isExecutableFile(atPath: binary) {
            if Harness.integrationRequired { XCTFail("\(binary) is missing: run tools/setup") }
            throw XCTSkip("\(binary) is missing: run tools/setup")
        }
    }

    func testPrometheusAndNodeExporterSeeTheTrafficTheNamespaceCounted() throws {
        let namespace = try NetworkNamespace("prometheus")
        let endpointPort = try freeLoopbackPort()
        let daemon = try DaemonUnderTest("prometheus", settings: [
            "only_netns = \(namespace.inode)", "metrics_listen = 127.0.0.1:\(endpointPort)",
            "metrics_file = \(DaemonUnderTest.directory(for: "prometheus"))/textfile/synwave.prom",
        ], prepare: { try FileManager.default.createDirectory(atPath: $0 + "/textfile", withIntermediateDirectories: true) })
        defer { daemon.remove() }
        let nodeExporter = try NodeExporter(textfileDirectory: daemon.directory + "/textfile")
        defer { _ = nodeExporter.stop() }
        let prometheus = try PrometheusServer(directory: daemon.directory + "/prometheus", targets: [
            ("synwave", "127.0.0.1:\(endpointPort)"), ("node", nodeExporter.address),
        ])
        defer { _ = prometheus.stop() }

        // What a scraper gets: the text format, with its content type.
        let scrape = try httpGet("http://127.0.0.1:\(endpointPort)/metrics")
        XCTAssertEqual(scrape.status, 200)
        XCTAssertEqual(scrape.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertNoThrow(try PrometheusFile(parsing: scrape.body))
        XCTAssertEqual(try httpGet("http://127.0.0.1:\(endpointPort)/nothing").status, 404)

        // Scrapers that stall: one sends half a request, one asks and never reads. Tracing and
        // Prometheus's own scrapes must go on regardless.
        let stalled = try (0..<2).map { _ in try RawTCPClient(port: endpointPort) }
        try stalled[0].send("GET /metrics HTTP/1.1\r\nHost: x\r\n")
        for _ in 0..<50 { try stalled[1].send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") }

        // Normal, reset and refused connections in the namespace.
        let closed = int(try namespace.loadgen(["churn", "--connections", "20", "--seconds", "20"]).answer["connections"])
        let reset = int(try namespace.loadgen(["churn", "--connections", "10", "--seconds", "20", "--close", "rst"]).answer["connections"])
        for _ in 0..<3 { _ = try namespace.loadgen(["connect", "--addr", "127.0.0.1", "--port", "9", "--once"]) }
        XCTAssertEqual(closed, 20)
        XCTAssertEqual(reset, 10)
        let tcp = try tcpCounters(in: namespace)
        XCTAssertEqual(tcp["ActiveOpens"], 33)
        XCTAssertEqual(tcp["PassiveOpens"], 30)
        XCTAssertEqual(tcp["AttemptFails"], 3)
        XCTAssertEqual(tcp["EstabResets"], 20, "both ends of each reset connection")

        // Each counter through both paths: the daemon's endpoint, and node_exporter's textfile collector.
        let expected: [(String, Int)] = [
            (#"synwave_connections_opened_total{role="client"}"#, tcp["ActiveOpens"]!),
            (#"synwave_connections_opened_total{role="server"}"#, tcp["PassiveOpens"]!),
            ("synwave_connections_refused_total", tcp["AttemptFails"]!),
            (#"synwave_connections_ended_total{end="refused"}"#, tcp["AttemptFails"]!),
            (#"synwave_connections_ended_total{end="closed"}"#, 2 * closed),
            (#"sum(synwave_connections_ended_total{end=~"reset_sent|reset_received"})"#, tcp["EstabResets"]!),
            ("synwave_resets_received_total", reset + 3),
            ("synwave_handshake_seconds_count", 2 * (closed + reset)),
        ]
        for job in ["synwave", "node"] {
            for (query, value) in expected {
                let scoped = Self.scope(query, job: job)
                XCTAssertEqual(try prometheus.settle(scoped, at: Double(value)), Double(value), scoped)
            }
            XCTAssertEqual(try prometheus.value(#"up{job="\#(job)"}"#), 1)
            XCTAssertEqual(try prometheus.value(#"synwave_events_lost_total{job="\#(job)",cause="ring_buffer_full"}"#), 0)
        }
        XCTAssertEqual(try prometheus.value(#"node_textfile_scrape_error{job="node"}"#), 0)
        let scrapes = try prometheus.value(#"sum(synwave_http_requests_total{job="synwave",http_route="/metrics"})"#)
        XCTAssertGreaterThanOrEqual(scrapes ?? 0, 1, "the endpoint counts its scrapes (swift-metrics, Hummingbird)")

        XCTAssertEqual(try httpGet("http://127.0.0.1:\(endpointPort)/metrics").status, 200, "served beside the stalled scrapers")
        _ = stalled

        // Everything started here stops cleanly.
        XCTAssertEqual(daemon.terminate().status, 0)
        // Prometheus exits 0 on SIGINT; node_exporter has no handler and ends by the signal.
        XCTAssertEqual(prometheus.stop().status, 0)
        _ = nodeExporter.stop()
        XCTAssertFalse(prometheus.child.process.isRunning || nodeExporter.child.process.isRunning)
    }

    /// A port already taken: one line naming it, and a non-zero exit, before anything is traced.
    func testAPortInUseIsOneLineAndAFailure() throws {
        let port = try freeLoopbackPort()
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        XCTAssertEqual(withLoopback(port: port, { bind(holder, $0, $1) }).result, 0)
        XCTAssertEqual(listen(holder, 1), 0)
        let directory = DaemonUnderTest.directory(for: "portinuse")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try SynwaveIntegrationTests.run(Harness.synwave, ["daemon", "--log-dir", directory + "/log", "--run-dir", directory + "/run",
                                               "--metrics-listen", "127.0.0.1:\(port)"])
        XCTAssertEqual(result.status, 1)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertEqual(lines.first.map(String.init),
                       "synwave: metrics_listen 127.0.0.1:\(port): bind 127.0.0.1:\(port) failed: Address already in use (errno 98); "
                       + "another process listens there (metrics_listen = off, or another address)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run/synwave.pid"), "refused before starting")
    }

    /// `job` into a selector: `name{…}` gains `job="…"`, and so does a `sum(name{…})`.
    private static func scope(_ query: String, job: String) -> String {
        if let brace = query.firstIndex(of: "{") {
            return query[...brace] + "job=\"\(job)\"," + query[query.index(after: brace)...]
        }
        return query + "{job=\"\(job)\"}"
    }
}
