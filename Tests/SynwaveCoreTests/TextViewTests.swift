import Testing
@testable import SynwaveCore

/// The tail's text views: every record's columns line up whatever its end, and the event lines
/// say what the kernel reported without stray words or spaces.
struct TextViewTests {
    var formatter = StateEventFormatter(bootToWallOffsetNs: 1_700_000_000_000_000_000, useUTC: true)
    static let ends = Endpoints(localAddress: IPAddress(parsing: "10.0.0.1")!, localPort: 40000,
                                remoteAddress: IPAddress(parsing: "10.0.0.2")!, remotePort: 80)

    static func record(_ end: ConnectionEnd, error: String? = nil, resets: [ResetReason] = []) -> ConnectionRecord {
        ConnectionRecord(
            socket: SocketIdentity(kind: .cookie, value: 1), netns: 1, role: .client, pid: 7, comm: "app",
            ownerInferred: false, firstSeenMidLife: false, closeInferred: false, closeLost: false, endpoints: ends,
            states: [], startNs: 1_000, endNs: 2_001_000, handshakeMicros: 100, closedFirst: nil, timeWait: false,
            bytesSent: 10, bytesReceived: 20, srttMicros: nil, mss: nil, retransmits: RetransmitCounts(),
            resetsSent: resets, resetsReceived: 0, error: error, end: end)
    }

    mutating func line(_ r: ConnectionRecord) -> String {
        var out: [UInt8] = []
        formatter.text(r, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    mutating func line(_ e: KernelEvent) -> String {
        var out: [UInt8] = []
        formatter.text(e, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The offset of HS_MS in the header: where the column after END starts.
    var afterEnd: Int {
        let header = formatter.recordHeader
        return header.distance(from: header.startIndex, to: header.range(of: "HS_MS")!.lowerBound)
    }

    @Test mutating func endColumnHoldsEveryEndWithItsDetail() {
        let longest = ResetReason.allCases.max { $0.name.count < $1.name.count }!
        let records = [
            Self.record(.closed), Self.record(.resetReceived, error: "ECONNRESET"),
            Self.record(.connectTimeout, error: "ETIMEDOUT"), Self.record(.retransmitTimeout, error: "ETIMEDOUT"),
            Self.record(.keepaliveTimeout, error: "ETIMEDOUT"), Self.record(.acceptQueueOverflowReset, error: "ECONNRESET"),
            Self.record(.refused, error: "ECONNREFUSED"), Self.record(.resetSent, resets: [longest]),
            Self.record(.unknown, error: "EHOSTUNREACH"), Self.record(.connectAborted, error: "EHOSTUNREACH"),
        ]
        let column = afterEnd
        for r in records {
            let text = line(r)
            let chars = Array(text)
            // The handshake time (0.100 ms) starts exactly where the header puts HS_MS.
            #expect(chars.count > column && chars[column - 1] == " " && String(chars[column...]).hasPrefix("0.100"),
                    "\(r.end): \(text)")
        }
    }

    @Test mutating func anErrorTheEndImpliesIsNotRepeated() {
        #expect(line(Self.record(.resetReceived, error: "ECONNRESET")).contains(" reset_received "))
        #expect(!line(Self.record(.connectTimeout, error: "ETIMEDOUT")).contains("(ETIMEDOUT)"))
        #expect(line(Self.record(.unknown, error: "EHOSTUNREACH")).contains(" unknown(EHOSTUNREACH) "))
        #expect(line(Self.record(.resetSent, resets: [.abortOnLinger])).contains(" reset_sent(TCP_ABORT_ON_LINGER) "))
    }

    @Test mutating func errorReportWithoutAnErrorSaysNone() {
        let e = KernelEvent.socket(SocketEvent(timestampNs: 1_000, socket: SocketIdentity(kind: .cookie, value: 1), netns: 1,
                                               kind: .error, state: .close, error: 0))
        let text = line(e)
        #expect(text.contains(" error none in CLOSE"), "\(text)")
        #expect(!text.contains("E0"))
        let refused = KernelEvent.socket(SocketEvent(timestampNs: 1_000, socket: SocketIdentity(kind: .cookie, value: 1), netns: 1,
                                                     kind: .error, state: .close, error: 111))
        #expect(line(refused).contains(" error ECONNREFUSED in CLOSE"))
    }

    @Test mutating func resetReceivedHasOneSpaceBeforeItsState() {
        let e = KernelEvent.reset(ResetEvent(timestampNs: 1_000, socket: SocketIdentity(kind: .cookie, value: 1), netns: 1,
                                             direction: .received, socketKind: .full, state: .synSent, reason: .unknown,
                                             endpoints: Self.ends))
        let text = line(e)
        #expect(text.contains(" reset received in SYN_SENT "), "\(text)")
        #expect(!text.contains("  "), "\(text)")
        let sent = KernelEvent.reset(ResetEvent(timestampNs: 1_000, socket: nil, netns: 1, direction: .sent, socketKind: .full,
                                                state: .established, reason: .noSocket, endpoints: Self.ends))
        #expect(line(sent).contains(" reset sent NO_SOCKET in ESTABLISHED "))
    }
}
