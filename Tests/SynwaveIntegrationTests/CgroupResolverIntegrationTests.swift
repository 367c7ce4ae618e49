import Foundation
import SynwaveCore
import SynwaveKernel
import Testing

/// Cgroup ids to paths and workloads on this host's real cgroup2 mount (wherever it is: this VM
/// mounts it at /sys/fs/cgroup/unified), with cgroups shaped like a systemd service, a docker
/// container and a kubepods pod's container (`TestCgroups`).
@Suite(.enabled(if: Harness.isRoot && CgroupResolver.discover() != nil, "root, and a cgroup2 mount"))
struct CgroupResolverIntegrationTests {
    /// By file handle (open_by_handle_at), and by walks as where handles are refused.
    @Test(arguments: [true, false]) func idsResolveToWorkloadsAndOutliveTheirCgroups(fileHandles: Bool) throws {
        let cgroups = try TestCgroups("resolver")
        // Walks on every miss: the cases follow each other within the default 0.1 s.
        let resolver = CgroupResolver(mount: cgroups.mount, minimumRescanNs: 0, fileHandles: fileHandles)
        let cases: [(relative: String, unit: String?, container: String?, pod: String?)] = [
            (cgroups.service, "web.service", nil, nil),
            (cgroups.docker, "docker-\(TestCgroups.containerID).scope", TestCgroups.containerID, nil),
            (cgroups.pod, "cri-containerd-\(TestCgroups.containerID).scope", TestCgroups.containerID, TestCgroups.podUID),
        ]
        var ids: [UInt64] = []
        for c in cases {
            let id = try cgroups.id(c.relative)
            ids.append(id)
            let workload = try #require(resolver.workload(of: id), "\(c.relative)")
            #expect(workload.path == cgroups.cgroupPath(c.relative))
            #expect(workload.unit == c.unit)
            #expect(workload.container?.id == c.container)
            #expect(workload.pod?.uid == c.pod)
        }
        // The root cgroup is the mount's root.
        var info = stat()
        #expect(stat(cgroups.mount.mountPoint, &info) == 0)
        #expect(resolver.path(of: UInt64(info.st_ino)) == cgroups.mount.root)

        // Removed while their connections live: still named.
        cgroups.remove(cgroups.top)
        try cgroups.make("\(cgroups.top)/system.slice/later.service")
        let later = try cgroups.id("\(cgroups.top)/system.slice/later.service")
        #expect(resolver.workload(of: later)?.unit == "later.service", "a miss looks again")
        for (id, c) in zip(ids, cases) {
            #expect(resolver.workload(of: id)?.path == cgroups.cgroupPath(c.relative))
        }
        #expect(resolver.path(of: 0) == nil)
        #expect(resolver.path(of: UInt64.max) == nil, "an id no cgroup has")
        // Named by handle where this kernel takes them; walks otherwise.
        let byHandle = fileHandles && KernelAllows.cgroupFileHandles
        #expect(resolver.namesByFileHandle == byHandle)
        #expect(byHandle ? resolver.scans == 0 : resolver.scans > 0)
    }
}
