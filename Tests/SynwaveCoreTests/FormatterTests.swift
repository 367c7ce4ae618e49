import Foundation
import Testing
@testable import SynwaveCore

@Suite struct FormatterTests {
    var formatter = StateEventFormatter(bootToWallOffsetNs: 1_700_000_000_000_000_000, useUTC: true)

    func parse(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test mutating func jsonHasTheDocumentedFields() throws {
        let e = try RawEvents.stateEvent(RawEvents.state(ts: 1_500_000_000))
        let o = try parse(formatter.json(e, oldStateNs: 2_500_000))
        #expect(o["type"] as? String == "state")
        #expect(o["ts_ns"] as? Int == 1_500_000_000)
        #expect(o["time"] as? String == "2023-11-14T22:13:21.500Z")
        #expect(o["cookie"] as? Int == 42)
        #expect(o["identity"] as? String == "cookie")
        #expect(o["netns"] as? Int == 4026531840)
        #expect(o["pid"] as? Int == 1234)
        #expect(o["comm"] as? String == "curl")
        #expect(o["family"] as? String == "inet")
        #expect(o["saddr"] as? String == "127.0.0.1")
        #expect(o["sport"] as? Int == 40000)
        #expect(o["daddr"] as? String == "10.0.0.2")
        #expect(o["dport"] as? Int == 5004)
        #expect(o["old"] as? String == "SYN_SENT")
        #expect(o["new"] as? String == "ESTABLISHED")
        #expect(o["old_state_ns"] as? Int == 2_500_000)
        #expect(o["totals"] == nil)
    }

    @Test mutating func jsonTotalsAndUnknownDuration() throws {
        let e = try RawEvents.stateEvent(RawEvents.state(old: 1, new: 7, flags: 3))
        let o = try parse(formatter.json(e, oldStateNs: nil))
        #expect(o["old_state_ns"] is NSNull)
        let totals = try #require(o["totals"] as? [String: Any])
        #expect(totals["bytes_acked"] as? Int == 100)
        #expect(totals["srtt_us"] as? Int == 55)
        #expect(totals["mss"] as? Int == 65483)
    }

    @Test mutating func jsonEscapesHostileComm() throws {
        let e = try RawEvents.stateEvent(RawEvents.state(comm: "a\"b\\c\n\u{1}"))
        let o = try parse(formatter.json(e, oldStateNs: nil))
        #expect(o["comm"] as? String == "a\"b\\c\n\u{1}")
    }

    @Test mutating func textColumnsAlign() throws {
        let a = try RawEvents.stateEvent(RawEvents.state(comm: "x"))
        let b = try RawEvents.stateEvent(RawEvents.state(old: 10, new: 3, sport: 5004, dport: 1, comm: "longer-command"))
        let lineA = formatter.text(a, oldStateNs: 1_234_567)
        let lineB = formatter.text(b, oldStateNs: nil)
        let header = formatter.header
        for title in ["PID", "COMM", "LOCAL", "REMOTE", "TRANSITION", "MS"] {
            let column = try #require(header.range(of: title)).lowerBound.utf16Offset(in: header)
            #expect(lineA.utf16.count > column && lineB.utf16.count > column)
            // Every column starts after a space in both lines.
            let i = lineA.index(lineA.startIndex, offsetBy: column - 1)
            let j = lineB.index(lineB.startIndex, offsetBy: column - 1)
            #expect(lineA[i] == " " && lineB[j] == " ", "column \(title)")
        }
        #expect(lineA.hasPrefix("22:13:20.001 1234"))
        #expect(lineA.contains("127.0.0.1:40000       -> 10.0.0.2:5004"))
        #expect(lineA.contains("SYN_SENT -> ESTABLISHED"))
        #expect(lineA.hasSuffix(" 1.234"))
        #expect(lineB.contains("LISTEN -> SYN_RECV"))
        #expect(lineB.hasSuffix(" -"))
    }

    @Test mutating func ipv6Endpoints() throws {
        let v6: [UInt8] = [UInt8](repeating: 0, count: 15) + [1]
        let e = try RawEvents.stateEvent(RawEvents.state(family: 10, saddr: v6, daddr: v6))
        #expect(formatter.text(e, oldStateNs: nil).contains("[::1]:40000"))
        #expect(try parse(formatter.json(e, oldStateNs: nil))["family"] as? String == "inet6")
    }
}

@Suite struct StateClockTests {
    func event(_ cookie: UInt64, _ old: UInt8, _ new: UInt8, at ts: UInt64) throws -> StateEvent {
        try RawEvents.stateEvent(RawEvents.state(old: old, new: new, cookie: cookie, ts: ts))
    }

    @Test func measuresTimeInOldState() throws {
        var clock = StateClock()
        #expect(clock.record(try event(1, 7, 2, at: 1_000)) == nil)      // CLOSE -> SYN_SENT: first sight
        #expect(clock.record(try event(1, 2, 1, at: 4_000)) == 3_000)    // SYN_SENT -> ESTABLISHED
        #expect(clock.record(try event(2, 10, 3, at: 4_500)) == nil)     // another socket
        #expect(clock.record(try event(1, 1, 7, at: 9_000)) == 5_000)    // -> CLOSE forgets it
        #expect(clock.tracked == 1)
    }

    @Test func boundedWithCountedEviction() throws {
        var clock = StateClock(capacity: 100)
        for i in 0..<1_000 { _ = clock.record(try event(UInt64(i), 7, 2, at: UInt64(i))) }
        #expect(clock.tracked <= 100)
        #expect(clock.forgotten == UInt64(1_000 - clock.tracked))
    }

    @Test func outOfOrderTimestampsGiveNoDuration() throws {
        var clock = StateClock()
        _ = clock.record(try event(1, 7, 2, at: 5_000))
        #expect(clock.record(try event(1, 2, 1, at: 4_000)) == nil)
    }
}
