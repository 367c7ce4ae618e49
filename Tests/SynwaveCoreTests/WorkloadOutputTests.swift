import Foundation
import Testing
@testable import SynwaveCore

/// The workload in records and listener events: JSON, the text column, the tail filters and the
/// daemon's tail request.
@Suite struct WorkloadOutputTests {
    static let id = String(repeating: "ab", count: 32)
    static let docker = Workload(cgroupPath: "/system.slice/docker-\(id).scope")
    static let nginx = Workload(cgroupPath: "/system.slice/nginx.service")
    static let pod = Workload(cgroupPath:
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8f4c3a9e_1b2d_4c5e_9f00_112233445566.slice/cri-containerd-\(id).scope")

    static func record(cgroupID: UInt64 = 0, workload: Workload? = nil) -> ConnectionRecord {
        ConnectionRecord(socket: SocketIdentity(kind: .cookie, value: 1), netns: 1, role: .client, pid: 10, comm: "curl",
                         endpoints: Endpoints(localAddress: .v4(0x7f00_0001), localPort: 40000,
                                              remoteAddress: .v4(0x7f00_0001), remotePort: 80),
                         states: [], startNs: 1_000, endNs: 2_000, cgroupID: cgroupID, workload: workload, end: .closed)
    }

    func json(_ r: ConnectionRecord) throws -> [String: Any] {
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.json(r, into: &out)
        return try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
    }

    func text(_ r: ConnectionRecord) -> String {
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        var out: [UInt8] = []
        formatter.text(r, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func jsonCgroupObject() throws {
        let pod = try #require(json(Self.record(cgroupID: 7, workload: Self.pod))["cgroup"] as? [String: Any])
        #expect(pod["id"] as? Int == 7)
        #expect(pod["path"] as? String == Self.pod.path)
        #expect(pod["unit"] as? String == "cri-containerd-\(Self.id).scope")
        #expect(pod["container_runtime"] as? String == "containerd")
        #expect(pod["container_id"] as? String == Self.id)
        #expect(pod["pod_uid"] as? String == "8f4c3a9e-1b2d-4c5e-9f00-112233445566")
        #expect(pod["pod_qos"] as? String == "burstable")

        let plain = try #require(json(Self.record(cgroupID: 8, workload: Workload(cgroupPath: "/custom")))["cgroup"] as? [String: Any])
        #expect(plain.keys.sorted() == ["id", "path"], "only what the path names")
        let unresolved = try #require(json(Self.record(cgroupID: 9))["cgroup"] as? [String: Any])
        #expect(unresolved["id"] as? Int == 9 && unresolved["path"] is NSNull)
        #expect(try json(Self.record())["cgroup"] is NSNull, "no cgroup: null, not made up")
    }

    @Test func jsonEscapesHostilePaths() throws {
        let hostile = Workload(cgroupPath: "/a\"b\\c\n\u{1}.service")
        let cgroup = try #require(json(Self.record(cgroupID: 1, workload: hostile))["cgroup"] as? [String: Any])
        #expect(cgroup["path"] as? String == hostile.path && cgroup["unit"] as? String == "a\"b\\c\n\u{1}.service")
    }

    @Test func workloadColumn() {
        let formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        let header = formatter.recordHeader
        let column = header.distance(from: header.startIndex, to: header.range(of: "WORKLOAD")!.lowerBound)
        for (record, shown) in [(Self.record(cgroupID: 1, workload: Self.docker), String(Self.id.prefix(12))),
                                (Self.record(cgroupID: 2, workload: Self.nginx), "nginx.service"),
                                (Self.record(cgroupID: 3), "?"), (Self.record(), "-")] {
            let line = Array(text(record))
            #expect(String(line[column...]).hasPrefix(shown + " "), "\(String(line))")
        }
    }

    @Test func stateEventsInTheEventsView() throws {
        let e = try RawEvents.stateEvent(RawEvents.state())
        var formatter = StateEventFormatter(bootToWallOffsetNs: 0, useUTC: true)
        let line = formatter.json(e, oldStateNs: nil)
        var out: [UInt8] = []
        formatter.json(e, oldStateNs: nil, workload: Self.nginx, into: &out)
        let named = try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect((named["cgroup"] as? [String: Any])?["unit"] as? String == "nginx.service")
        let unnamed = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((unnamed["cgroup"] as? [String: Any])?["id"] as? Int == 4242)
        let header = formatter.header
        let column = header.distance(from: header.startIndex, to: header.range(of: "WORKLOAD")!.lowerBound)
        out = []
        formatter.text(e, oldStateNs: nil, workload: Self.nginx, into: &out)
        #expect(String(Array(String(decoding: out, as: UTF8.self))[column...]).hasPrefix("nginx.service "))
    }

    @Test func filters() {
        func matches(_ filter: WorkloadFilter, _ workload: Workload?) -> Bool {
            EventFilter(workloads: filter).matches(Self.record(cgroupID: 1, workload: workload))
        }
        #expect(matches(WorkloadFilter(units: ["nginx"]), Self.nginx), "a bare name means its .service")
        #expect(matches(WorkloadFilter(units: ["system.slice"]), Self.nginx), "a slice holds its members")
        #expect(!matches(WorkloadFilter(units: ["nginx"]), Self.docker))
        #expect(matches(WorkloadFilter(containerPrefixes: [String(Self.id.prefix(12)).uppercased()]), Self.docker))
        #expect(!matches(WorkloadFilter(containerPrefixes: ["ff"]), Self.docker))
        #expect(matches(WorkloadFilter(pods: ["8f4c3a9e_1b2d_4c5e_9f00_112233445566"]), Self.pod))
        #expect(matches(WorkloadFilter(cgroupPrefixes: ["/kubepods.slice/"]), Self.pod))
        #expect(!matches(WorkloadFilter(cgroupPrefixes: ["/kubepods.slice/"], units: ["nginx"]), Self.pod), "all criteria")
        #expect(!matches(WorkloadFilter(units: ["nginx"]), nil), "no workload matches no workload filter")
        #expect(matches(WorkloadFilter(), nil))

        // Events without a cgroup are not shown under a workload filter; listener events by their workload.
        let filter = EventFilter(workloads: WorkloadFilter(units: ["nginx"]))
        let reset = KernelEvent.socket(SocketEvent(timestampNs: 1, socket: SocketIdentity(kind: .cookie, value: 1), netns: 1,
                                                   kind: .error, state: .close, error: 0))
        #expect(!filter.matches(reset))
        let state = StateEvent(timestampNs: 1, socket: SocketIdentity(kind: .cookie, value: 1), netns: 1, tgid: 1, tid: 1,
                               comm: "x", family: 2, oldState: .close, newState: .synSent, sourceAddress: .v4(1),
                               sourcePort: 1, destinationAddress: .v4(2), destinationPort: 2, cgroupID: 5)
        #expect(filter.matches(state, workload: Self.nginx) && !filter.matches(state, workload: nil))
    }

    @Test func tailRequestCarriesWorkloadFilters() throws {
        let filter = try EventFilter(ports: [], addresses: [], netns: [], states: [], ends: [], workloads: WorkloadFilter(
            cgroupPrefixes: ["/with space/and%percent/"], units: ["nginx"], containerPrefixes: ["abab"], pods: ["p_1"]))
        let request = TailRequest(view: .records, format: .json, utc: false, filter: filter)
        #expect(!request.line.dropLast().contains("\n") && request.line.split(separator: " ").contains("cgroup=/with%20space/and%25percent/"))
        #expect(try TailRequest(parsing: String(request.line.dropLast())) == request)
        #expect(throws: FilterError.self) { try TailRequest(parsing: "SYNWAVE-TAIL 1 cgroup=%zz") }
        #expect(throws: FilterError.self) { try TailRequest(parsing: "SYNWAVE-TAIL 1 cgroup=system.slice") }
    }
}

@Suite struct WorkloadMetricsTests {
    static func record(_ workload: Workload?, id: UInt64, end: ConnectionEnd = .closed, retransmits: UInt16 = 0) -> ConnectionRecord {
        var r = WorkloadOutputTests.record(cgroupID: id, workload: workload)
        r.end = end
        r.retransmits.data = retransmits
        r.resetsReceived = end == .resetReceived ? 1 : 0
        return r
    }

    @Test func labels() {
        #expect(WorkloadMetrics.label(Self.record(WorkloadOutputTests.pod, id: 1)) == "pod/8f4c3a9e-1b2d-4c5e-9f00-112233445566")
        #expect(WorkloadMetrics.label(Self.record(WorkloadOutputTests.docker, id: 2)) == "docker/\(WorkloadOutputTests.id.prefix(12))")
        #expect(WorkloadMetrics.label(Self.record(WorkloadOutputTests.nginx, id: 3)) == "nginx.service")
        #expect(WorkloadMetrics.label(Self.record(Workload(cgroupPath: "/custom/x"), id: 4)) == "/custom/x")
        #expect(WorkloadMetrics.label(Self.record(nil, id: 5)) == "unknown")
        #expect(WorkloadMetrics.label(Self.record(nil, id: 0)) == "none")
    }

    @Test func boundedSeriesFoldTheRestIntoOther() {
        var metrics = WorkloadMetrics(limit: 2)
        metrics.count(Self.record(WorkloadOutputTests.nginx, id: 3, retransmits: 2))
        metrics.count(Self.record(WorkloadOutputTests.docker, id: 2, end: .resetReceived))
        metrics.count(Self.record(WorkloadOutputTests.pod, id: 1))
        metrics.count(Self.record(Workload(cgroupPath: "/custom/x"), id: 4, end: .refused))
        metrics.count(Self.record(WorkloadOutputTests.nginx, id: 3))
        #expect(metrics.counts.keys.sorted() == ["docker/\(WorkloadOutputTests.id.prefix(12))", "nginx.service", "other"])
        #expect(metrics.counts["nginx.service"]?.ended[.closed] == 2 && metrics.counts["nginx.service"]?.retransmits.data == 2)
        #expect(metrics.counts["other"]?.ended[.closed] == 1 && metrics.counts["other"]?.ended[.refused] == 1)
        #expect(metrics.foldedWorkloads == 2)
        let families = metrics.families()
        #expect(families.map(\.name) == ["synwave_workload_connections_ended_total", "synwave_workload_retransmits_total",
                                         "synwave_workload_resets_total", "synwave_workloads_omitted"])
        let resets = families[2].flattened()
        #expect(resets.count == 1 && resets[0].labels.map(\.1) == ["docker/\(WorkloadOutputTests.id.prefix(12))", "received"])
        #expect(WorkloadMetrics(limit: 0).families().map(\.name) == ["synwave_workloads_omitted"])
    }
}

@Suite struct NamespaceOwnerTests {
    @Test func processCgroupFile() {
        let hybrid = "12:pids:/system.slice/docker-abc.scope\n1:name=systemd:/system.slice/docker-abc.scope\n0::/system.slice/docker-abc.scope\n"
        #expect(ProcessCgroup.v2Path(hybrid) == "/system.slice/docker-abc.scope")
        #expect(ProcessCgroup.v2Path("0::/\n") == "/")
        #expect(ProcessCgroup.v2Path("3:cpu:/x\n") == nil, "v1 only")
        #expect(ProcessCgroup.v2Path("0::relative\n") == nil && ProcessCgroup.v2Path("") == nil)
    }

    /// Namespace series: labelled with the owning workload, and bounded like the listeners'.
    @Test func namespaceSeriesNameTheirOwnerAndAreBounded() throws {
        var metrics = DaemonMetrics()
        metrics.listenerSeriesLimit = 1
        var quiet = NamespaceRow(netns: 1, name: "host", counters: NamespaceCounters())
        quiet.owner = nil
        var busy = NamespaceRow(netns: 2, name: "pid 7", counters: NamespaceCounters())
        busy.counters.listenOverflows = 4
        busy.owner = WorkloadOutputTests.docker
        metrics.listeners = ListenerReport(rows: [], namespaces: [quiet, busy])
        let families = metrics.families()
        let overflows = try #require(families.first { $0.name == "synwave_netns_listen_overflows_total" })
        #expect(overflows.samples.count == 1)
        #expect(overflows.samples.first?.labels.map(\.1) == ["2", "pid 7", "docker/\(WorkloadOutputTests.id.prefix(12))"])
        let omitted = try #require(families.first { $0.name == "synwave_namespaces_omitted" })
        #expect(omitted.samples.first?.value == .number(1))
    }
}
