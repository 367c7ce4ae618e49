import Testing
@testable import SynwaveCore

@Suite struct EventFilterTests {
    let event = try! RawEvents.stateEvent(RawEvents.state())  // 127.0.0.1:40000 -> 10.0.0.2:5004, SYN_SENT -> ESTABLISHED

    @Test func emptyFilterMatchesEverything() {
        #expect(EventFilter().isEmpty)
        #expect(EventFilter().matches(event))
    }

    @Test func portMatchesEitherSide() {
        #expect(EventFilter(ports: [5004]).matches(event))
        #expect(EventFilter(ports: [40000]).matches(event))
        #expect(!EventFilter(ports: [80]).matches(event))
        #expect(EventFilter(ports: [80, 5004]).matches(event))
    }

    @Test func addressMatchesEitherSideAndMappedForms() {
        #expect(EventFilter(addresses: [IPAddress(parsing: "10.0.0.2")!]).matches(event))
        #expect(EventFilter(addresses: [IPAddress(parsing: "::ffff:127.0.0.1")!]).matches(event))
        #expect(!EventFilter(addresses: [IPAddress(parsing: "10.0.0.3")!]).matches(event))
    }

    @Test func mappedEventMatchesPlainIPv4Filter() throws {
        let mapped: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 7]
        let e = try RawEvents.stateEvent(RawEvents.state(family: 10, saddr: mapped, daddr: mapped))
        #expect(EventFilter(addresses: [IPAddress(parsing: "192.0.2.7")!]).matches(e))
    }

    @Test func netnsAndStates() {
        #expect(EventFilter(netns: [4026531840]).matches(event))
        #expect(!EventFilter(netns: [1]).matches(event))
        #expect(EventFilter(states: [.synSent]).matches(event))
        #expect(EventFilter(states: [.established]).matches(event))
        #expect(!EventFilter(states: [.finWait1]).matches(event))
    }

    @Test func allCriteriaMustMatch() {
        #expect(!EventFilter(ports: [5004], states: [.close]).matches(event))
        #expect(EventFilter(ports: [5004], netns: [4026531840], states: [.synSent]).matches(event))
    }
}

@Suite struct ParsingTests {
    @Test(arguments: [("SYN_SENT", TCPState.synSent), ("syn-sent", .synSent), ("TCP_LISTEN", .listen), ("close_wait", .closeWait)])
    func stateNames(name: String, state: TCPState) {
        #expect(TCPState(name: name) == state)
    }

    @Test func unknownStateName() {
        #expect(TCPState(name: "SYN") == nil)
        #expect(TCPState(name: "") == nil)
    }

    @Test func everyStateRoundTrips() {
        for state in TCPState.allCases { #expect(TCPState(name: state.name) == state) }
    }

    @Test(arguments: [("16M", UInt64(16 << 20)), ("64MiB", 64 << 20), ("512k", 512 << 10), ("1G", 1 << 30), ("4096", 4096)])
    func byteSizes(text: String, bytes: UInt64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    static let ringSplits: [(total: UInt32, cpus: Int, each: UInt32)] = [
        (16 << 20, 2, 8 << 20), (16 << 20, 3, 4 << 20), (16 << 20, 1, 16 << 20),
        (64 << 10, 64, 4096), (4096, 2, 4096), (1 << 30, 6, 128 << 20),
    ]

    @Test(arguments: ringSplits)
    func perCPURings(total: UInt32, cpus: Int, each: UInt32) {
        #expect(ByteSize.perCPURing(total: total, cpus: cpus) == each)
    }

    static let sizeTexts: [(bytes: UInt64, text: String)] = [
        (16 << 20, "16 MiB"), (64 << 10, "64 KiB"), (1 << 30, "1 GiB"), (4095, "4095 B"), (1536, "1536 B"),
    ]

    @Test(arguments: sizeTexts)
    func byteSizeTexts(bytes: UInt64, text: String) {
        #expect(ByteSize.text(bytes) == text)
    }

    @Test(arguments: ["", "M", "12X", "-1M", "1.5M", "99999999999999999999G"])
    func badByteSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func kernelReleases() {
        #expect(KernelRelease(parsing: "6.18.44-fc-v595") == KernelRelease(major: 6, minor: 18, patch: 44))
        #expect(KernelRelease(parsing: "5.4.0-150-generic")! < KernelRelease.minimumSupported)
        #expect(KernelRelease(parsing: "5.10")! > KernelRelease.minimumSupported)
        #expect(KernelRelease(parsing: "garbage") == nil)
    }

    @Test func capabilities() {
        let root = Capabilities(procStatus: "Name:\tx\nCapEff:\t000001ffffffffff\n")!
        #expect(root.missingForTracing.isEmpty)
        let none = Capabilities(procStatus: "CapEff:\t0000000000000000\n")!
        #expect(none.missingForTracing == ["CAP_BPF", "CAP_PERFMON"])
        let bpfOnly = Capabilities(mask: 1 << 39)
        #expect(bpfOnly.missingForTracing == ["CAP_PERFMON"])
        #expect(Capabilities(mask: 1 << 21).missingForTracing.isEmpty)
        #expect(Capabilities(procStatus: "Name:\tx\n") == nil)
    }

    @Test func addresses() {
        #expect(IPAddress(parsing: "192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress(parsing: "2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress(parsing: "::ffff:10.1.2.3")?.unmapped.description == "10.1.2.3")
        #expect(IPAddress(parsing: "2001:db8::1")?.endpoint(port: 80) == "[2001:db8::1]:80")
        #expect(IPAddress(parsing: "not-an-ip") == nil)
    }
}
