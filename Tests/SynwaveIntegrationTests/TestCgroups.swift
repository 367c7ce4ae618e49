import Foundation
import SynwaveCore
import SynwaveKernel
import Testing

/// A test's cgroups under the real cgroup2 mount, shaped like a systemd service, a docker
/// container and a kubepods pod's container; removed with it.
final class TestCgroups {
    static let containerID = String(repeating: "5a", count: 32)
    static let podUID = "8f4c3a9e-1b2d-4c5e-9f00-112233445566"

    let mount: MountInfo
    let top: String

    /// Where each shape lives, under the test's own top directory.
    var service: String { "\(top)/system.slice/web.service" }
    var docker: String { "\(top)/system.slice/docker-\(Self.containerID).scope" }
    var pod: String {
        "\(top)/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.podUID.replacingOccurrences(of: "-", with: "_")).slice"
            + "/cri-containerd-\(Self.containerID).scope"
    }
    var doomed: String { "\(top)/system.slice/doomed.service" }

    init(_ label: String) throws {
        mount = try #require(CgroupResolver.discover()).mount
        top = "synwave-test-\(getpid())-\(label)"
        for path in [service, docker, pod, doomed] { try make(path) }
    }

    deinit { remove(top) }

    /// The cgroup path as records name it.
    func cgroupPath(_ relative: String) -> String { (mount.root == "/" ? "" : mount.root) + "/" + relative }

    func make(_ relative: String) throws {
        var directory = mount.mountPoint
        for part in relative.split(separator: "/") {
            directory += "/\(part)"
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw HarnessError("mkdir \(directory): errno \(errno)")
            }
        }
    }

    /// The cgroup's id: its directory's inode.
    func id(_ relative: String) throws -> UInt64 {
        var info = stat()
        guard stat("\(mount.mountPoint)/\(relative)", &info) == 0 else { throw HarnessError("stat \(relative): errno \(errno)") }
        return UInt64(info.st_ino)
    }

    /// Removes `relative` and everything under it, moving any process left to the mount's root.
    func remove(_ relative: String) {
        let root = "\(mount.mountPoint)/\(relative)"
        var directories = [root]
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let path as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory), isDirectory.boolValue {
                    directories.append("\(root)/\(path)")
                }
            }
        }
        for directory in directories.sorted(by: { $0.count > $1.count }) {
            if let procs = try? String(contentsOfFile: "\(directory)/cgroup.procs", encoding: .utf8) {
                for pid in procs.split(separator: "\n") {
                    try? String(pid).write(toFile: "\(mount.mountPoint)/cgroup.procs", atomically: false, encoding: .utf8)
                }
            }
            rmdir(directory)
        }
    }

    /// synwave-loadgen in `namespace`, inside the cgroup `relative` (the shell joins it, then execs).
    func loadgen(in relative: String, namespace: NetworkNamespace, _ arguments: [String]) throws -> Child {
        let procs = "\(mount.mountPoint)/\(relative)/cgroup.procs"
        return try Child("/bin/sh", ["-c", "echo $$ > '\(procs)' && exec /usr/sbin/ip netns exec \"$0\" \"$@\"",
                                     namespace.name, Harness.loadgen] + arguments)
    }
}
