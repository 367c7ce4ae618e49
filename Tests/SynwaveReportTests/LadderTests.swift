import SynwaveCore
import Testing
@testable import SynwaveReport

/// The ladder model for each scenario the records cover: its arrows, each side's states, their order.
struct LadderTests {
    typealias A = (Ladder.Segment, Ladder.Side, retransmit: Bool)

    func arrows(_ l: Ladder) -> [String] {
        l.steps.flatMap(\.arrows).map { "\($0.segment.rawValue) \($0.from == .left ? "->" : "<-")\($0.retransmit ? " retransmit x\($0.count)" : "")" }
    }

    func states(_ l: Ladder, _ side: Ladder.Side) -> [TCPState] {
        l.steps.filter { $0.side == side }.compactMap(\.state)
    }

    /// Every arrow sent by a traced end that the other end's record shows arriving points at a later step.
    func arrivalsFollowSends(_ l: Ladder) -> Bool {
        l.steps.enumerated().allSatisfy { index, step in
            step.arrows.allSatisfy { $0.receivedAtStep.map { $0 >= index } ?? true }
        }
    }

    // Server offsets are from its own start, 110 µs after the client's (Synthetic.server).
    @Test func normalCloseClientFirst() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.finWait1, 5000), (.finWait2, 5100), (.close, 6000)]) { $0.timeWait = true }
        let server = Synthetic.server(Synthetic.serverHandshake + [(.closeWait, 4900), (.lastAck, 5800), (.close, 5900)])
        let l = Ladder([server, client])
        #expect(l.left.role == .client && !l.left.remote && l.right.role == .server && !l.right.remote)
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "FIN ->", "ACK <-", "FIN <-", "ACK ->"])
        #expect(states(l, .left) == [.synSent, .established, .finWait1, .finWait2, .timeWait])
        #expect(states(l, .right) == [.synRecv, .established, .closeWait, .lastAck, .close])
        #expect(l.steps.flatMap(\.arrows).allSatisfy { $0.receivedAtStep != nil }, "both ends traced: every arrow lands")
        #expect(arrivalsFollowSends(l))
        #expect(l.outcome.last == "closed first: client")
    }

    @Test func normalCloseServerFirst() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.closeWait, 5000), (.lastAck, 5150), (.close, 5250)])
        let server = Synthetic.server(Synthetic.serverHandshake + [(.finWait1, 4800), (.finWait2, 4950), (.close, 5100)]) { $0.timeWait = true }
        let l = Ladder([client, server])
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "FIN <-", "ACK ->", "FIN ->", "ACK <-"])
        #expect(states(l, .left) == [.synSent, .established, .closeWait, .lastAck, .close])
        #expect(states(l, .right) == [.synRecv, .established, .finWait1, .finWait2, .timeWait])
        #expect(arrivalsFollowSends(l))
        #expect(l.outcome.last == "closed first: server")
    }

    @Test func simultaneousClose() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.finWait1, 5000), (.closing, 5050), (.close, 5100)]) { $0.timeWait = true }
        let server = Synthetic.server(Synthetic.serverHandshake + [(.finWait1, 4911), (.closing, 4961), (.close, 5011)]) { $0.timeWait = true }
        let l = Ladder([client, server])
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "FIN ->", "FIN <-", "ACK ->", "ACK <-"])
        #expect(states(l, .left) == [.synSent, .established, .finWait1, .closing, .timeWait])
        #expect(states(l, .right) == [.synRecv, .established, .finWait1, .closing, .timeWait])
        #expect(l.steps.flatMap(\.arrows).allSatisfy { $0.receivedAtStep != nil })
    }

    @Test func refused() {
        let client = Synthetic.client([(.close, 0), (.synSent, 0), (.close, 40)], end: .refused) {
            $0.error = "ECONNREFUSED"
            $0.resetsReceived = 1
        }
        let l = Ladder([client])
        #expect(l.right.remote && l.right.endpoint == "10.0.0.2:80" && l.right.role == .server)
        #expect(arrows(l) == ["SYN ->", "RST <-"])
        #expect(states(l, .left) == [.synSent, .close])
        #expect(l.steps.last?.note == "nothing listens there: ECONNREFUSED")
        #expect(l.outcome == ["client: refused ECONNREFUSED", "ended by a reset from the server"])
    }

    @Test func connectTimeoutWithSynRetransmits() {
        let client = Synthetic.client([(.close, 0), (.synSent, 0), (.close, 7_000_000)], end: .connectTimeout) {
            $0.error = "ETIMEDOUT"
            $0.retransmits.syn = 3
        }
        let l = Ladder([client])
        #expect(arrows(l) == ["SYN ->", "SYN -> retransmit x3"])
        #expect(l.steps[1].atNs == nil, "the record counts retransmits; it does not time them")
        #expect(states(l, .left) == [.synSent, .close])
        #expect(l.steps.last?.note == "gave up: ETIMEDOUT after 3 SYN retransmits")
    }

    @Test func resetByTheServerWithLingerZero() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.close, 3000)], end: .resetReceived) {
            $0.error = "ECONNRESET"
            $0.resetsReceived = 1
        }
        let server = Synthetic.server(Synthetic.serverHandshake + [(.close, 2800)], end: .resetSent) { $0.resetsSent = [.state] }
        let l = Ladder([client, server])
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "RST <-"])
        let rst = l.steps.flatMap(\.arrows).last!
        #expect(rst.detail == "TCP_STATE" && rst.receivedAtStep == l.steps.count - 1)
        #expect(states(l, .left) == [.synSent, .established, .close])
        #expect(states(l, .right) == [.synRecv, .established, .close])
        #expect(l.outcome.last == "ended by a reset from the server")
    }

    @Test func keepaliveTimeout() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.close, 9_000_000)], end: .keepaliveTimeout) {
            $0.error = "ETIMEDOUT"
            $0.resetsSent = [.keepaliveTimeout]
        }
        let l = Ladder([client])
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "RST ->"])
        #expect(states(l, .left) == [.synSent, .established, .close])
        #expect(l.steps.last?.note == "keepalive probes unanswered")
        #expect(l.steps.last?.arrows.first?.detail == "TCP_KEEPALIVE_TIMEOUT")
    }

    @Test func onlyTheServerEndTraced() {
        let server = Synthetic.server(Synthetic.serverHandshake + [(.closeWait, 4920), (.lastAck, 5900), (.close, 6010)])
        let l = Ladder([server])
        #expect(l.left.remote && l.left.endpoint == "10.0.0.1:40000")
        #expect(arrows(l) == ["SYN ->", "SYN-ACK <-", "ACK ->", "FIN ->", "ACK <-", "FIN <-", "ACK ->"])
    }

    @Test func dataRetransmitsAreMarked() {
        let client = Synthetic.client(Synthetic.clientHandshake + [(.close, 20_000_000)], end: .retransmitTimeout) {
            $0.error = "ETIMEDOUT"
            $0.retransmits.data = 4
            $0.retransmits.tlp = 1
        }
        let l = Ladder([client])
        #expect(arrows(l).contains("data -> retransmit x5"))
        #expect(l.steps.last?.note == "gave up: ETIMEDOUT, data unacknowledged")
    }

    @Test func textShowsStatesArrowsAndTimes() {
        let client = Synthetic.client([(.close, 0), (.synSent, 0), (.close, 40)], end: .refused) {
            $0.error = "ECONNREFUSED"
            $0.resetsReceived = 1
        }
        let lines = LadderText.render(Ladder([client]))
        #expect(lines[0].contains("client 10.0.0.1:40000") && lines[0].contains("server (remote) 10.0.0.2:80"))
        let syn = lines.first { $0.contains(" SYN ") }
        let rst = lines.first { $0.contains(" RST ") }
        #expect(syn?.contains("SYN_SENT |") == true && syn?.hasSuffix("-->|") == true)
        #expect(rst?.contains("40us") == true && rst?.contains("CLOSE |<==") == true)
        #expect(lines.last == "ended by a reset from the server")
    }
}
