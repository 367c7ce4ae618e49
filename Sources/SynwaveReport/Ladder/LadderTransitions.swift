import SynwaveCore

/// What each transition of one end implies: the segments it sent and received, and what its
/// record says about retransmits, data and an abortive end.
extension Ladder {
    static func actions(of r: ConnectionRecord, side: Side) -> [Action] {
        var actions: [Action] = []
        let marks = r.states
        if r.firstSeenMidLife, let first = marks.first {
            var found = Action(sortNs: r.startNs, atNs: r.startNs, side: side, state: first.state)
            found.note = "already \(first.state.name) when tracing started"
            actions.append(found)
        }
        for index in marks.indices.dropFirst() {
            let old = marks[index - 1].state, new = marks[index].state
            let at = r.startNs + marks[index].offsetMicros * 1000
            let last = index == marks.count - 1
            let intoTimeWait = new == .timeWait || (new == .close && last && r.timeWait)
            var a = Action(sortNs: at, atNs: at, side: side, state: new)
            switch (old, new) {
            case (.close, .synSent):
                a.sends = [.syn]
            case (.listen, .synRecv):
                a.receives = [.ack]
                a.note = "the final ACK makes this socket"
            case (.synSent, .established):
                a.receives = [.synAck]
                a.sends = [.ack]
            case (.established, .finWait1), (.closeWait, .lastAck), (.synRecv, .finWait1):
                a.sends = [.fin]
            case (.established, .closeWait):
                a.receives = [.fin]
                a.sends = [.ack]
            case (.finWait1, .finWait2), (.lastAck, .close):
                a.receives = [.ack]
            case (.finWait1, .closing):
                a.receives = [.fin]
                a.sends = [.ack]
            case (.finWait2, _) where intoTimeWait, (.finWait1, _) where intoTimeWait:
                // The kernel hands the socket to a TIME_WAIT mini-socket: CLOSE is its last full-socket state.
                a.receives = [.fin]
                a.sends = [.ack]
                a.state = .timeWait
            case (.closing, _) where intoTimeWait:
                a.receives = [.ack]
                a.state = .timeWait
            case (_, .close) where last:
                abortiveEnd(r, from: old, into: &a)
            default:
                break
            }
            actions.append(a)
            if a.sends.contains(.syn), r.retransmits.syn > 0 {
                actions.append(retransmission(.syn, count: r.retransmits.syn, after: a))
            }
            if a.sends.contains(.fin), r.retransmits.fin > 0 {
                actions.append(retransmission(.fin, count: r.retransmits.fin, after: a))
            }
            if new == .established {
                var data = Action(sortNs: at, atNs: nil, side: side, state: nil)
                if let sent = r.bytesSent, let received = r.bytesReceived {
                    data.note = "bytes_sent \(ByteSize.text(sent)), bytes_received \(ByteSize.text(received))"
                }
                let lost = Int(r.retransmits.data) + Int(r.retransmits.tlp)
                if lost > 0 {
                    data.sends = [.data]
                    data.retransmit = true
                    data.count = lost
                    if r.retransmits.tlp > 0 { data.detail = "\(r.retransmits.tlp) tail-loss probe\(r.retransmits.tlp == 1 ? "" : "s")" }
                }
                if data.note != nil || !data.sends.isEmpty { actions.append(data) }
            }
        }
        return actions
    }

    private static func retransmission(_ segment: Segment, count: UInt16, after a: Action) -> Action {
        var again = Action(sortNs: a.sortNs, atNs: nil, side: a.side, state: nil)
        again.sends = [segment]
        again.retransmit = true
        again.count = Int(count)
        return again
    }

    /// The last transition to CLOSE outside the FIN exchange: what the record's end says happened.
    private static func abortiveEnd(_ r: ConnectionRecord, from old: TCPState, into a: inout Action) {
        if let reason = r.resetsSent.first {
            if reason == .keepaliveTimeout { a.note = "keepalive probes unanswered" }
            a.sends = [.rst]
            a.detail = reason.name
        } else if r.resetsReceived > 0 || [.refused, .resetReceived, .acceptQueueOverflowReset].contains(r.end) {
            a.receives = [.rst]
        }
        switch r.end {
        case .connectTimeout: a.note = "gave up: ETIMEDOUT after \(r.retransmits.syn) SYN retransmit\(r.retransmits.syn == 1 ? "" : "s")"
        case .connectAborted: a.note = "the application gave up before an answer"
        case .retransmitTimeout: a.note = "gave up: ETIMEDOUT, data unacknowledged"
        case .keepaliveTimeout where a.note == nil: a.note = "keepalive probes unanswered: ETIMEDOUT"
        case .acceptQueueOverflowReset: a.note = "the listener's accept queue was full"
        case .refused: a.note = "nothing listens there: ECONNREFUSED"
        default: if old == .synSent, a.receives.isEmpty, a.sends.isEmpty, let error = r.error { a.note = error }
        }
    }
}
