import CSynwaveABI
import Testing
@testable import SynwaveCore

@Suite struct EventDecoderTests {
    @Test func decodesIPv4Transition() throws {
        let e = try RawEvents.stateEvent(RawEvents.state())
        #expect(e.oldState == .synSent)
        #expect(e.newState == .established)
        #expect(e.socket == SocketIdentity(kind: .cookie, value: 42))
        #expect(e.sourceAddress.description == "127.0.0.1")
        #expect(e.destinationAddress.description == "10.0.0.2")
        #expect(e.sourcePort == 40000)
        #expect(e.destinationPort == 5004)
        #expect(e.comm == "curl")
        #expect(e.netns == 4026531840)
        #expect(e.tgid == 1234 && e.tid == 1235)
        #expect(e.cgroupID == 4242)
        #expect(e.totals == nil)
    }

    @Test func decodesIPv6WithTotalsAndSocketAddressIdentity() throws {
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        let bytes = RawEvents.state(old: 1, new: 7, family: 10, flags: SYNWAVE_EVF_TOTALS.rawValue, saddr: v6, daddr: v6)
        let e = try RawEvents.stateEvent(bytes)
        #expect(e.sourceAddress.description == "2001:db8::1")
        #expect(e.socket.kind == .skAddr)
        #expect(e.socket.value == 0xffff_8880_0000_1000)
        #expect(e.totals?.bytesAcked == 100)
        #expect(e.totals?.mssCache == 65483)
    }

    /// The reader's path appends each good record to its batch and leaves the batch as it was for a bad one.
    @Test func decodingIntoABatchAppendsOnlyWhatDecodes() {
        var batch: [KernelEvent] = []
        let records = [RawEvents.state(cookie: 1), RawEvents.state(old: 99), RawEvents.shortState(), Array(RawEvents.state().prefix(20))]
        let errors = records.map { record in record.withUnsafeBytes { EventDecoder.decode($0, into: &batch) } }
        #expect(errors[0] == nil && errors[2] == nil)
        #expect(errors[1] == .invalidState(99) && errors[3] == .truncated(size: 20))
        #expect(batch.count == 2)
        #expect(batch.first.map { if case .state(let e) = $0 { e.socket.value == 1 } else { false } } == true)
    }

    @Test func decodesAnAssembledConnection() throws {
        guard case .success(.connection(let c)) = RawEvents.decode(RawEvents.connection()) else {
            Issue.record("not decoded as a connection")
            return
        }
        #expect(c.socket == SocketIdentity(kind: .cookie, value: 9) && c.timestampNs == 2_000_000 && c.startNs == 1_000_000)
        #expect(c.transitions.all == [.init(old: .close, new: .synSent, offsetNs: 0), .init(old: .synSent, new: .close, offsetNs: 80_000)])
        #expect(c.tgid == 77 && c.comm == "curl" && c.ownerKnown && c.error == 111 && c.resetsReceived == 1)
        #expect(c.retransmits.syn == 2 && c.totals == nil && c.sent == .atClose)
        #expect(c.endpoints?.localPort == 40000 && c.endpoints?.remotePort == 9)
        let records = { () -> [ConnectionRecord] in
            var correlator = Correlator(options: CorrelatorOptions(assembledInKernel: true))
            var out: [ConnectionRecord] = []
            correlator.process(.connection(c), into: &out)
            return out
        }()
        #expect(records.map(\.end) == [.refused] && records.first?.retransmits.syn == 2)
        #expect(c.cgroupID == 5151 && records.first?.cgroupID == 5151, "the socket's cgroup reaches its record")
    }

    @Test func assembledConnectionsThatDoNotDecode() {
        let size = MemoryLayout<synwave_connection_event>.size
        #expect(RawEvents.decode(Array(RawEvents.connection().prefix(200)))
                == .failure(.sizeMismatch(type: 6, declared: size, actual: 200, expected: size)))
        #expect(RawEvents.decode(RawEvents.connection(transitions: [0x2 << 4 | 0xF])) == .failure(.invalidState(15)))
        #expect(RawEvents.decode(RawEvents.connection(family: 99)) == .failure(.invalidFamily(99)))
        // Transitions past the six kept: counted as seen, never read from beyond the array.
        var bytes = RawEvents.connection(transitions: Array(repeating: 0x1 << 4 | 0x1, count: 6))
        bytes[32 + MemoryLayout<synwave_connection>.offset(of: \synwave_connection.transition_count)!] = 200
        guard case .success(.connection(let c)) = RawEvents.decode(bytes) else {
            Issue.record("a long connection still decodes")
            return
        }
        #expect(c.transitions.count == 6 && c.transitionsSeen == 200)
    }

    @Test func decodesACgroupAnnouncement() {
        #expect(RawEvents.decode(RawEvents.cgroup()) == .success(.cgroup(CgroupEvent(timestampNs: 3_000, cgroupID: 4242))))
        #expect(RawEvents.decode(Array(RawEvents.cgroup().prefix(36)))
                == .failure(.sizeMismatch(type: 7, declared: 40, actual: 36, expected: 40)))
        // Nothing shows it, and the correlator passes it by.
        let event = KernelEvent.cgroup(CgroupEvent(timestampNs: 1, cgroupID: 2))
        #expect(!EventFilter().matches(event) && event.netns == 0 && event.timestampNs == 1)
        var correlator = Correlator()
        var records: [ConnectionRecord] = []
        correlator.process(event, into: &records)
        #expect(records.isEmpty && correlator.tracked == 0)
    }

    @Test func decodesRecordWithoutTotals() throws {
        let e = try RawEvents.stateEvent(RawEvents.shortState() + [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(e.oldState == .synSent && e.newState == .established)
        #expect(e.comm == "curl")
        #expect(e.sourcePort == 40000)
        #expect(e.totals == nil)
    }

    @Test func recordWithoutTotalsCutShortIsASizeMismatch() {
        let bytes = Array(RawEvents.shortState().prefix(100))
        #expect(RawEvents.decode(bytes) == .failure(.sizeMismatch(type: 1, declared: 112, actual: 100, expected: 112)))
    }

    /// Totals promised by the flag must be there: a short record claiming them is malformed.
    @Test func shortRecordClaimingTotalsIsASizeMismatch() {
        var bytes = RawEvents.shortState()
        bytes[4] |= UInt8(SYNWAVE_EVF_TOTALS.rawValue)
        #expect(RawEvents.decode(bytes) == .failure(.sizeMismatch(type: 1, declared: 112, actual: 112, expected: 152)))
    }

    @Test func acceptsRingBufferPadding() {
        let padded = RawEvents.state() + [0, 0, 0, 0, 0, 0, 0, 0]
        guard case .success = RawEvents.decode(padded) else {
            Issue.record("a record with trailing padding must decode")
            return
        }
    }

    @Test(arguments: [0, 1, 8, 31])
    func shortRecordsAreTruncated(length: Int) {
        let bytes = Array(RawEvents.state().prefix(length))
        #expect(RawEvents.decode(bytes) == .failure(.truncated(size: length)))
    }

    @Test func shortStateRecordIsASizeMismatch() {
        let bytes = Array(RawEvents.state().prefix(100))
        #expect(RawEvents.decode(bytes) == .failure(.sizeMismatch(type: 1, declared: 152, actual: 100, expected: 152)))
    }

    @Test func wrongDeclaredSize() {
        var bytes = RawEvents.state()
        bytes[2] = 120
        #expect(RawEvents.decode(bytes) == .failure(.sizeMismatch(type: 1, declared: 120, actual: 152, expected: 152)))
    }

    @Test func unknownType() {
        var bytes = RawEvents.state()
        bytes[0] = 99
        #expect(RawEvents.decode(bytes) == .failure(.unknownType(99)))
    }

    @Test(arguments: [UInt8(0), 14, 255])
    func invalidStates(state: UInt8) {
        #expect(RawEvents.decode(RawEvents.state(old: state)) == .failure(.invalidState(state)))
        #expect(RawEvents.decode(RawEvents.state(new: state)) == .failure(.invalidState(state)))
    }

    @Test func invalidFamily() {
        #expect(RawEvents.decode(RawEvents.state(family: 1)) == .failure(.invalidFamily(1)))
    }

    @Test func invalidUTF8CommIsRepairedNotTrusted() throws {
        var bytes = RawEvents.state(comm: "")
        bytes[88] = 0xff
        bytes[89] = 0x41
        let e = try RawEvents.stateEvent(bytes)
        #expect(e.comm.description == "\u{FFFD}A")
    }

    /// Garbage of every length never crashes: it decodes or fails with a reason.
    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let valid = RawEvents.state()
        for round in 0..<5_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = valid  // valid record with a few bytes flipped
                for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = .random(in: 0...255, using: &generator) }
            }
            switch RawEvents.decode(bytes) {
            case .success, .failure: break
            }
        }
    }
}

@Suite struct ConnectionEventDecoderTests {
    @Test func retransmit() throws {
        guard case .success(.retransmit(let e)) = RawEvents.decode(RawEvents.retransmit(kind: 0, flags: 3)) else {
            Issue.record("not decoded")
            return
        }
        #expect(e.kind == .data && e.isTailLossProbe && e.afterTimeout && e.error == -1 && e.retransmits == 2)
        #expect(e.socket == SocketIdentity(kind: .cookie, value: 7) && e.endpoints?.remotePort == 80)
    }

    @Test func resetWithoutTupleOrSocket() throws {
        guard case .success(.reset(let e)) = RawEvents.decode(RawEvents.reset(socketKind: 0, state: 0)) else {
            Issue.record("not decoded")
            return
        }
        #expect(e.socket == nil && e.state == nil && e.endpoints == nil && e.reason == .keepaliveTimeout)
    }

    @Test func socketError() throws {
        guard case .success(.socket(let e)) = RawEvents.decode(RawEvents.socket()) else {
            Issue.record("not decoded")
            return
        }
        #expect(e.kind == .error && e.state == .close && e.error == 110 && e.probesOut == 2)
    }

    @Test func unknownReasonsBecomeUnknownButBadFieldsAreErrors() {
        if case .success(.reset(let e)) = RawEvents.decode(RawEvents.reset(reason: 200)) {
            #expect(e.reason == .unknown)
        } else {
            Issue.record("an unknown reason is not malformed")
        }
        #expect(RawEvents.decode(RawEvents.retransmit(kind: 9)) == .failure(.invalidField("retransmit kind", 9)))
        #expect(RawEvents.decode(RawEvents.reset(direction: 5)) == .failure(.invalidField("reset direction", 5)))
        #expect(RawEvents.decode(RawEvents.socket(kind: 0)) == .failure(.invalidField("socket event kind", 0)))
        #expect(RawEvents.decode(RawEvents.socket(state: 99)) == .failure(.invalidState(99)))
        #expect(RawEvents.decode(RawEvents.retransmit(family: 3)) == .failure(.invalidFamily(3)))
        #expect(RawEvents.decode(Array(RawEvents.reset().prefix(60))) == .failure(.sizeMismatch(type: 3, declared: 80, actual: 60, expected: 80)))
    }
}
