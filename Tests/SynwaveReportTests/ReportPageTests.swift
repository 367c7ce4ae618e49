import Foundation
import SynwaveCore
import Testing
@testable import SynwaveReport

/// The page from synthetic logs: self-contained, escaped, its counts where a reader (or a test
/// in a browser) finds them; the worst connections chosen and joined to their other ends.
struct ReportPageTests {
    func refusedClient(cookie: UInt64, endUs: UInt64 = 40) -> ConnectionRecord {
        var r = Synthetic.client([(.close, 0), (.synSent, 0), (.close, endUs)], end: .refused) {
            $0.error = "ECONNREFUSED"
            $0.resetsReceived = 1
        }
        r.socket = SocketIdentity(kind: .cookie, value: cookie)
        return r
    }

    @Test func aPageFromNothingSaysSoAndFetchesNothing() {
        var b = ReportBuilder(sinceUnixMs: nil)
        b.missing("/var/log/synwave/events.log")
        b.add(line: Data("garbage".utf8))
        let html = ReportPage(builder: b, generatedUnixMs: 0, host: "h<1>", logDirectory: "/var/log/synwave").render()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains(#"data-garbage="1""#) && html.contains(#"data-missing="1""#))
        #expect(html.contains("missing: /var/log/synwave/events.log"))
        #expect(html.contains("h&lt;1&gt;") && !html.contains("h<1>"))
        for fetch in ["src=", "href=", "@import", "url(http", "<link", "<script src"] { #expect(!html.contains(fetch), "\(fetch)") }
        #expect(html.contains("nothing in this range") || html.contains("No "))
    }

    @Test func countsFromMetricsAndRecordsAreOnThePage() {
        var b = ReportBuilder(sinceUnixMs: nil)
        let metrics = [(10_000, 10.0, 20.0, 3.0), (20_000, 20.0, 40.0, 3.0)].map { ms, up, closed, refused in
            #"{"type":"metrics","time":"t","unix_ms":\#(ms),"samples":[{"name":"synwave_uptime_seconds","labels":{},"value":\#(up)},"#
                + #"{"name":"synwave_connections_ended_total","labels":{"end":"closed"},"value":\#(closed)},"#
                + #"{"name":"synwave_connections_ended_total","labels":{"end":"refused"},"value":\#(refused)}]}"#
        }
        for line in metrics { b.add(line: Data(line.utf8)) }
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        for cookie in 1...3 {
            var out: [UInt8] = []
            var r = refusedClient(cookie: UInt64(cookie))
            r.comm = "<evil>"
            formatter.json(r, into: &out)
            b.add(line: Data(out))
        }
        let html = ReportPage(builder: b, generatedUnixMs: 0, host: "h", logDirectory: "/l").render()
        #expect(html.contains(#"id="total-ended" data-value="43""#))
        #expect(html.contains(#"id="total-failed" data-value="3""#))
        #expect(html.contains(#"<tr data-end="refused">"#) && html.contains(#"<td class="count" data-value="3">3</td><td class="logged" data-value="3">"#))
        #expect(html.contains(#"<tr data-key="10.0.0.2:80"><td>10.0.0.2:80</td><td class="count" data-value="3">"#))
        #expect(html.contains("&lt;evil&gt; (client)") && !html.contains("<evil>"))
        #expect(html.contains("3 records (0 of them sampled clean ones), 0 listener events, 2 metrics snapshots"))
        #expect(html.components(separatedBy: "<svg id=\"ladder-").count - 1 == 1, "three refusals tell one story: drawn once")
    }

    @Test func worstConnectionsJoinTheirOtherEndAndVary() throws {
        var worst = WorstConnections()
        let client = Synthetic.client(Synthetic.clientHandshake + [(.close, 3000)], end: .resetReceived) {
            $0.error = "ECONNRESET"
            $0.resetsReceived = 1
        }
        let server = Synthetic.server(Synthetic.serverHandshake + [(.close, 2800)], end: .resetSent) { $0.resetsSent = [.state] }
        worst.add(server)
        worst.add(client)
        worst.add(refusedClient(cookie: 7))
        let timedOut = Synthetic.client([(.close, 0), (.synSent, 0), (.close, 7_000_000)], end: .connectTimeout) {
            $0.socket = SocketIdentity(kind: .cookie, value: 8)
            $0.retransmits.syn = 3
        }
        worst.add(timedOut)
        let chosen = worst.selected(limit: 6)
        #expect(chosen.map { $0.map(\.socket.value) } == [[8], [200, 100], [7]], "severity order; the reset joined to its client")
        #expect(worst.selected(limit: 1).count == 1)
    }

    @Test func ladderSearchFindsByCookieOrService() throws {
        #expect(LadderSearch.target(parsing: "12345") == .cookie(12345))
        #expect(LadderSearch.target(parsing: "10.0.0.2:80") == .service(IPAddress(parsing: "10.0.0.2"), 80))
        #expect(LadderSearch.target(parsing: "[::1]:443") == .service(IPAddress(parsing: "::1"), 443))
        #expect(LadderSearch.target(parsing: ":80") == .service(nil, 80) && LadderSearch.target(parsing: "*:80") == .service(nil, 80))
        for bad in ["", "x:80", "10.0.0.2", "10.0.0.2:0", "10.0.0.2:70000", "[::1]", "::1:443", "[10.0.0.2]:80", ":x", "*:0"] { #expect(LadderSearch.target(parsing: bad) == nil, "\(bad)") }

        let client = Synthetic.client(Synthetic.clientHandshake + [(.finWait1, 5000), (.finWait2, 5100), (.close, 6000)])
        let server = Synthetic.server(Synthetic.serverHandshake + [(.closeWait, 4900), (.lastAck, 5800), (.close, 5900)])
        var byService = LadderSearch(.service(nil, 80), all: false)
        for r in [refusedClient(cookie: 1), server, client] { byService.add(r) }
        #expect(byService.connections.map { $0.map(\.socket.value) } == [[200, 100]], "the most recent, both ends")
        var every = LadderSearch(.service(IPAddress(parsing: "10.0.0.2"), 80), all: true)
        for r in [refusedClient(cookie: 1), server, client] { every.add(r) }
        #expect(every.connections.map { $0.map(\.socket.value) } == [[1], [200, 100]])
        var byCookie = LadderSearch(.cookie(100), all: false)
        for r in [server, client] { byCookie.add(r) }
        #expect(byCookie.connections.map { $0.map(\.socket.value) } == [[100, 200]])
    }
}
