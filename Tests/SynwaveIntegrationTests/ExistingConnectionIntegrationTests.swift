import Foundation
import Testing

/// In the tail suite (serialized), so that it adds no load beside the other suites' timing-sensitive cases.
extension TailIntegrationTests {
    /// A connection opened before `synwave tail` started still ends with a record for each side,
    /// from the sock_diag snapshot taken at start: marked first seen mid-life, owner from /proc.
    @Test func connectionOpenBeforeStartGetsMidLifeRecords() throws {
        let ns = try NetworkNamespace("existing")
        let port = 7101
        let server = try Child("/usr/sbin/ip", ["netns", "exec", ns.name, Harness.loadgen, "serve", "--port", "\(port)",
                                                "--mode", "echo", "--bytes", "1000", "--close-first", "client",
                                                "--seconds", "20"])
        let listening = (0..<100).contains { _ in
            let ss = try? run("/usr/sbin/ip", ["netns", "exec", ns.name, "ss", "-Htln", "sport", "= :\(port)"])
            if ss?.stdout.contains(":\(port)") == true { return true }
            usleep(50_000)
            return false
        }
        try #require(listening, "the server never listened")
        // Connected now; sends (and so closes) only after the tracer is up.
        let client = try Child("/usr/sbin/ip", ["netns", "exec", ns.name, Harness.loadgen, "connect", "--addr", "127.0.0.1",
                                                "--port", "\(port)", "--pause-ms", "8000", "--bytes", "1000", "--echo"])
        let established = (0..<100).contains { _ in
            let ss = try? run("/usr/sbin/ip", ["netns", "exec", ns.name, "ss", "-Htn", "state", "established"])
            if (ss?.stdout.split(separator: "\n").count ?? 0) >= 2 { return true }
            usleep(50_000)
            return false
        }
        try #require(established, "the client never connected")

        let tail = try Tail(["--netns", "\(ns.inode)"], events: false)
        #expect(tail.child.waitForStderr(seconds: 10) { $0.contains("connections already open") })
        let clientResult = client.finish(seconds: 20)
        _ = server.finish(seconds: 5)
        #expect(clientResult.status == 0, "\(clientResult.stderr)")
        let (_, objects, result) = try tail.stop()
        #expect(result.status == 0, "\(result.stderr)")

        let records = objects.filter { $0["type"] as? String == "connection" && int($0["netns"]) == Int(ns.inode) }
        let clientRecord = try #require(records.first { $0["role"] as? String == "client" }, "\(objects)")
        let serverRecord = try #require(records.first { $0["role"] as? String == "server" }, "\(objects)")
        for record in [clientRecord, serverRecord] {
            #expect(record["first_seen_mid_life"] as? Bool == true)
            #expect(record["end"] as? String == "closed")
            #expect(record["comm"] as? String == "synwave-loadgen")
            #expect(record["handshake_us"] == nil || record["handshake_us"] is NSNull)
            let states = (record["states"] as? [[String: Any]])?.compactMap { $0["state"] as? String }
            #expect(states?.first == "ESTABLISHED", "\(record)")
        }
        #expect(clientRecord["closed_first"] as? String == "local" && int(clientRecord["dport"]) == port)
        #expect(serverRecord["closed_first"] as? String == "peer" && int(serverRecord["sport"]) == port)
    }
}
