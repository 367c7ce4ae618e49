import Foundation
import SynwaveCore

/// A `type:"connection"` line of the event log (docs/json-schema.md), read back into the record
/// the correlator wrote.
public struct LoggedRecord: Sendable {
    public var record: ConnectionRecord
    /// The event log kept this clean connection as one of that many.
    public var sampledOneIn: Int?
    /// `time`: when it ended, milliseconds since the epoch.
    public var endUnixMs: Int64
}

extension LoggedRecord {
    /// The line's fields as written; names follow the JSON.
    private struct Line: Decodable {
        struct Mark: Decodable { var state: String; var us: UInt64 }
        struct Retransmits: Decodable { var syn, synack, data, fin, tlp: UInt16 }
        var sampled: Int?
        var start_ns, end_ns: UInt64
        var time: String
        var cookie: UInt64
        var identity: String
        var netns: UInt32
        var role: String
        var pid: UInt32
        var comm: String
        var owner_inferred, first_seen_mid_life, close_inferred, close_lost: Bool
        var saddr, daddr: String?
        var sport, dport: UInt16?
        var states: [Mark]
        var handshake_us: UInt64?
        var closed_first: String?
        var time_wait: Bool
        var bytes_sent, bytes_received: UInt64?
        var srtt_us, mss: UInt32?
        var retransmits: Retransmits
        var resets_sent: [String]
        var resets_received: UInt32
        var error: String?
        var end: String
    }

    /// Nil for a line that is not a whole, valid connection record.
    public init?(json: Data, decoder: JSONDecoder = JSONDecoder()) {
        guard let line = try? decoder.decode(Line.self, from: json),
              let role = ConnectionRole(rawValue: line.role), let end = ConnectionEnd(rawValue: line.end),
              let kind = SocketIdentity.Kind(rawValue: line.identity),
              let endUnixMs = RFC3339.unixMilliseconds(line.time) else { return nil }
        var states: [ConnectionRecord.StateMark] = []
        for mark in line.states {
            guard let state = TCPState(name: mark.state) else { return nil }
            states.append(.init(state: state, offsetMicros: mark.us))
        }
        var endpoints: Endpoints?
        if let s = line.saddr, let d = line.daddr, let sport = line.sport, let dport = line.dport {
            guard let local = IPAddress(parsing: s), let remote = IPAddress(parsing: d) else { return nil }
            endpoints = Endpoints(localAddress: local, localPort: sport, remoteAddress: remote, remotePort: dport)
        }
        let r = line.retransmits
        record = ConnectionRecord(
            socket: SocketIdentity(kind: kind, value: line.cookie), netns: line.netns, role: role, pid: line.pid,
            comm: TaskName(line.comm), ownerInferred: line.owner_inferred, firstSeenMidLife: line.first_seen_mid_life,
            closeInferred: line.close_inferred, closeLost: line.close_lost, endpoints: endpoints, states: states,
            startNs: line.start_ns, endNs: line.end_ns, handshakeMicros: line.handshake_us,
            closedFirst: line.closed_first.flatMap(ConnectionRecord.ClosedFirst.init(rawValue:)), timeWait: line.time_wait,
            bytesSent: line.bytes_sent, bytesReceived: line.bytes_received, srttMicros: line.srtt_us, mss: line.mss,
            retransmits: RetransmitCounts(syn: r.syn, synack: r.synack, data: r.data, fin: r.fin, tlp: r.tlp),
            resetsSent: line.resets_sent.map { name in ResetReason.allCases.first { $0.name == name } ?? .unknown },
            resetsReceived: line.resets_received, error: line.error, end: end)
        sampledOneIn = line.sampled
        self.endUnixMs = endUnixMs
    }
}
