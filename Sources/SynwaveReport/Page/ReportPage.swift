import SynwaveCore

/// The report as one self-contained HTML page: inline CSS and SVG, nothing fetched.
public struct ReportPage {
    public var builder: ReportBuilder
    public var generatedUnixMs: Int64
    public var host: String
    public var logDirectory: String
    public var ladders = 6
    static let maxBins = 240

    public init(builder: ReportBuilder, generatedUnixMs: Int64, host: String, logDirectory: String) {
        self.builder = builder
        self.generatedUnixMs = generatedUnixMs
        self.host = host
        self.logDirectory = logDirectory
    }

    static let endColors: [(String, String)] = [
        ("closed", "#4c9a52"), ("refused", "#e08a1e"), ("connect_timeout", "#8e44ad"), ("connect_aborted", "#a0a7ad"),
        ("reset_received", "#c0392b"), ("reset_sent", "#ef7f6e"), ("retransmit_timeout", "#5b2c83"),
        ("keepalive_timeout", "#2c3e50"), ("accept_queue_overflow_reset", "#b9770e"), ("unknown", "#7f8c8d"),
    ]
    static let kindColors: [(String, String)] = [
        ("syn", "#8e44ad"), ("synack", "#e08a1e"), ("data", "#3b6ea8"), ("fin", "#4c9a52"), ("tlp", "#a0a7ad"),
    ]
    static let listenerColors = ["#3b6ea8", "#c0392b", "#4c9a52", "#8e44ad", "#e08a1e", "#2c3e50"]

    public func render() -> String {
        let m = builder.metrics
        let c = builder.counts
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>synwave report: \(HTMLText.escaped(host))</title>
        <style>\(Self.style)</style></head><body>
        <header><h1>synwave report <span class="host">\(HTMLText.escaped(host))</span></h1>
        <p class="range">\(rangeText) · generated \(HTMLText.utc(generatedUnixMs)) UTC from <code>\(HTMLText.escaped(logDirectory))</code></p></header>

        """
        html += problems(c)
        html += headline(m)
        html += section("Connections per second, by how they ended", id: "ends-over-time",
                        note: "From the metrics log, which counts every connection.",
                        body: endsOverTime(m) + endsTable(m))
        html += section("Handshake time and duration", id: "distributions",
                        note: "Connections per histogram bucket (upper bound), from the metrics log.",
                        body: "<h3>Handshake</h3>" + histogram(m.handshake, id: "handshake-histogram")
                            + "<h3>Duration</h3>" + histogram(m.duration, id: "duration-histogram"))
        html += section("Failures by peer and by local service", id: "failures",
                        note: "From the event log's records (every failed connection is logged unless event_log_records says otherwise).",
                        body: failureTables())
        html += section("Listeners: SYN and accept queues", id: "listeners",
                        note: "Queue depth at each metrics interval (the deepest in each column), overflows per interval.",
                        body: listenerCharts(m))
        html += section("Retransmits by kind", id: "retransmits", note: "Per second, from the metrics log.",
                        body: retransmitsOverTime(m))
        html += section("The worst failed connections", id: "ladders",
                        note: "Each end's transitions as recorded; arrows are the segments they imply. Dashed: retransmitted. Red: resets.",
                        body: ladderDiagrams())
        html += "<footer>synwave report · \(HTMLText.number(Double(c.lines))) lines from \(c.files) file\(c.files == 1 ? "" : "s"), "
            + "\(HTMLText.number(Double(c.bytes))) bytes: \(c.records) records (\(c.sampledRecords) of them sampled clean ones), "
            + "\(c.listenerEvents) listener events, \(c.metricsLines) metrics snapshots, \(c.outsideRange) lines before --since; "
            + "\(m.restarts) daemon restart\(m.restarts == 1 ? "" : "s") in range</footer>\n"
        html += "</body></html>\n"
        return html
    }

    private var rangeText: String {
        let m = builder.metrics
        guard let first = m.firstMs, let last = m.lastMs else { return "no metrics in range" }
        let hours = Double(last - first) / 3_600_000
        return "\(HTMLText.utc(first)) to \(HTMLText.utc(last)) UTC (\(hours >= 1 ? "\(HTMLText.number(hours)) h" : "\(HTMLText.number(Double(last - first) / 60_000)) min"))"
    }

    private func section(_ title: String, id: String, note: String, body: String) -> String {
        "<section id=\"\(id)\"><h2>\(HTMLText.escaped(title))</h2><p class=\"note\">\(HTMLText.escaped(note))</p>\n\(body)\n</section>\n"
    }

    private func problems(_ c: LogReadCounts) -> String {
        let attributes = "data-garbage=\"\(c.garbage)\" data-torn=\"\(c.torn)\" data-missing=\"\(c.missingLogs.count)\" data-other=\"\(c.otherTypes)\""
        let said = c.problems
        guard !said.isEmpty else { return "<div id=\"log-problems\" class=\"ok\" \(attributes)>Logs read cleanly.</div>\n" }
        return "<div id=\"log-problems\" class=\"warn\" \(attributes)><strong>Reading the logs:</strong><ul>"
            + said.map { "<li>\(HTMLText.escaped($0))</li>" }.joined() + "</ul></div>\n"
    }

    private func headline(_ m: MetricsTimeline) -> String {
        let ended = m.totalEnded
        let failed = ended - (m.endedTotals["closed"] ?? 0)
        let overflows = m.listeners.values.reduce(0) { $0 + $1.overflows }
        let lost = m.lostTotals.values.reduce(0, +)
        let cards: [(String, String, Double)] = [
            ("ended", "connections ended", ended), ("failed", "did not close cleanly", failed),
            ("opened-client", "opened as client", m.openedTotals["client"] ?? 0),
            ("opened-server", "accepted as server", m.openedTotals["server"] ?? 0),
            ("retransmits", "retransmits", m.retransmitTotals.values.reduce(0, +)),
            ("overflows", "listener overflows", overflows), ("lost", "events lost", lost),
            ("records", "records in the event log", Double(builder.counts.records)),
        ]
        return "<div class=\"cards\">" + cards.map { id, label, value in
            "<div class=\"card\"><span class=\"value\" id=\"total-\(id)\" data-value=\"\(Int64(value))\">\(HTMLText.number(value))</span><span class=\"label\">\(label)</span></div>"
        }.joined() + "</div>\n"
    }

    /// Equal-width time bins over the range; each interval's increase goes to the bin its end falls in.
    private func bins(_ m: MetricsTimeline) -> (times: [Int64], index: (Int64) -> Int, seconds: Double)? {
        guard let first = m.firstMs, let last = m.lastMs, last > first else { return nil }
        let shortest: Int64 = m.intervals.map { $0.endMs - $0.startMs }.filter { $0 > 0 }.min() ?? 1000
        let count = max(1, min(Self.maxBins, Int((last - first) / max(shortest, 1))))
        let width = max(1, (last - first + Int64(count) - 1) / Int64(count))
        let times = (0...count).map { first + Int64($0) * width }
        return (times, { min(count - 1, max(0, Int(($0 - first - 1) / width))) }, Double(width) / 1000)
    }

    private func endsOverTime(_ m: MetricsTimeline) -> String {
        ratesOverTime(m, Self.endColors, unit: "conn/s", id: "ends-chart") { $0.ended }
    }

    /// Per-second rates of one labelled counter, a series per label, stacked in time bins.
    private func ratesOverTime(_ m: MetricsTimeline, _ labels: [(String, String)], unit: String, id: String,
                               _ increases: (MetricsTimeline.Interval) -> [String: Double]) -> String {
        guard let b = bins(m) else { return SVGChart.stackedColumns([], times: [], unit: unit, id: id) }
        var series = labels.map { SVGChart.Series(name: $0.0, color: $0.1, values: Array(repeating: 0, count: b.times.count - 1)) }
        for interval in m.intervals {
            let i = b.index(interval.endMs)
            for (label, delta) in increases(interval) {
                guard let s = series.firstIndex(where: { $0.name == label }) else { continue }
                series[s].values[i] += delta / b.seconds
            }
        }
        return SVGChart.stackedColumns(series, times: b.times, unit: unit, id: id)
    }

    private func endsTable(_ m: MetricsTimeline) -> String {
        let logged = builder.records.byEnd
        var rows = "<table id=\"ended\"><tr><th>end</th><th>connections (metrics)</th><th>records in the event log</th></tr>"
        for (end, color) in Self.endColors {
            let count = m.endedTotals[end] ?? 0
            let records = ConnectionEnd(rawValue: end).flatMap { logged[$0] } ?? 0
            guard count > 0 || records > 0 else { continue }
            rows += "<tr data-end=\"\(end)\"><td><span class=\"swatch\" style=\"background:\(color)\"></span>\(end)</td>"
                + "<td class=\"count\" data-value=\"\(Int64(count))\">\(HTMLText.number(count))</td>"
                + "<td class=\"logged\" data-value=\"\(records)\">\(HTMLText.number(Double(records)))</td></tr>"
        }
        return rows + "</table>"
    }

    private func histogram(_ buckets: [(le: Double, count: Double)], id: String) -> String {
        let labels = buckets.map { $0.le.isInfinite ? "more" : "≤" + Self.seconds($0.le) }
        return SVGChart.bars(labels, buckets.map(\.count), unit: "connections", id: id)
    }

    static func seconds(_ s: Double) -> String {
        if s < 0.001 { return "\(HTMLText.number(s * 1_000_000))µs" }
        if s < 1 { return "\(HTMLText.number(s * 1000))ms" }
        return "\(HTMLText.number(s))s"
    }

    private func failureTables() -> String {
        let r = builder.records
        func table(_ title: String, _ t: FailureTable, id: String) -> String {
            let rows = t.top(10)
            guard !rows.isEmpty else { return "<h3>\(title)</h3><p class=\"none\" id=\"\(id)\">No failed connections in the event log.</p>" }
            let ends = Self.endColors.map(\.0).filter { end in rows.contains { $0.byEnd[ConnectionEnd(rawValue: end)!] != nil } }
            var html = "<h3>\(title)</h3><table id=\"\(id)\"><tr><th></th><th>failed</th>" + ends.map { "<th>\($0)</th>" }.joined() + "</tr>"
            for row in rows {
                html += "<tr data-key=\"\(HTMLText.escaped(row.key))\"><td>\(HTMLText.escaped(row.key))</td><td class=\"count\" data-value=\"\(row.total)\">\(row.total)</td>"
                html += ends.map { "<td>\(row.byEnd[ConnectionEnd(rawValue: $0)!].map(String.init) ?? "")</td>" }.joined() + "</tr>"
            }
            if t.others.total > 0 { html += "<tr><td>others</td><td class=\"count\">\(t.others.total)</td></tr>" }
            return html + "</table>"
        }
        return table("Peers", r.peers, id: "failures-peers") + table("Local services", r.services, id: "failures-services")
    }

    private func listenerCharts(_ m: MetricsTimeline) -> String {
        let all = m.listeners.values.sorted {
            ($0.overflows + $0.synDrops, $0.maxAcceptQueue + $0.maxSynQueue, $1.key) > ($1.overflows + $1.synDrops, $1.maxAcceptQueue + $1.maxSynQueue, $0.key)
        }
        guard !all.isEmpty, let b = bins(m) else { return "<p class=\"none\">No listener in the metrics log.</p>" }
        let shown = Array(all.prefix(Self.listenerColors.count))
        var accept: [SVGChart.Series] = [], syn: [SVGChart.Series] = [], overflow: [SVGChart.Series] = []
        for (n, l) in shown.enumerated() {
            let color = Self.listenerColors[n]
            var a = Array(repeating: 0.0, count: b.times.count - 1), s = a, o = a
            for p in l.points {
                let i = b.index(p.unixMs)
                a[i] = max(a[i], p.acceptQueue)
                s[i] = max(s[i], p.synQueue)
                o[i] += p.overflows + p.synDrops
            }
            accept.append(.init(name: l.key.title, color: color, values: a))
            syn.append(.init(name: l.key.title, color: color, values: s))
            overflow.append(.init(name: l.key.title, color: color, values: o))
        }
        var html = "<h3>Accept queue</h3>" + SVGChart.lines(accept, times: b.times, unit: "connections", id: "accept-queue-chart")
        html += "<h3>SYN queue (half-open)</h3>" + SVGChart.lines(syn, times: b.times, unit: "requests", id: "syn-queue-chart")
        html += "<h3>Overflows and SYN drops</h3>" + SVGChart.stackedColumns(overflow, times: b.times, unit: "drops", id: "overflow-chart")
        html += "<table id=\"listener-table\"><tr><th>listener</th><th>backlog</th><th>deepest SYN queue</th><th>deepest accept queue</th><th>accept overflows</th><th>SYN drops</th><th>SYN-ACK retransmits</th></tr>"
        for l in all.prefix(50) {
            html += "<tr data-port=\"\(HTMLText.escaped(l.key.port))\"><td>\(HTMLText.escaped(l.key.title))</td><td>\(HTMLText.number(l.backlog))</td>"
                + "<td>\(HTMLText.number(l.maxSynQueue))</td><td>\(HTMLText.number(l.maxAcceptQueue))</td>"
                + "<td class=\"overflows\" data-value=\"\(Int64(l.overflows))\">\(HTMLText.number(l.overflows))</td>"
                + "<td>\(HTMLText.number(l.synDrops))</td><td>\(HTMLText.number(l.synackRetransmits))</td></tr>"
        }
        if all.count > 50 { html += "<tr><td colspan=\"7\">\(all.count - 50) more listeners not shown</td></tr>" }
        return html + "</table>"
    }

    private func retransmitsOverTime(_ m: MetricsTimeline) -> String {
        let totals = Self.kindColors.map { kind, _ in "<td data-kind=\"\(kind)\" data-value=\"\(Int64(m.retransmitTotals[kind] ?? 0))\">\(kind): \(HTMLText.number(m.retransmitTotals[kind] ?? 0))</td>" }
        return ratesOverTime(m, Self.kindColors, unit: "per second", id: "retransmits-chart") { $0.retransmits }
            + "<table id=\"retransmit-totals\"><tr>" + totals.joined() + "</tr></table>"
    }

    private func ladderDiagrams() -> String {
        let chosen = builder.records.worst.selected(limit: ladders)
        guard !chosen.isEmpty else { return "<p class=\"none\">No failed connection in the event log.</p>" }
        return chosen.enumerated().map { n, records in
            let ladder = Ladder(records)
            let end = records.first!.end.rawValue
            return "<figure class=\"ladder\" data-end=\"\(end)\"><figcaption>\(HTMLText.escaped(ladder.left.title)) → \(HTMLText.escaped(ladder.right.title))"
                + " <code>synwave ladder \(records.first!.socket.value)</code></figcaption>"
                + LadderSVG.render(ladder, id: "ladder-\(n)") + "</figure>"
        }.joined(separator: "\n")
    }

    static let style = """
    body{font:14px/1.4 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1000px;color:#1d2731;background:#fff}
    h1{font-size:22px;margin:0}h1 .host{color:#5d6d7e;font-weight:normal}h2{font-size:17px;margin:28px 0 4px;border-bottom:1px solid #dde3e8;padding-bottom:4px}
    h3{font-size:14px;margin:14px 0 4px}.range,.note,footer{color:#5d6d7e;font-size:12px}p.note{margin:0 0 8px}
    .cards{display:flex;flex-wrap:wrap;gap:8px;margin:16px 0}.card{border:1px solid #dde3e8;border-radius:6px;padding:8px 12px;min-width:96px}
    .card .value{display:block;font-size:20px;font-weight:600}.card .label{font-size:11px;color:#5d6d7e}
    #log-problems{padding:8px 12px;border-radius:6px;margin:12px 0}#log-problems.ok{background:#eef7ee}#log-problems.warn{background:#fdf2e2}
    #log-problems ul{margin:4px 0 0 18px;padding:0}
    table{border-collapse:collapse;margin:8px 0;font-size:12px}td,th{border-bottom:1px solid #eef1f4;padding:3px 10px;text-align:right}
    td:first-child,th:first-child{text-align:left}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}
    svg.chart{width:100%;height:auto;display:block}svg .tick{font-size:10px;fill:#5d6d7e}svg .legend{font-size:11px;fill:#1d2731}
    svg .axis{stroke:#9aa7b3}svg .grid{stroke:#eef1f4}svg .none{fill:#9aa7b3;font-size:13px}
    figure.ladder{margin:16px 0;border:1px solid #dde3e8;border-radius:6px;padding:8px}figcaption{font-size:12px;color:#5d6d7e}
    svg.ladder{width:100%;height:auto;display:block}svg.ladder .lifeline{stroke:#1d2731;stroke-width:2}svg.ladder .lifeline.remote{stroke-dasharray:4 4;stroke:#9aa7b3}
    svg.ladder .end{font-size:13px;font-weight:600}svg.ladder .owner,svg.ladder .note{font-size:11px;fill:#5d6d7e}svg.ladder .note{font-style:italic}
    svg.ladder .state{font-size:12px;font-family:"DejaVu Sans Mono",monospace}svg.ladder .outcome{font-size:12px}
    svg.ladder .arrow line{stroke:#1d2731;stroke-width:1.4}svg.ladder .arrow text{font-size:11px}
    svg.ladder .arrow.rst line{stroke:#c0392b}svg.ladder .arrow.rst text{fill:#c0392b;font-weight:600}
    svg.ladder .arrow.retransmit line{stroke:#e08a1e;stroke-dasharray:5 4}svg.ladder .arrow.retransmit text{fill:#b9770e}
    """
}
