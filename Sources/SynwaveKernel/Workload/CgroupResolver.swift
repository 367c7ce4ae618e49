import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds a cgroup's path, and the workload it names, from its cgroup v2 id: the id is the
/// cgroup directory's inode on the cgroup2 mount, so a walk of that mount's directories maps ids
/// to paths. The map is cached and walked again on a miss (at most once per `minimumRescanNs`, 0.1 s: a new container's first connections find it).
/// Cgroups removed while their connections live keep their paths: the last
/// `rememberedRemovals` of them stay in the map after a walk no longer finds them.
public final class CgroupResolver: @unchecked Sendable {
    /// The cgroup2 mount walked.
    public let mount: MountInfo
    private var paths: [UInt64: String] = [:]
    private var workloads: [UInt64: Workload] = [:]
    private var removedOrder: [UInt64] = []
    private var removed: Set<UInt64> = []
    private var lastScanNs: UInt64 = 0
    private let minimumRescanNs: UInt64
    private let rememberedRemovals: Int
    /// A bound on one walk, so that a pathological tree cannot stall the caller.
    static let maximumDirectories = 200_000

    public init(mount: MountInfo, minimumRescanNs: UInt64 = 100_000_000, rememberedRemovals: Int = 4_096) {
        self.mount = mount
        self.minimumRescanNs = minimumRescanNs
        self.rememberedRemovals = rememberedRemovals
    }

    /// The resolver of this process's cgroup2 mount; nil when none is mounted (a v1-only host).
    public static func discover() -> CgroupResolver? {
        guard let text = try? Preflight.readFile("/proc/self/mountinfo"),
              let mount = MountInfo.cgroup2(in: MountInfo.parse(text)) else { return nil }
        return CgroupResolver(mount: mount)
    }

    /// The cgroup's path from the hierarchy's root (`/system.slice/nginx.service`), or nil when no
    /// walk has found it.
    public func path(of id: UInt64) -> String? {
        guard id != 0 else { return nil }
        if let path = paths[id] { return path }
        let now = Clocks.bootNs()
        guard lastScanNs == 0 || now - lastScanNs >= minimumRescanNs else { return nil }
        rescan(now: now)
        return paths[id]
    }

    /// The workload the cgroup's path names, parsed once per id.
    public func workload(of id: UInt64) -> Workload? {
        if let workload = workloads[id] { return workload }
        guard let path = path(of: id) else { return nil }
        let workload = Workload(cgroupPath: path)
        workloads[id] = workload
        return workload
    }

    private func rescan(now: UInt64) {
        lastScanNs = now
        var found: [UInt64: String] = [:]
        var info = stat()
        if stat(mount.mountPoint, &info) == 0 { found[UInt64(info.st_ino)] = mount.root }
        var pending: [(directory: String, path: String)] = [(mount.mountPoint, mount.root == "/" ? "" : mount.root)]
        var walked = 0
        while let (directory, path) = pending.popLast(), walked < Self.maximumDirectories {
            walked += 1
            for entry in directoryEntries(directory) where entry.isDirectory {
                let childPath = "\(path)/\(entry.name)"
                found[entry.inode] = childPath
                pending.append(("\(directory)/\(entry.name)", childPath))
            }
        }
        for (id, path) in paths where found[id] == nil {
            // Gone since the last walk: remembered, the oldest forgotten first (ids are never reused).
            found[id] = path
            if removed.insert(id).inserted { removedOrder.append(id) }
        }
        while removedOrder.count > rememberedRemovals {
            let id = removedOrder.removeFirst()
            removed.remove(id)
            found[id] = nil
            workloads[id] = nil
        }
        for (id, path) in found where paths[id] != path { workloads[id] = nil }
        paths = found
    }
}
