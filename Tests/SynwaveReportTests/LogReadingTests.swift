import Foundation
import SynwaveCore
import Testing
@testable import SynwaveReport

/// Lines as the daemon writes them, read back; and every kind of bad line counted, never fatal.
struct LogReadingTests {
    func line(_ r: ConnectionRecord, sampled: Int? = nil) -> Data {
        var formatter = StateEventFormatter(bootToWallOffsetNs: 1_764_990_000_000_000_000, useUTC: true)
        var out: [UInt8] = []
        formatter.json(r, sampledOneIn: sampled, into: &out)
        return Data(out)
    }

    @Test func aRecordLineReadsBackAsTheRecordWritten() throws {
        var r = Synthetic.client(Synthetic.clientHandshake + [(.close, 3000)], end: .resetSent) {
            $0.resetsSent = [.state, .state]
            $0.retransmits = RetransmitCounts(syn: 1, synack: 0, data: 3, fin: 1, tlp: 2)
            $0.error = "ECONNRESET"
            $0.handshakeMicros = 100
            $0.srttMicros = 40
            $0.mss = 1448
            $0.ownerInferred = true
        }
        r.comm = "a \"quoted\" \\ name"
        let logged = try #require(LoggedRecord(json: line(r, sampled: 100)))
        #expect(logged.record == r)
        #expect(logged.sampledOneIn == 100)
        #expect(logged.endUnixMs == (1_764_990_000_000_000_000 + Int64(r.endNs)) / 1_000_000)
    }

    @Test func aRecordWithoutTupleReadsBack() throws {
        var r = Synthetic.client([(.close, 0), (.synSent, 0), (.close, 5)], end: .connectAborted)
        r.endpoints = nil
        r.bytesSent = nil
        r.bytesReceived = nil
        #expect(LoggedRecord(json: line(r))?.record == r)
    }

    @Test func badLinesAreCountedByKind() {
        var b = ReportBuilder(sinceUnixMs: nil)
        let good = line(Synthetic.client(Synthetic.clientHandshake + [(.close, 10)], end: .resetSent) { $0.resetsSent = [.state] })
        for bytes in [
            good,
            good.prefix(200),                                    // cut, but followed by a newline: garbage
            Data("not json at all".utf8),
            Data(#"{"type":"connection","cookie":"x"}"#.utf8),   // a connection missing its fields
            Data(#"{"type":"future","x":1}"#.utf8),              // a type this version does not read
            Data(#"{"type":"listener","kind":"accept_overflow"}"#.utf8),
            Data([0xff, 0xfe, 0x00, 0x7b]),                      // binary
            Data("   ".utf8),                                    // blank: skipped, not counted
        ] { b.add(line: bytes) }
        b.add(line: good.prefix(300), complete: false)
        #expect(b.counts.lines == 8)
        #expect(b.counts.records == 1)
        #expect(b.counts.garbage == 4)
        #expect(b.counts.otherTypes == 1)
        #expect(b.counts.listenerEvents == 1)
        #expect(b.counts.torn == 1)
        #expect(b.counts.problems == ["4 garbage lines skipped", "1 torn line (cut short) skipped", "1 line of unknown type skipped"])
    }

    @Test func sinceKeepsOnlyLaterRecordsAndSnapshots() throws {
        let r = Synthetic.client(Synthetic.clientHandshake + [(.close, 10)], end: .refused)
        let at = try #require(LoggedRecord(json: line(r))).endUnixMs
        var later = ReportBuilder(sinceUnixMs: at + 1)
        later.add(line: line(r))
        #expect(later.counts.records == 0 && later.counts.outsideRange == 1)
        var covering = ReportBuilder(sinceUnixMs: at)
        covering.add(line: line(r))
        #expect(covering.counts.records == 1 && covering.records.byEnd[.refused] == 1)
    }

    /// Snapshots before `--since` are not decoded, but the last of them is the first one's baseline.
    @Test func sinceCountsFromTheSnapshotBeforeIt() {
        func snapshot(_ ms: Int, closed: Int) -> Data {
            Data((#"{"type":"metrics","time":"t","unix_ms":\#(ms),"samples":[{"name":"synwave_uptime_seconds","labels":{},"value":\#(ms / 1000)},"#
                  + #"{"name":"synwave_connections_ended_total","labels":{"end":"closed"},"value":\#(closed)}]}"#).utf8)
        }
        var b = ReportBuilder(sinceUnixMs: 25_000)
        b.add(lines: [snapshot(10_000, closed: 5), snapshot(20_000, closed: 9), snapshot(30_000, closed: 15), snapshot(40_000, closed: 16)])
        #expect(b.counts.outsideRange == 2 && b.counts.metricsLines == 2)
        #expect(b.metrics.endedTotals["closed"] == 7, "15 - 9, then 16 - 15")
        #expect(LogLine.unixMilliseconds(of: snapshot(123_456, closed: 0)) == 123_456)
    }

    @Test func rfc3339() {
        #expect(RFC3339.unixMilliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.unixMilliseconds("2026-12-06T02:40:00.123456Z") == 1_796_524_800_123)
        #expect(RFC3339.unixMilliseconds("2024-02-29T23:59:59.5Z") == 1_709_251_199_500)
        #expect(RFC3339.unixMilliseconds("2026-13-06T02:40:00Z") == nil)
        #expect(RFC3339.unixMilliseconds("2026-12-06 02:40:00Z") == nil)
        #expect(RFC3339.unixMilliseconds("") == nil)
        #expect(HTMLText.utc(1_796_524_800_123) == "2026-12-06 02:40:00" && HTMLText.utc(1_796_524_800_123, date: false) == "02:40:00")
    }
}
