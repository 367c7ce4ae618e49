import Testing
@testable import SynwaveCore

/// The bounded map behind the event log's other ends and the report's joins.
struct RecentlyKeptTests {
    @Test func theOldestGoesPastCapacity() {
        var kept = RecentlyKept<Int, String>(capacity: 2)
        kept.add("a", for: 1)
        kept.add("b", for: 2)
        kept.add("c", for: 3)
        #expect(kept[1] == nil && kept[2] == "b" && kept[3] == "c")
    }

    @Test func aKeyAddedAgainIsNotForgottenByItsOlderSlot() {
        var kept = RecentlyKept<Int, String>(capacity: 3)
        kept.add("a", for: 1)
        kept.add("a2", for: 1)     // two slots now name key 1; the newer counts
        kept.add("b", for: 2)
        kept.add("c", for: 3)      // reuses key 1's older slot: key 1 stays
        #expect(kept[1] == "a2" && kept[2] == "b" && kept[3] == "c")
        kept.add("d", for: 4)      // reuses key 1's newer slot: the oldest live add goes
        #expect(kept[1] == nil && kept[2] == "b" && kept[4] == "d")
    }

    @Test func removeForgetsOnce() {
        var kept = RecentlyKept<Int, Void>(capacity: 4)
        kept.add((), for: 7)
        #expect(kept.remove(7) != nil && kept.remove(7) == nil)
    }

    @Test func endpointsMirrorAndUnmap() throws {
        let mapped = try #require(IPAddress(parsing: "::ffff:10.0.0.1")), v4 = try #require(IPAddress(parsing: "10.0.0.1"))
        let peer = try #require(IPAddress(parsing: "10.0.0.2"))
        let client = Endpoints(localAddress: mapped, localPort: 40000, remoteAddress: peer, remotePort: 80)
        let server = Endpoints(localAddress: peer, localPort: 80, remoteAddress: v4, remotePort: 40000)
        #expect(client != server.mirrored && client.unmapped == server.mirrored.unmapped)
        #expect(client.mirrored.mirrored == client)
    }
}
