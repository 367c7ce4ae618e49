import SynwaveCore
import SynwavePrometheus
import Testing

/// Every sample line of an exposition, keyed by its name and labels as written.
private func samples(_ bytes: [UInt8]) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        out[String(line[..<space])] = Double(line[line.index(after: space)...])
    }
    return out
}

@Suite struct PrometheusMirrorTests {
    @Test func countersAdvanceAndStartOverWhenTheirSourceDid() {
        let mirror = PrometheusMirror()
        func family(_ value: Double) -> [MetricFamily] {
            var ended = MetricFamily("synwave_connections_ended_total", .counter, "Connection records.")
            ended.add(value, [("end", "refused")])
            return [ended]
        }
        #expect(samples(mirror.render(family(5)))[#"synwave_connections_ended_total{end="refused"}"#] == 5)
        #expect(samples(mirror.render(family(8)))[#"synwave_connections_ended_total{end="refused"}"#] == 8)
        #expect(samples(mirror.render(family(3)))[#"synwave_connections_ended_total{end="refused"}"#] == 3)
        let text = String(decoding: mirror.render(family(3)), as: UTF8.self)
        #expect(text.contains("# HELP synwave_connections_ended_total Connection records.\n"))
        #expect(text.contains("# TYPE synwave_connections_ended_total counter\n"))
        #expect(text.contains("synwave_connections_ended_total{end=\"refused\"} 3\n"), "whole counts print as integers")
    }

    @Test func seriesMissingFromASnapshotAreRemoved() {
        let mirror = PrometheusMirror()
        var queue = MetricFamily("synwave_listener_accept_queue", .gauge, "Queue.")
        queue.add(2, [("port", "80")])
        queue.add(4, [("port", "443")])
        #expect(samples(mirror.render([queue])).count == 2)
        queue.samples.removeFirst()
        let after = samples(mirror.render([queue]))
        #expect(after == [#"synwave_listener_accept_queue{port="443"}"#: 4])
        #expect(mirror.render([]).isEmpty)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var family = MetricFamily("synwave_x_total", .counter, "Things, with a \\ and\na newline.")
        family.add(1, [("comm", "a\"b\\c\nd")])
        let text = String(decoding: PrometheusMirror().render([family]), as: UTF8.self)
        #expect(text.contains(#"synwave_x_total{comm="a\"b\\c\nd"} 1"#), "\(text)")
        // swift-prometheus drops a help text's newlines rather than escaping them: still one line.
        #expect(text.contains(#"# HELP synwave_x_total Things, with a \\ and"#), "\(text)")
        #expect(text.split(separator: "\n").count == 3, "\(text)")
    }

    @Test func histogramsKeepExactCountsAndTheirSum() {
        let mirror = PrometheusMirror()
        var histogram = Histogram.handshakeSeconds()
        for value in [0.00005, 0.0003, 0.0003, 0.004, 0.2, 3.0, 42.0] { histogram.observe(value) }
        func check(_ histogram: Histogram) {
            let lines = samples(mirror.render([MetricFamily("synwave_handshake_seconds", .histogram, "H.",
                                                             [.init(.histogram(histogram))])]))
            var cumulative: UInt64 = 0
            for (index, bound) in histogram.upperBounds.enumerated() {
                cumulative += histogram.counts[index]
                #expect(lines["synwave_handshake_seconds_bucket{le=\"\(bound)\"}"] == Double(cumulative), "le=\(bound)")
            }
            #expect(lines[#"synwave_handshake_seconds_bucket{le="+Inf"}"#] == Double(histogram.count))
            #expect(lines["synwave_handshake_seconds_count"] == Double(histogram.count))
            let sum = lines["synwave_handshake_seconds_sum"] ?? -1
            #expect(abs(sum - histogram.sum) <= 1e-9 * max(1, histogram.sum), "sum \(sum) vs \(histogram.sum)")
        }
        check(histogram)
        for value in [0.0001, 0.0009, 0.0009, 7.5] { histogram.observe(value) }
        check(histogram)
        check(histogram)
        check(Histogram.handshakeSeconds())
    }

    @Test(arguments: [[0.0], [0.001, 0.001], [0.0011, 0.0099], [20, 30, 40], [0.5, 0.7, 1e6]])
    func replayedValuesStayInTheirBuckets(values: [Double]) {
        let empty = Histogram(upperBounds: [0.001, 0.01, 1, 10])
        var observed = empty
        for value in values { observed.observe(value) }
        var replayed = empty
        for (value, count) in HistogramReplay.observations(from: empty, to: observed) {
            for _ in 0..<count { replayed.observe(value) }
        }
        #expect(replayed.counts == observed.counts)
        #expect(abs(replayed.sum - observed.sum) <= 1e-9 * max(1, observed.sum))
    }

    @Test func aFamilyThatWouldCrashTheRegistryIsSkippedNotFatal() {
        let mirror = PrometheusMirror()
        var mixed = MetricFamily("synwave_mixed_total", .counter, "Both labeled and not.")
        mixed.add(1, [("kind", "a")])
        mixed.add(2)
        mixed.add(3, [("kind", "a")])
        #expect(samples(mirror.render([mixed])) == [#"synwave_mixed_total{kind="a"}"#: 1])
        #expect(mirror.samplesSkipped == 2)
        // The same name as another kind, then with other help: the old series go first.
        #expect(samples(mirror.render([MetricFamily("synwave_mixed_total", .gauge, "Now a gauge.", [.init(.number(9))])]))
                == ["synwave_mixed_total": 9])
        #expect(samples(mirror.render([MetricFamily("synwave_mixed_total", .gauge, "Other help.", [.init(.number(8))])]))
                == ["synwave_mixed_total": 8])
    }

    /// Every family the daemon exports, filled in, renders with the values `flattened()` gives.
    @Test func theDaemonsFamiliesRenderWithTheirValues() {
        var metrics = DaemonMetrics()
        metrics.connections.connectionsEnded[.keepaliveTimeout] = 2
        metrics.connections.handshake.observe(0.002)
        metrics.tracer.programs = [ProgramStats(name: "sw_state_btf", runTimeNs: 1500, runCount: 3, recursionMisses: 1)]
        metrics.tracer.bpfStatsEnabled = true
        metrics.tracer.lostNotRun = 5
        metrics.tracer.lostNotRunWhileInitRan = 3
        metrics.features = [FeatureStatus(name: "state_changes", attachment: .btf)]
        let families = metrics.families()
        let mirror = PrometheusMirror()
        let lines = samples(mirror.render(families))
        #expect(mirror.samplesSkipped == 0)
        var expected: [String: Double] = [:]
        for family in families {
            for line in family.flattened() {
                let labels = line.labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
                expected[line.name + (labels.isEmpty ? "" : "{\(labels)}")] = line.value
            }
        }
        #expect(lines.count == expected.count)
        for (key, value) in expected {
            #expect(lines[key] == value, "\(key)")
        }
        #expect(lines[#"synwave_events_lost_total{cause="not_run_init_context"}"#] == 3)
        #expect(lines[#"synwave_bpf_run_seconds_total{program="sw_state_btf"}"#] == 1.5e-06)
    }
}
