import Foundation
import XCTest

/// `synwave report` and `synwave ladder` on logs a real daemon wrote: the page opened in a real
/// headless browser (its rendered DOM checked against the traffic made, a screenshot taken), and
/// ladders drawn for a refused and a reset connection.
final class ReportIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        if !Harness.isRoot {
            if Harness.integrationRequired { XCTFail("integration tests need root (they load BPF programs)") }
            throw XCTSkip("needs root: loads BPF programs")
        }
        if !FileManager.default.isExecutableFile(atPath: Chromium.binary) {
            if Harness.integrationRequired { XCTFail("\(Chromium.binary) is missing: run tools/setup") }
            throw XCTSkip("\(Chromium.binary) is missing: run tools/setup")
        }
    }

    func testReportInABrowserAndLaddersOfRealConnections() throws {
        let namespace = try NetworkNamespace("report")
        let daemon = try DaemonUnderTest("report", settings: ["only_netns = \(namespace.inode)", "listener_netns = \(namespace.name)"])
        defer { daemon.remove() }

        // Clean, reset and refused connections, and a listener whose accept queue overflows.
        let closed = int(try namespace.loadgen(["churn", "--connections", "20", "--seconds", "20"]).answer["connections"])
        let reset = int(try namespace.loadgen(["churn", "--connections", "10", "--seconds", "20", "--close", "rst"]).answer["connections"])
        for _ in 0..<3 { _ = try namespace.loadgen(["connect", "--addr", "127.0.0.1", "--port", "9", "--once"]) }
        XCTAssertEqual(closed, 20)
        XCTAssertEqual(reset, 10)
        let listenerPort = 7311
        let listener = try Child("/usr/sbin/ip", ["netns", "exec", namespace.name, Harness.loadgen, "listen", "--port", "\(listenerPort)",
                                                  "--backlog", "1", "--seconds", "6"])
        usleep(300_000)
        let burst = try Child("/usr/sbin/ip", ["netns", "exec", namespace.name, Harness.loadgen, "burst", "--addr", "127.0.0.1",
                                               "--port", "\(listenerPort)", "--count", "8", "--spacing-ms", "5", "--hold-seconds", "3"])
        _ = burst.finish(seconds: 30)
        _ = listener.finish(seconds: 30)
        // Every reset end and refusal is notable: all logged.
        XCTAssertGreaterThanOrEqual(daemon.waitForRecords(2 * reset + 3).count, 2 * reset + 3)
        usleep(1_500_000) // a metrics snapshot after the last of it
        XCTAssertEqual(daemon.terminate().status, 0)

        let records = try DaemonUnderTest.jsonLines(daemon.eventLog)
        // A line some other writer cut, and one cut short at the end: counted, never fatal.
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: daemon.eventLog))
        try log.seekToEnd()
        try log.write(contentsOf: Data("garbage from elsewhere\n{\"type\":\"connection\",\"start_ns\":12".utf8))
        try log.close()

        let page = daemon.directory + "/report.html"
        let report = try SynwaveIntegrationTests.run(Harness.synwave, ["report", "--log-dir", daemon.logDirectory, "-o", page])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stderr.contains("synwave: report: 1 garbage line skipped"), report.stderr)
        XCTAssertTrue(report.stderr.contains("synwave: report: 1 torn line (cut short) skipped"), report.stderr)
        XCTAssertTrue(report.stderr.contains("synwave: report: wrote \(page)"), report.stderr)

        // The page as a browser renders it.
        let dom = try Chromium.renderedDOM(of: page, profile: daemon.directory + "/chromium")
        XCTAssertEqual(dataValue(dom, after: #"<tr data-end="refused">"#), 3, "refusals, from the metrics log")
        XCTAssertGreaterThanOrEqual(dataValue(dom, after: #"<tr data-end="closed">"#) ?? 0, 2 * closed)
        let resets = (dataValue(dom, after: #"<tr data-end="reset_sent">"#) ?? 0) + (dataValue(dom, after: #"<tr data-end="reset_received">"#) ?? 0)
        XCTAssertGreaterThanOrEqual(resets, 2 * reset)
        XCTAssertGreaterThanOrEqual(dataValue(dom, after: #"id="total-failed""#) ?? 0, 2 * reset + 3)
        XCTAssertEqual(dataValue(dom, after: #"<tr data-key="127.0.0.1:9">"#), 3, "the refusing peer tops the failures")
        XCTAssertGreaterThanOrEqual(dataValue(dom, after: #"<tr data-port="\#(listenerPort)">"#) ?? 0, 1,
                                    "the listener's accept overflows")
        XCTAssertTrue(dom.contains(#"data-garbage="1" data-torn="1""#))
        XCTAssertTrue(dom.contains(#"<figure class="ladder" data-end="refused">"#))
        XCTAssertTrue(dom.contains(#"class="arrow rst" data-segment="RST""#))
        XCTAssertGreaterThanOrEqual(dom.components(separatedBy: "<svg id=\"ladder-").count - 1, 2)
        for fetched in ["src=\"http", "href=\"http", "url(http"] { XCTAssertFalse(dom.contains(fetched), fetched) }

        let screenshot = daemon.directory + "/report.png"
        try Chromium.screenshot(of: page, to: screenshot, height: 4800, profile: daemon.directory + "/chromium")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertGreaterThan(png.count, 50_000, "a drawn page, not a blank one")
        if let keep = ProcessInfo.processInfo.environment["SYNWAVE_REPORT_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
        }

        // A refused connection: the remote end drawn from what the client saw.
        let refused = try SynwaveIntegrationTests.run(Harness.synwave, ["ladder", "--log-dir", daemon.logDirectory, "127.0.0.1:9"])
        XCTAssertEqual(refused.status, 0, refused.stderr)
        let refusedLines = refused.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(refusedLines.first?.contains("server (remote) 127.0.0.1:9") == true, refused.stdout)
        XCTAssertNotNil(refusedLines.first { $0.contains("SYN_SENT |") && $0.contains(" SYN ") && $0.hasSuffix(">|") }, refused.stdout)
        XCTAssertNotNil(refusedLines.first { $0.contains("CLOSE |<") && $0.contains(" RST ") }, refused.stdout)
        XCTAssertTrue(refusedLines.contains("client: refused ECONNREFUSED"), refused.stdout)

        // A reset connection by its client's cookie: both ends from their own records, one timeline.
        let resetClient = try XCTUnwrap(records.first { $0["role"] as? String == "client" && $0["end"] as? String == "reset_sent" })
        let ladder = try SynwaveIntegrationTests.run(Harness.synwave, ["ladder", "--log-dir", daemon.logDirectory, "\(int(resetClient["cookie"]))"])
        XCTAssertEqual(ladder.status, 0, ladder.stderr)
        let lines = ladder.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.contains("client 127.0.0.1:") == true && lines.first?.contains("(remote)") == false, ladder.stdout)
        let order = ["SYN_SENT |", "SYN-ACK", "ESTABLISHED |", "| SYN_RECV", "RST (TCP_STATE)"].map { label in
            lines.firstIndex { $0.contains(label) } ?? -1
        }
        XCTAssertEqual(order, order.sorted(), "handshake, then the server's socket, then the reset: \(ladder.stdout)")
        XCTAssertFalse(order.contains(-1), ladder.stdout)
        XCTAssertTrue(lines.contains("server: reset_received ECONNRESET"), ladder.stdout)
        XCTAssertEqual(lines.last, "ended by a reset from the client")

        // logrotate's compressed rotations are read like the others.
        let rotated = daemon.directory + "/rotated"
        try FileManager.default.createDirectory(atPath: rotated, withIntermediateDirectories: true)
        for log in ["events.log", "metrics.log"] {
            try FileManager.default.copyItem(atPath: daemon.logDirectory + "/" + log, toPath: rotated + "/" + log + ".2")
            XCTAssertEqual(try SynwaveIntegrationTests.run("/bin/gzip", [rotated + "/" + log + ".2"]).status, 0)
        }
        let fromGzip = try SynwaveIntegrationTests.run(Harness.synwave, ["report", "--log-dir", rotated, "-o", rotated + "/page.html"])
        XCTAssertEqual(fromGzip.status, 0, fromGzip.stderr)
        let recordCount = records.filter { $0["type"] as? String == "connection" }.count
        XCTAssertTrue(fromGzip.stderr.contains("from \(recordCount) records"), "\(recordCount) records: \(fromGzip.stderr)")
        let gzipLadder = try SynwaveIntegrationTests.run(Harness.synwave, ["ladder", "--log-dir", rotated, "127.0.0.1:9"])
        XCTAssertEqual(gzipLadder.stdout, refused.stdout)

        // Not found, and a log directory that is not there: one line each, and a failure.
        let missing = try SynwaveIntegrationTests.run(Harness.synwave, ["ladder", "--log-dir", daemon.logDirectory, "127.0.0.1:1"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("synwave: ladder: no connection to 127.0.0.1:1 in 1 event log file"), missing.stderr)
        let nowhere = try SynwaveIntegrationTests.run(Harness.synwave, ["report", "--log-dir", daemon.directory + "/nowhere", "-o", page])
        XCTAssertEqual(nowhere.status, 1)
        XCTAssertEqual(nowhere.stderr, "synwave: log directory \(daemon.directory)/nowhere does not exist (--log-dir names the daemon's log_dir)\n")
    }
}
