import Foundation
import Testing
@testable import SynwaveReport

/// Counters from successive snapshots become increases per interval; restarts start them over.
struct MetricsTimelineTests {
    typealias S = LoggedMetrics.Sample

    func snapshot(_ ms: Int64, uptime: Double, closed: Double, refused: Double = 0, handshake: [(String, Double)] = [],
                  listener: (syn: Double, accept: Double, overflows: Double)? = nil) -> LoggedMetrics {
        var samples = [S("synwave_uptime_seconds", [:], uptime),
                       S("synwave_connections_ended_total", ["end": "closed"], closed),
                       S("synwave_connections_ended_total", ["end": "refused"], refused),
                       S("synwave_retransmits_total", ["kind": "syn"], refused * 2)]
        samples += handshake.map { S("synwave_handshake_seconds_bucket", ["le": $0.0], $0.1) }
        if let listener {
            let labels = ["netns": "1", "namespace": "host", "address": "0.0.0.0", "port": "80", "comm": "nginx"]
            samples += [S("synwave_listener_syn_queue", labels, listener.syn), S("synwave_listener_accept_queue", labels, listener.accept),
                        S("synwave_listener_backlog", labels, 128), S("synwave_listener_accept_overflows_total", labels, listener.overflows)]
        }
        return LoggedMetrics(unixMs: ms, samples: samples)
    }

    @Test func increasesPerIntervalAndTotals() {
        var t = MetricsTimeline()
        t.add(snapshot(10_000, uptime: 10, closed: 5), inRange: true)     // a daemon started 10 s before: counts from 0
        t.add(snapshot(20_000, uptime: 20, closed: 12, refused: 1), inRange: true)
        t.add(snapshot(30_000, uptime: 30, closed: 12, refused: 4), inRange: true)
        #expect(t.intervals.map { $0.ended["closed"] ?? 0 } == [5, 7, 0])
        #expect(t.intervals.map { $0.ended["refused"] ?? 0 } == [0, 1, 3])
        #expect(t.intervals.first?.startMs == 0)
        #expect(t.endedTotals == ["closed": 12, "refused": 4])
        #expect(t.retransmitTotals["syn"] == 8)
        #expect(t.totalEnded == 16)
    }

    @Test func aRestartStartsCountersOver() {
        var t = MetricsTimeline()
        t.add(snapshot(10_000, uptime: 10, closed: 50), inRange: true)
        t.add(snapshot(20_000, uptime: 20, closed: 60), inRange: true)
        t.add(snapshot(25_000, uptime: 3, closed: 4), inRange: true)      // restarted: 4 since its start
        t.add(snapshot(35_000, uptime: 13, closed: 9), inRange: true)
        #expect(t.intervals.map { $0.ended["closed"] ?? 0 } == [50, 10, 4, 5])
        #expect(t.restarts == 1)
        #expect(t.endedTotals["closed"] == 69)
    }

    @Test func aDaemonRunningBeforeTheLogsSetsABaselineOnly() {
        var t = MetricsTimeline()
        t.add(snapshot(1_000_000, uptime: 5000, closed: 900), inRange: true)
        t.add(snapshot(1_010_000, uptime: 5010, closed: 910), inRange: true)
        #expect(t.endedTotals["closed"] == 10, "the 900 before the logs begin are not this range's")
    }

    @Test func snapshotsBeforeSinceOnlySetTheBaseline() {
        var t = MetricsTimeline()
        t.add(snapshot(10_000, uptime: 10, closed: 5), inRange: false)
        t.add(snapshot(20_000, uptime: 20, closed: 8), inRange: true)
        #expect(t.endedTotals["closed"] == 3)
        #expect(t.firstMs == 10_000, "the interval in range starts at the snapshot before it")
    }

    @Test func histogramBucketsAreCountsPerBucket() {
        var t = MetricsTimeline()
        t.add(snapshot(10_000, uptime: 10, closed: 0, handshake: [("0.001", 2), ("0.01", 5), ("+Inf", 6)]), inRange: true)
        t.add(snapshot(20_000, uptime: 20, closed: 0, handshake: [("0.001", 4), ("0.01", 9), ("+Inf", 11)]), inRange: true)
        #expect(t.handshake.map(\.le) == [0.001, 0.01, .infinity])
        #expect(t.handshake.map(\.count) == [4, 5, 2])
    }

    @Test func listenersKeepDepthsAndOverflows() throws {
        var t = MetricsTimeline()
        t.add(snapshot(10_000, uptime: 10, closed: 0, listener: (3, 10, 0)), inRange: true)
        t.add(snapshot(20_000, uptime: 20, closed: 0, listener: (1, 129, 40)), inRange: true)
        t.add(snapshot(30_000, uptime: 30, closed: 0, listener: (0, 2, 41)), inRange: true)
        let l = try #require(t.listeners.values.first)
        #expect(t.listeners.count == 1 && l.key.title == "0.0.0.0:80 nginx (host)")
        #expect(l.maxSynQueue == 3 && l.maxAcceptQueue == 129 && l.backlog == 128 && l.overflows == 41)
        #expect(l.points.map(\.overflows) == [0, 40, 1])
    }

    @Test func metricsLinesReadBack() throws {
        let json = #"{"type":"metrics","time":"x","unix_ms":1234,"samples":[{"name":"synwave_retransmits_total","labels":{"kind":"syn"},"value":2},"#
            + #"{"name":"synwave_output_lines_total","labels":{"output":"x"},"value":5},{"name":"synwave_uptime_seconds","labels":{},"value":null}]}"#
        let m = try #require(LoggedMetrics(json: Data(json.utf8)))
        #expect(m.unixMs == 1234 && m.samples.count == 2, "families the report does not read are skipped")
        #expect(m.samples[0].labels["kind"] == "syn" && m.samples[0].value == 2 && m.samples[1].value == nil)
        #expect(LoggedMetrics(json: Data(#"{"type":"metrics","unix_ms":"x","samples":[]}"#.utf8)) == nil)
    }
}
