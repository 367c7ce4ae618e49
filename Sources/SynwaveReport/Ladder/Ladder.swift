import SynwaveCore

/// One connection as the textbook draws it: two vertical lines for its two ends, the segments
/// each transition implies as arrows between them, and each side's states beside its line.
/// Built from one or both ends' records; `LadderText` and `LadderSVG` render it.
public struct Ladder: Equatable, Sendable {
    public enum Side: Sendable { case left, right }

    public enum Segment: String, Sendable {
        case syn = "SYN", synAck = "SYN-ACK", ack = "ACK", fin = "FIN", rst = "RST", data = "data"
    }

    /// One end: the connecting side is on the left, the accepting side on the right.
    public struct End: Equatable, Sendable {
        public var role: ConnectionRole
        /// No record of this end: it is off this host (or not traced), drawn from what the other implies.
        public var remote: Bool
        public var endpoint: String
        public var owner: String?
        public var cookie: UInt64?
    }

    public struct Arrow: Equatable, Sendable {
        public var segment: Segment
        public var from: Side
        /// A retransmission (drawn dashed), `count` times.
        public var retransmit = false
        public var count = 1
        /// The step at which the other side's record shows it arriving, when it does.
        public var receivedAtStep: Int?
        /// The reset's reason, for RSTs this host sent.
        public var detail: String?

        public var label: String {
            var text = segment.rawValue
            if retransmit { text += count > 1 ? " retransmit x\(count)" : " retransmit" }
            if let detail { text += " (\(detail))" }
            return text
        }
    }

    public struct Step: Equatable, Sendable {
        /// CLOCK_BOOTTIME ns; nil where the records do not say when (the listener's part of the
        /// handshake, retransmissions).
        public var atNs: UInt64?
        /// The side whose state changed, and its new state.
        public var side: Side?
        public var state: TCPState?
        public var arrows: [Arrow] = []
        public var note: String?
    }

    public var left: End
    public var right: End
    public var steps: [Step]
    /// How each traced end ended, and who closed first.
    public var outcome: [String]
}

extension Ladder {
    /// Both ends' records, or one. The client (connecting) end goes left; with one record the
    /// other end is drawn as remote.
    public init(_ records: [ConnectionRecord]) {
        precondition(!records.isEmpty && records.count <= 2, "a ladder has one or two traced ends")
        let client = records.first { $0.role == .client }
        let server = records.first { $0.role == .server }
        let known = client ?? server!
        left = client.map { End(traced: $0) } ?? End(remoteOf: known, role: .client)
        right = server.map { End(traced: $0) } ?? End(remoteOf: known, role: .server)

        var actions: [Action] = []
        if let client { actions += Self.actions(of: client, side: .left) }
        if let server {
            var own = Self.actions(of: server, side: .right)
            // The listener answered the SYN before this socket existed: the records do not say when.
            let clientSyn = actions.first { $0.sends.contains(.syn) && !$0.retransmit }?.sortNs
            let anchor = clientSyn.map { $0 + 1 } ?? (own.first?.sortNs ?? 1) - 1
            var listener = Action(sortNs: anchor, atNs: nil, side: .right, state: nil)
            listener.receives = [.syn]
            listener.sends = [.synAck]
            listener.note = "listener: request socket (NEW_SYN_RECV)"
            own.insert(listener, at: 0)
            if server.retransmits.synack > 0 {
                var again = Action(sortNs: anchor, atNs: nil, side: .right, state: nil)
                again.sends = [.synAck]
                again.retransmit = true
                again.count = Int(server.retransmits.synack)
                own.insert(again, at: 1)
            }
            actions += own
        }
        // Both ends' clocks are the same host's CLOCK_BOOTTIME: one timeline. Stable for ties.
        actions = actions.enumerated().sorted { ($0.element.sortNs, $0.offset) < ($1.element.sortNs, $1.offset) }.map(\.element)
        steps = Self.steps(actions, bothTraced: client != nil && server != nil)
        outcome = Self.outcome(client: client, server: server)
    }

    /// What one transition of one end implies.
    struct Action {
        var sortNs: UInt64
        var atNs: UInt64?
        var side: Side
        var state: TCPState?
        var sends: [Segment] = []
        var receives: [Segment] = []
        var retransmit = false
        var count = 1
        var detail: String?
        var note: String?
    }

    /// Arrows drawn at their sender's step; an arrival the other record shows points back to it.
    static func steps(_ actions: [Action], bothTraced: Bool) -> [Step] {
        var steps: [Step] = []
        // Sent, not yet seen arriving: (segment, from side) -> (step, arrow index), oldest first.
        var inFlight: [(segment: Segment, from: Side, step: Int, arrow: Int)] = []
        for a in actions {
            var step = Step(atNs: a.atNs, side: a.side, state: a.state, note: a.note)
            let index = steps.count
            for segment in a.receives {
                let other: Side = a.side == .left ? .right : .left
                if bothTraced, let match = inFlight.firstIndex(where: { $0.segment == segment && $0.from == other }) {
                    let sent = inFlight.remove(at: match)
                    steps[sent.step].arrows[sent.arrow].receivedAtStep = index
                } else {
                    // From the remote end (or never seen leaving): drawn where it arrived.
                    step.arrows.append(Arrow(segment: segment, from: other, receivedAtStep: index))
                }
            }
            for segment in a.sends {
                var arrow = Arrow(segment: segment, from: a.side, retransmit: a.retransmit, count: a.count, detail: a.detail)
                if a.retransmit { arrow.receivedAtStep = nil }
                step.arrows.append(arrow)
                if !a.retransmit { inFlight.append((segment, a.side, index, step.arrows.count - 1)) }
            }
            steps.append(step)
        }
        return steps
    }

    static func outcome(client: ConnectionRecord?, server: ConnectionRecord?) -> [String] {
        var lines: [String] = []
        for r in [client, server].compactMap({ $0 }) {
            var text = "\(r.role.rawValue): \(r.end.rawValue)"
            if let reason = r.resetsSent.first { text += " (\(reason.name))" }
            if let error = r.error, r.end != .closed { text += " \(error)" }
            if r.retransmits.total > 0 { text += ", \(r.retransmits.total) retransmit\(r.retransmits.total == 1 ? "" : "s")" }
            if r.closeInferred { text += ", CLOSE inferred from the socket's destruction" }
            if r.closeLost { text += ", CLOSE never seen" }
            lines.append(text)
        }
        let known = client ?? server!
        if let first = known.closedFirst {
            let closer = (first == .local) == (known.role == .client) ? "client" : "server"
            lines.append("closed first: \(closer)")
        } else if let rst = [client, server].compactMap({ $0 }).first(where: { !$0.resetsSent.isEmpty }) {
            lines.append("ended by a reset from the \(rst.role.rawValue)")
        } else if let r = [client, server].compactMap({ $0 }).first(where: { $0.resetsReceived > 0 || $0.end == .refused }) {
            lines.append("ended by a reset from the \(r.role == .client ? "server" : "client")")
        }
        return lines
    }
}
