import Foundation
import Testing
@testable import SynwaveCore

/// Which records the daemon's event log keeps: every notable one, a counted sample of clean ones.
struct EventLogPolicyTests {
    static func record(_ end: ConnectionEnd = .closed, handshakeMicros: UInt64? = 200, retransmits: RetransmitCounts = .init(),
                       resetsSent: [ResetReason] = [], resetsReceived: UInt32 = 0, closeInferred: Bool = false) -> ConnectionRecord {
        var r = TextViewTests.record(end, resets: resetsSent)
        r.handshakeMicros = handshakeMicros
        r.retransmits = retransmits
        r.resetsReceived = resetsReceived
        r.closeInferred = closeInferred
        return r
    }

    @Test(arguments: ConnectionEnd.allCases.filter { $0 != .closed })
    func everyUncleanEndIsLogged(_ end: ConnectionEnd) {
        var sampler = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 0))
        #expect(sampler.decide(Self.record(end)) == .notable(.failed))
    }

    @Test func troubleOnAClosedConnectionIsLoggedWithItsReason() {
        var sampler = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 0, slowHandshakeMicros: 50_000))
        #expect(sampler.decide(Self.record(retransmits: .init(tlp: 1))) == .notable(.retransmits))
        #expect(sampler.decide(Self.record(resetsSent: [.state])) == .notable(.resets))
        #expect(sampler.decide(Self.record(resetsReceived: 1)) == .notable(.resets))
        #expect(sampler.decide(Self.record(handshakeMicros: 50_000)) == .notable(.slowHandshake))
        #expect(sampler.decide(Self.record(handshakeMicros: 49_999)) == .skipped)
        #expect(sampler.decide(Self.record(closeInferred: true)) == .notable(.failed))
        #expect(sampler.decide(Self.record(handshakeMicros: nil)) == .skipped, "mid-life records have no handshake")
    }

    @Test func cleanOnesAreSampledOneInNFirstIncluded() {
        var sampler = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 4))
        let decisions = (0..<10).map { _ in sampler.decide(Self.record()) }
        #expect(decisions.map(\.logged) == [true, false, false, false, true, false, false, false, true, false])
        #expect(decisions[0] == .sampled(oneIn: 4))
        // Notable records in between do not move the sample.
        #expect(sampler.decide(Self.record(.refused)) == .notable(.failed))
        #expect(sampler.decide(Self.record()) == .skipped)
        #expect(sampler.decide(Self.record()) == .skipped)
        #expect(sampler.decide(Self.record()) == .sampled(oneIn: 4))
        #expect(sampler.counts.sampled == 4 && sampler.counts.skipped == 9 && sampler.counts.notable[.failed] == 1)
        #expect(sampler.counts.labelled.map(\.0) == ["all", "failed", "retransmits", "resets", "slow_handshake", "sampled", "other_end", "skipped"])
    }

    /// Both ends of a connection on this host land in the log together (`synwave ladder` joins
    /// them): a clean record whose other end was just logged is kept, and says why.
    @Test func theOtherEndOfALoggedConnectionIsKept() throws {
        func end(_ r: ConnectionRecord, mirrored: Bool) -> ConnectionRecord {
            var r = r
            if mirrored, let e = r.endpoints {
                r.endpoints = Endpoints(localAddress: e.remoteAddress, localPort: e.remotePort, remoteAddress: e.localAddress, remotePort: e.localPort)
                r.role = .server
            }
            return r
        }
        var sampler = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 3))
        #expect(sampler.decide(Self.record()) == .sampled(oneIn: 3))
        #expect(sampler.decide(end(Self.record(), mirrored: true)) == .otherEnd)
        #expect(sampler.decide(end(Self.record(), mirrored: true)) == .skipped, "one other end per logged record")
        #expect(sampler.decide(Self.record(.resetReceived)) == .notable(.failed))
        #expect(sampler.decide(end(Self.record(), mirrored: true)) == .otherEnd, "a failed client's clean server end")
        #expect(sampler.decide(Self.record()) == .skipped)
        #expect(sampler.decide(Self.record()) == .sampled(oneIn: 3), "other ends do not move the sample")
        #expect(sampler.counts.otherEnd == 2 && sampler.counts.sampled == 2 && sampler.counts.skipped == 2)
        var all = EventLogSampler(policy: EventLogPolicy(records: .all))
        #expect(all.decide(Self.record()) == .all && all.decide(end(Self.record(), mirrored: true)) == .all)

        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.json(Self.record(), keptAsOtherEnd: true, into: &out)
        #expect(String(decoding: out, as: UTF8.self).hasPrefix(#"{"type":"connection","kept":"other_end","#))
    }

    @Test func sampleOfOneLogsEveryCleanOneAndZeroNone() {
        var every = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 1))
        var none = EventLogSampler(policy: EventLogPolicy(sampleOneIn: 0))
        #expect((0..<5).allSatisfy { _ in every.decide(Self.record()) == .sampled(oneIn: 1) })
        #expect((0..<5).allSatisfy { _ in none.decide(Self.record()) == .skipped })
    }

    @Test func allLogsEverythingUnmarked() {
        var sampler = EventLogSampler(policy: EventLogPolicy(records: .all, sampleOneIn: 100))
        #expect(sampler.decide(Self.record()) == .all && sampler.decide(Self.record(.refused)) == .all)
        #expect(sampler.counts.all == 2)
    }

    @Test func aSampledLineSaysSo() throws {
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.json(Self.record(), sampledOneIn: 100, into: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(line.hasPrefix("{\"type\":\"connection\",\"sampled\":100,"))
        out = []
        formatter.json(Self.record(), into: &out)
        #expect(!String(decoding: out, as: UTF8.self).contains("sampled"))
    }

    /// tools/synwave.conf documents every key with its default: read as a config, it changes nothing.
    @Test func shippedConfigIsTheDefaults() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/synwave.conf").path
        var config = DaemonConfig()
        try DaemonConfigParser.apply(file: String(contentsOfFile: path, encoding: .utf8), path: path, to: &config)
        #expect(config == DaemonConfig())
    }

    /// The README's configuration table names every key once, with the built-in default.
    @Test func readmeConfigurationTableIsTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOfFile: root.appendingPathComponent("README.md").path, encoding: .utf8)
        let shipped = try String(contentsOfFile: root.appendingPathComponent("tools/synwave.conf").path, encoding: .utf8)
        var rows: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let key = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            guard DaemonConfigParser.keys.contains(key) else { continue }
            #expect(rows[key] == nil, "\(key) twice")
            rows[key] = cells[1] == "(empty)" ? "" : cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        #expect(Set(rows.keys) == Set(DaemonConfigParser.keys))
        var config = DaemonConfig()
        try DaemonConfigParser.apply(file: rows.map { "\($0.key) = \($0.value)" }.joined(separator: "\n"), path: "README", to: &config)
        #expect(config == DaemonConfig())
        for key in DaemonConfigParser.keys {
            #expect(shipped.contains("\n\(key) ="), "tools/synwave.conf documents \(key)")
        }
    }

    @Test func configKeys() throws {
        var config = DaemonConfig()
        #expect(config.eventLogPolicy == EventLogPolicy(records: .notable, sampleOneIn: 100, slowHandshakeMicros: 100_000))
        try DaemonConfigParser.apply(file: "event_log_records = all\nevent_log_sample = 0\nslow_handshake = 250ms\nassemble = user\n",
                                     path: "t", to: &config)
        #expect(config.eventLogPolicy == EventLogPolicy(records: .all, sampleOneIn: 0, slowHandshakeMicros: 250_000))
        #expect(config.assemble == "user")
        #expect(config.text.contains("event_log_records = all\nevent_log_sample = 0\nslow_handshake = 250ms\n"))
        for bad in ["event_log_records = some", "event_log_sample = -1", "slow_handshake = 0s", "assemble = both"] {
            #expect(throws: DaemonConfigError.self) { try DaemonConfigParser.apply(file: bad, path: "t", to: &config) }
        }
    }
}
