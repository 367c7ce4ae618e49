import Foundation
import SynwaveCore
import SynwaveKernel
import Testing

/// One case per TCP scenario, each in its own namespace and cgroups: both ends' records and the
/// listener's events name the workload the socket was created in, server-side transitions
/// (softirq) included, with connections assembled in the kernel and in user space.
struct WorkloadScenario: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable { case normalClose, refused, reset, listenerOverflow, cgroupRemoved }
    var name: String
    var kind: Kind
    var assemble: String
    var testDescription: String { "\(name), assembled in \(assemble)" }

    static var all: [WorkloadScenario] {
        let kinds: [(String, Kind)] = [("normal close", .normalClose), ("refused", .refused), ("reset", .reset),
                                       ("listener overflow", .listenerOverflow),
                                       ("cgroup removed before the connection ends", .cgroupRemoved)]
        let modes = KernelAllows.connectionRecords ? ["kernel", "user"] : ["user"]
        return modes.flatMap { mode in kinds.map { WorkloadScenario(name: $0.0, kind: $0.1, assemble: mode) } }
    }
}

@Suite(.serialized, .enabled(if: Harness.isRoot && CgroupResolver.discover() != nil,
                             "root integration tests with a cgroup2 mount: they make cgroups and namespaces"))
struct WorkloadIntegrationTests {
    private func cgroup(_ object: [String: Any]) -> [String: Any]? { object["cgroup"] as? [String: Any] }

    @Test(arguments: WorkloadScenario.all)
    func recordsNameTheirWorkload(_ scenario: WorkloadScenario) throws {
        let cgroups = try TestCgroups("wl")
        let ns = try NetworkNamespace("wl")
        let tail = try Tail(["--netns", "\(ns.inode)", "--assemble", scenario.assemble, "--standalone"], events: false)
        let port = "7400"
        switch scenario.kind {
        case .normalClose:
            let server = try cgroups.loadgen(in: cgroups.docker, namespace: ns, ["serve", "--port", port])
            usleep(300_000)
            let client = try cgroups.loadgen(in: cgroups.service, namespace: ns,
                                             ["connect", "--addr", "127.0.0.1", "--port", port, "--bytes", "1000", "--echo"])
            #expect(client.finish().status == 0 && server.finish().status == 0)
        case .refused:
            let client = try cgroups.loadgen(in: cgroups.pod, namespace: ns,
                                             ["connect", "--addr", "127.0.0.1", "--port", port, "--once"])
            #expect(client.finish().status == 0)
        case .reset:
            let server = try cgroups.loadgen(in: cgroups.service, namespace: ns, ["serve", "--port", port, "--mode", "hold",
                                                                                  "--seconds", "5"])
            usleep(300_000)
            let client = try cgroups.loadgen(in: cgroups.docker, namespace: ns,
                                             ["connect", "--addr", "127.0.0.1", "--port", port, "--bytes", "10", "--linger-zero"])
            #expect(client.finish().status == 0 && server.finish().status == 0)
        case .listenerOverflow:
            let server = try cgroups.loadgen(in: cgroups.pod, namespace: ns, ["listen", "--port", port, "--backlog", "1",
                                                                              "--seconds", "4"])
            usleep(300_000)
            let clients = try cgroups.loadgen(in: cgroups.service, namespace: ns,
                                              ["burst", "--addr", "127.0.0.1", "--port", port, "--count", "6",
                                               "--spacing-ms", "20", "--hold-seconds", "1"])
            #expect(clients.finish().status == 0)
            _ = server.finish()
        case .cgroupRemoved:
            let server = try cgroups.loadgen(in: cgroups.doomed, namespace: ns, ["serve", "--port", port, "--mode", "hold",
                                                                                 "--seconds", "6"])
            usleep(300_000)
            let client = try cgroups.loadgen(in: cgroups.service, namespace: ns,
                                             ["connect", "--addr", "127.0.0.1", "--port", port, "--bytes", "10",
                                              "--hold-seconds", "1.5"])
            usleep(700_000)
            // The server's sockets keep the cgroup they were made in; the process moves out and
            // the cgroup goes while the connection is still open.
            cgroups.remove(cgroups.doomed)
            #expect(!FileManager.default.fileExists(atPath: "\(cgroups.mount.mountPoint)/\(cgroups.doomed)"))
            #expect(client.finish().status == 0 && server.finish().status == 0)
        }
        usleep(300_000)
        let (_, objects, result) = try tail.stop()
        #expect(result.status == 0, "\(result.stderr)")
        let records = objects.filter { $0["type"] as? String == "connection" }
        let client = records.first { $0["role"] as? String == "client" }
        let server = records.first { $0["role"] as? String == "server" }

        switch scenario.kind {
        case .normalClose:
            let client = try #require(client), server = try #require(server)
            #expect(cgroup(client)?["path"] as? String == cgroups.cgroupPath(cgroups.service))
            #expect(cgroup(client)?["unit"] as? String == "web.service")
            let named = try #require(cgroup(server), "the server's record")
            #expect(named["container_runtime"] as? String == "docker" && named["container_id"] as? String == TestCgroups.containerID)
        case .refused:
            let client = try #require(client)
            #expect(client["end"] as? String == "refused")
            let named = try #require(cgroup(client))
            #expect(named["pod_uid"] as? String == TestCgroups.podUID && named["pod_qos"] as? String == "burstable")
            #expect(named["container_runtime"] as? String == "containerd")
        case .reset:
            let client = try #require(client), server = try #require(server)
            #expect(client["end"] as? String == "reset_sent" && server["end"] as? String == "reset_received")
            #expect(cgroup(client)?["container_id"] as? String == TestCgroups.containerID)
            #expect(cgroup(server)?["unit"] as? String == "web.service")
        case .listenerOverflow:
            let listenerEvents = objects.filter { $0["type"] as? String == "listener" }
            try #require(!listenerEvents.isEmpty, "the accept queue filled: \(objects.count) lines")
            for event in listenerEvents {
                #expect(cgroup(event)?["pod_uid"] as? String == TestCgroups.podUID, "\(event)")
            }
            #expect(records.filter { $0["role"] as? String == "client" }.allSatisfy {
                cgroup($0)?["unit"] as? String == "web.service"
            })
        case .cgroupRemoved:
            let client = try #require(client), server = try #require(server)
            #expect(cgroup(server)?["path"] as? String == cgroups.cgroupPath(cgroups.doomed), "named from when its id was announced")
            #expect(cgroup(client)?["unit"] as? String == "web.service")
        }
    }

    /// `synwave listeners` names each listener's workload, through every source the kernel allows.
    @Test(arguments: KernelAllows.listenerPollSources)
    func listenersNameTheirWorkload(_ source: ListenerPollSource) throws {
        let cgroups = try TestCgroups("ls")
        let ns = try NetworkNamespace("ls")
        let server = try cgroups.loadgen(in: cgroups.pod, namespace: ns, ["listen", "--port", "7500", "--seconds", "3"])
        defer { _ = server.interrupt() }
        #expect(server.waitForStdout(seconds: 10) { $0.contains("listening") })
        let result = try run(Harness.synwave, ["listeners", "--watch", "--json", "--count", "1", "--netns", ns.name,
                                               "--poll-via", source.rawValue])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["type"] as? String == "listener" && int($0["lport"]) == 7500 }
        let row = try #require(rows.first, "\(result.stdout)")
        #expect(cgroup(row)?["pod_uid"] as? String == TestCgroups.podUID && cgroup(row)?["path"] as? String == cgroups.cgroupPath(cgroups.pod))
    }

    /// The workload filters through the daemon's tail socket: only the chosen workload's records,
    /// and the daemon's event log and metrics name every workload.
    @Test func daemonTailFiltersByWorkload() throws {
        let cgroups = try TestCgroups("dt")
        let ns = try NetworkNamespace("dt")
        let daemon = try DaemonUnderTest("workloads", settings: ["only_netns = \(ns.inode)", "event_log_records = all"])
        defer { daemon.remove() }
        let tail = try Child(Harness.synwave, ["tail", "--socket", daemon.tailSocket, "--json", "--unit", "web"])
        #expect(tail.waitForStderr(seconds: 10) { $0.contains("from the daemon") }, "\(tail.err.text)")
        let server = try cgroups.loadgen(in: cgroups.docker, namespace: ns, ["serve", "--port", "7600"])
        usleep(300_000)
        let client = try cgroups.loadgen(in: cgroups.service, namespace: ns,
                                         ["connect", "--addr", "127.0.0.1", "--port", "7600", "--bytes", "1000", "--echo"])
        let clientResult = client.finish(), serverResult = server.finish()
        #expect(clientResult.status == 0 && serverResult.status == 0, "\(clientResult.stderr) \(serverResult.stderr)")
        let logged = daemon.waitForRecords(2)
        usleep(500_000)
        let shown = tail.interrupt().stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(shown.count == 1 && shown.first?["role"] as? String == "client", "\(shown)")
        #expect(cgroup(try #require(shown.first))?["unit"] as? String == "web.service")
        #expect(Set(logged.compactMap { cgroup($0)?["unit"] as? String })
                == ["web.service", "docker-\(TestCgroups.containerID).scope"])
        #expect(daemon.terminate().status == 0)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        #expect(prom["synwave_workload_connections_ended_total{workload=\"web.service\",end=\"closed\"}"] == 1)
        #expect(prom["synwave_workload_connections_ended_total{workload=\"docker/\(TestCgroups.containerID.prefix(12))\",end=\"closed\"}"] == 1)
    }

    /// With its defaults the daemon polls every namespace: a listener overflowing in another
    /// namespace, inside a pod's cgroup, gets its series, labelled with its workload, and so does
    /// its namespace.
    @Test func daemonSeriesForListenersInEveryNamespace() throws {
        let cgroups = try TestCgroups("an")
        let ns = try NetworkNamespace("an")
        let daemon = try DaemonUnderTest("all-netns", settings: ["only_netns = \(ns.inode)", "listener_interval = 200ms"])
        defer { daemon.remove() }
        let server = try cgroups.loadgen(in: cgroups.pod, namespace: ns, ["listen", "--port", "7700", "--backlog", "1",
                                                                          "--seconds", "5"])
        defer { _ = server.interrupt() }
        #expect(server.waitForStdout(seconds: 10) { $0.contains("listening") })
        usleep(1_000_000)  // found by a discovery and polled
        let clients = try cgroups.loadgen(in: cgroups.service, namespace: ns,
                                          ["burst", "--addr", "127.0.0.1", "--port", "7700", "--count", "6",
                                           "--spacing-ms", "20", "--hold-seconds", "1.5"])
        #expect(clients.finish().status == 0)
        usleep(1_500_000)  // a metrics interval after the overflow
        #expect(daemon.terminate().status == 0)
        let prom = try PrometheusFile(parsing: String(contentsOfFile: daemon.metricsFile, encoding: .utf8))
        let pod = "pod/\(TestCgroups.podUID)"
        let listener = prom.samples.keys.first {
            $0.hasPrefix("synwave_listener_accept_overflows_total{netns=\"\(ns.inode)\"") && $0.contains("port=\"7700\"")
        }
        let key = try #require(listener, "a series for the listener in the other namespace")
        #expect(key.contains("workload=\"\(pod)\""), "\(key)")
        #expect((prom[key] ?? 0) > 0)
        #expect(prom.samples.keys.contains { $0.hasPrefix("synwave_netns_listen_overflows_total{netns=\"\(ns.inode)\"") })
    }
}
