import Foundation
import SynwaveCore
import SynwaveKernel
import Testing

/// Cgroup ids to paths and workloads on this host's real cgroup2 mount (wherever it is: this VM
/// mounts it at /sys/fs/cgroup/unified), with cgroups shaped like a systemd service, a docker
/// container and a kubepods pod's container, made and removed by the test.
@Suite(.enabled(if: Harness.isRoot && CgroupResolver.discover() != nil, "root, and a cgroup2 mount"))
struct CgroupResolverIntegrationTests {
    static let containerID = String(repeating: "ab", count: 32)
    static let podUID = "8f4c3a9e-1b2d-4c5e-9f00-112233445566"

    /// Makes the directories of `relative` under the mount (parents first); their ids, deepest last.
    private func makeCgroups(_ mount: MountInfo, _ relative: String) throws -> UInt64 {
        var directory = mount.mountPoint
        for part in relative.split(separator: "/") {
            directory += "/\(part)"
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw SyscallError("mkdir \(directory)", errno: .init(rawValue: errno))
            }
        }
        var info = stat()
        #expect(stat(directory, &info) == 0)
        return UInt64(info.st_ino)
    }

    /// Removes `top` and everything under it, deepest first.
    private func removeCgroups(_ mount: MountInfo, _ top: String) {
        let root = "\(mount.mountPoint)/\(top)"
        var directories: [String] = []
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let path as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory), isDirectory.boolValue {
                    directories.append("\(root)/\(path)")
                }
            }
        }
        for directory in directories.sorted(by: { $0.count > $1.count }) { rmdir(directory) }
        rmdir(root)
    }

    /// By file handle (open_by_handle_at), and by walks as where handles are refused.
    @Test(arguments: [true, false]) func idsResolveToWorkloadsAndOutliveTheirCgroups(fileHandles: Bool) throws {
        // Walks on every miss: the cases follow each other within the default 0.1 s.
        let resolver = CgroupResolver(mount: try #require(CgroupResolver.discover()).mount, minimumRescanNs: 0,
                                      fileHandles: fileHandles)
        let mount = resolver.mount
        let top = "synwave-test-\(getpid())"
        defer { removeCgroups(mount, top) }
        let prefix = mount.root == "/" ? "" : mount.root
        let cases: [(relative: String, unit: String?, container: String?, pod: String?)] = [
            ("\(top)/system.slice/web.service", "web.service", nil, nil),
            ("\(top)/system.slice/docker-\(Self.containerID).scope", "docker-\(Self.containerID).scope", Self.containerID, nil),
            ("\(top)/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.podUID.replacingOccurrences(of: "-", with: "_")).slice/cri-containerd-\(Self.containerID).scope",
             "cri-containerd-\(Self.containerID).scope", Self.containerID, Self.podUID),
        ]
        var ids: [UInt64] = []
        for c in cases {
            let id = try makeCgroups(mount, c.relative)
            ids.append(id)
            let workload = try #require(resolver.workload(of: id), "\(c.relative)")
            #expect(workload.path == "\(prefix)/\(c.relative)")
            #expect(workload.unit == c.unit)
            #expect(workload.container?.id == c.container)
            #expect(workload.pod?.uid == c.pod)
        }
        // The root cgroup is the mount's root.
        var info = stat()
        #expect(stat(mount.mountPoint, &info) == 0)
        #expect(resolver.path(of: UInt64(info.st_ino)) == mount.root)

        // Removed while their connections live: still named.
        removeCgroups(mount, top)
        let later = try makeCgroups(mount, "\(top)/system.slice/later.service")
        #expect(resolver.workload(of: later)?.unit == "later.service", "a miss walks the tree again")
        for (id, c) in zip(ids, cases) {
            #expect(resolver.workload(of: id)?.path == "\(prefix)/\(c.relative)")
        }
        #expect(resolver.path(of: 0) == nil)
        #expect(resolver.path(of: UInt64.max) == nil, "an id no cgroup has")
        #expect(fileHandles ? resolver.scans == 0 : resolver.scans > 0)
    }
}
