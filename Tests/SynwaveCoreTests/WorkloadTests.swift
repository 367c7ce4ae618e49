import Testing
@testable import SynwaveCore

@Suite struct WorkloadTests {
    static let id = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
    static let uid = "8f4c3a9e-1b2d-4c5e-9f00-112233445566"
    static let uidSystemd = "8f4c3a9e_1b2d_4c5e_9f00_112233445566"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var path: String
        var unit: String?
        var runtime: ContainerRuntime?
        var containerID: String?
        var podUID: String?
        var qos: PodQoS?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "systemd service", path: "/system.slice/nginx.service", unit: "nginx.service"),
        Case(name: "user session scope", path: "/user.slice/user-1000.slice/session-3.scope", unit: "session-3.scope"),
        Case(name: "user manager's app scope",
             path: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope",
             unit: "app-firefox-1234.scope"),
        Case(name: "a slice alone", path: "/system.slice", unit: "system.slice"),
        Case(name: "the root", path: "/"),
        Case(name: "docker, systemd driver", path: "/system.slice/docker-\(id).scope",
             unit: "docker-\(id).scope", runtime: .docker, containerID: id),
        Case(name: "docker, cgroupfs driver", path: "/docker/\(id)", runtime: .docker, containerID: id),
        Case(name: "rootless docker", path: "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-\(id).scope",
             unit: "docker-\(id).scope", runtime: .docker, containerID: id),
        Case(name: "podman, systemd driver", path: "/machine.slice/libpod-\(id).scope",
             unit: "libpod-\(id).scope", runtime: .podman, containerID: id),
        Case(name: "podman with systemd inside", path: "/machine.slice/libpod-\(id).scope/container/system.slice/nginx.service",
             unit: "nginx.service", runtime: .podman, containerID: id),
        Case(name: "podman, cgroupfs driver", path: "/libpod_parent/libpod-\(id)", runtime: .podman, containerID: id),
        Case(name: "podman's conmon is not a container", path: "/machine.slice/libpod-conmon-\(id).scope",
             unit: "libpod-conmon-\(id).scope"),
        Case(name: "containerd CRI, systemd driver, burstable",
             path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             unit: "cri-containerd-\(id).scope", runtime: .containerd, containerID: id, podUID: uid, qos: .burstable),
        Case(name: "cri-o, systemd driver, besteffort",
             path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/crio-\(id).scope",
             unit: "crio-\(id).scope", runtime: .crio, containerID: id, podUID: uid, qos: .besteffort),
        Case(name: "cri-o's conmon", path: "/kubepods.slice/kubepods-pod\(uidSystemd).slice/crio-conmon-\(id).scope",
             unit: "crio-conmon-\(id).scope", podUID: uid, qos: .guaranteed),
        Case(name: "guaranteed pod, systemd driver", path: "/kubepods.slice/kubepods-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             unit: "cri-containerd-\(id).scope", runtime: .containerd, containerID: id, podUID: uid, qos: .guaranteed),
        Case(name: "pod's own cgroup", path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice",
             unit: "kubepods-burstable-pod\(uidSystemd).slice", podUID: uid, qos: .burstable),
        Case(name: "containerd, cgroupfs driver", path: "/kubepods/burstable/pod\(uid)/\(id)",
             containerID: id, podUID: uid, qos: .burstable),
        Case(name: "guaranteed, cgroupfs driver", path: "/kubepods/pod\(uid)/\(id)",
             containerID: id, podUID: uid, qos: .guaranteed),
        Case(name: "cri-o, cgroupfs driver", path: "/kubepods/besteffort/pod\(uid)/crio-\(id)",
             runtime: .crio, containerID: id, podUID: uid, qos: .besteffort),
        Case(name: "static pod (32-digit UID)", path: "/kubepods/burstable/pod0123456789abcdef0123456789abcdef/\(id)",
             containerID: id, podUID: "0123456789abcdef0123456789abcdef", qos: .burstable),
        Case(name: "kind node: kubelet inside a docker container",
             path: "/system.slice/docker-\(id).scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod\(uidSystemd).slice/cri-containerd-\(id).scope",
             unit: "cri-containerd-\(id).scope", runtime: .containerd, containerID: id, podUID: uid, qos: .besteffort),
        // Hostile or malformed: nothing is made up.
        Case(name: "uppercase id", path: "/system.slice/docker-\(id.uppercased()).scope", unit: "docker-\(id.uppercased()).scope"),
        Case(name: "short id", path: "/docker/\(id.prefix(12))"),
        Case(name: "id one digit too long", path: "/docker/\(id)0"),
        Case(name: "bare id outside a pod or runtime directory", path: "/system.slice/\(id)", unit: "system.slice"),
        Case(name: "pod directory outside kubepods", path: "/system.slice/pod\(uid)", unit: "system.slice"),
        Case(name: "broken UID", path: "/kubepods/burstable/pod\(uid.dropLast())x/\(id)"),
        Case(name: "UID with a wrong separator", path: "/kubepods/pod8f4c3a9e+1b2d-4c5e-9f00-112233445566"),
        Case(name: "suffix alone", path: "/.service/.scope"),
        Case(name: "odd bytes", path: "/system.slice/\u{FFFD}\u{0}\u{7}\n.service", unit: "\u{FFFD}\u{0}\u{7}\n.service"),
        Case(name: "doubled and trailing slashes", path: "//system.slice//nginx.service/", unit: "nginx.service"),
    ]

    @Test(arguments: cases) func readsThePath(_ c: Case) {
        let workload = Workload(cgroupPath: c.path)
        #expect(workload.path == c.path)
        #expect(workload.unit == c.unit)
        #expect(workload.container?.runtime == c.runtime)
        #expect(workload.container?.id == c.containerID)
        #expect(workload.pod?.uid == c.podUID)
        #expect(workload.pod?.qos == c.qos)
    }

    @Test func veryLongPathsEndWithOnlyThePath() {
        let deep = String(repeating: "/a", count: 20_000) + "/nginx.service"
        #expect(Workload(cgroupPath: deep).unit == "nginx.service")
        let long = "/" + String(repeating: "x", count: 100_000)
        let workload = Workload(cgroupPath: long)
        #expect(workload.unit == nil && workload.container == nil && workload.pod == nil && workload.path == long)
    }

    @Test func shortNamePrefersTheContainer() {
        #expect(Workload(cgroupPath: "/system.slice/docker-\(Self.id).scope").shortName == String(Self.id.prefix(12)))
        #expect(Workload(cgroupPath: "/system.slice/nginx.service").shortName == "nginx.service")
        #expect(Workload(cgroupPath: "/custom/dir").shortName == "dir")
        #expect(Workload(cgroupPath: "/").shortName == "/")
    }
}

@Suite struct MountInfoTests {
    static let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 master:2 - cgroup2 cgroup2 rw
        """

    @Test func findsTheCgroup2MountOnAHybridHost() throws {
        let mount = try #require(MountInfo.cgroup2(in: MountInfo.parse(Self.hybrid)))
        #expect(mount == MountInfo(root: "/", mountPoint: "/sys/fs/cgroup/unified", fsType: "cgroup2", superOptions: "rw"))
    }

    /// What doctor says keeps sockets from carrying their cgroup.
    @Test func cgroupProblems() {
        let hybrid = MountInfo.parse(Self.hybrid)
        let v1Only = MountInfo.parse("32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu")
        let netCls = MountInfo.parse(Self.hybrid + "\n33 31 0:30 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio")
        let old = KernelRelease(major: 5, minor: 10), new = KernelRelease(major: 6, minor: 18)
        #expect(MountInfo.cgroupProblem(in: hybrid, kernel: old) == nil)
        #expect(MountInfo.cgroupProblem(in: v1Only, kernel: new)?.contains("v1-only") == true)
        #expect(MountInfo.cgroupProblem(in: netCls, kernel: old)?.contains("net_cls") == true)
        #expect(MountInfo.cgroupProblem(in: netCls, kernel: new) == nil, "5.15 keeps the cgroup apart")
    }

    @Test func unifiedHostAndACgroupNamespace() throws {
        let unified = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"
        #expect(MountInfo.cgroup2(in: MountInfo.parse(unified))?.mountPoint == "/sys/fs/cgroup")
        let inContainer = "612 600 0:26 /system.slice/docker-abc.scope /sys/fs/cgroup ro,nosuid - cgroup2 cgroup ro"
        #expect(MountInfo.cgroup2(in: MountInfo.parse(inContainer))?.root == "/system.slice/docker-abc.scope")
    }

    @Test func noCgroup2MountOnAV1OnlyHost() {
        let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu"
        #expect(MountInfo.cgroup2(in: MountInfo.parse(v1)) == nil)
    }

    @Test func octalEscapesInPaths() {
        let line = "50 31 0:40 /a\\040b /mnt/with\\040space\\134x rw - cgroup2 cgroup2 rw"
        let mount = MountInfo(line: line[...])
        #expect(mount?.root == "/a b")
        #expect(mount?.mountPoint == "/mnt/with space\\x")
        // A backslash not followed by three octal digits is kept as it is.
        #expect(MountInfo(line: "1 2 0:1 / /m\\09 rw - cgroup2 c rw")?.mountPoint == "/m\\09")
        #expect(MountInfo(line: "1 2 0:1 / /m\\ rw - cgroup2 c rw")?.mountPoint == "/m\\")
    }

    @Test func malformedLinesAreSkipped() {
        let text = """
            garbage
            1 2 0:1 / /m rw no-separator cgroup2 c rw
            1 2 0:1 / /m rw -
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        #expect(MountInfo.parse(text).map(\.mountPoint) == ["/sys/fs/cgroup/unified"])
    }
}
