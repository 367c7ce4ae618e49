import Foundation
import SynwaveCore
import SynwaveKernel
import Testing

/// Tracked sockets whose closing events never came are looked up in the real kernel's table
/// (sock_diag in their namespace): a socket it no longer has gets its record, marked
/// close_lost; one it has stays tracked; one whose namespace nothing reaches is not guessed at.
@Suite(.enabled(if: Harness.isRoot, "root integration tests: they make network namespaces"))
struct SocketPresenceIntegrationTests {
    @Test func goneSocketsEndAndLiveOnesStay() throws {
        let namespace = try NetworkNamespace("presence")
        let target = NamespaceDiscovery.target(for: namespace.name)
        let (server, clients) = try namespace.heldConnections(port: 7300, count: 2, hold: 4)
        defer { _ = server.interrupt() }
        defer { _ = clients.finish(seconds: 10) }
        var live: [ExistingConnection] = []
        for _ in 0..<40 where live.count < 4 {
            usleep(100_000)
            live = ExistingConnections.snapshot(namespaces: [target]).connections
        }
        try #require(live.count == 4, "2 connections, both ends: \(live.count)")

        // One socket the kernel never had (as if its CLOSE and destroy were lost), one in a
        // namespace that no process or name reaches.
        let endpoints = live[0].endpoints
        let gone = ExistingConnection(cookie: 0x7fff_0000_0000_0001, netns: namespace.inode, state: .established,
                                      endpoints: endpoints, isServer: false, owner: nil)
        let unreachable = ExistingConnection(cookie: 0x7fff_0000_0000_0002, netns: 1, state: .established,
                                             endpoints: endpoints, isServer: false, owner: nil)
        var correlator = Correlator()
        #expect(correlator.adopt(live + [gone, unreachable], nowNs: 1) == 6)
        var records: [ConnectionRecord] = []
        let answer = correlator.endSocketsGoneFromKernel(idleNs: 0, nowNs: 2, into: &records)
        #expect(Set(answer.present) == Set(live.map(\.cookie)))
        #expect(answer.gone == [gone.cookie])
        #expect(answer.unverified == 1)
        #expect(records.count == 1)
        #expect(records.first?.socket.value == gone.cookie && records.first?.closeLost == true && records.first?.end == .unknown)
        #expect(correlator.tracked == 5, "the live ones and the unverifiable one stay tracked")
        #expect(correlator.metrics.closesLost == 1)
    }
}
