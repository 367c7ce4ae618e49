import CCgroupHandle
import Synchronization
import SystemPackage
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds a cgroup's path, and the workload it names, from its cgroup v2 id (docs/workloads.md).
///
/// The id is the cgroup directory's kernfs file handle, so `open_by_handle_at` on the cgroup2
/// mount opens it directly and /proc/self/fd names it. Where that is refused (no
/// CAP_DAC_READ_SEARCH), a walk of the mount's directories maps inodes (the same ids) to paths,
/// at most once per `minimumRescanNs`. Paths are cached by id, the most recent
/// `capacity`, and ids are never reused within a boot: a cgroup removed after its id was first
/// named (the programs announce each new id, `learn`) keeps its path while its connections live.
/// One resolver serves every thread of the daemon (a lock around the cache).
public final class CgroupResolver: Sendable {
    /// The cgroup2 mount.
    public let mount: MountInfo
    private let mountFD: Int32
    private let minimumRescanNs: UInt64
    private let capacity: Int
    private let state = Mutex(State())
    /// A bound on one walk, so that a pathological tree cannot stall the caller.
    static let maximumDirectories = 200_000
    /// An id that could not be named is tried again after this long.
    static let missRetryNs: UInt64 = 1_000_000_000

    private struct State {
        var paths: [UInt64: String] = [:]
        var order: [UInt64] = []
        var workloads: [UInt64: Workload] = [:]
        var missedAtNs: [UInt64: UInt64] = [:]
        var handlesRefused = false
        var lastScanNs: UInt64 = 0
        var scans: UInt64 = 0
    }

    /// `fileHandles: false` names by walks only, as where handles are refused.
    public init(mount: MountInfo, minimumRescanNs: UInt64 = 100_000_000, capacity: Int = 65_536, fileHandles: Bool = true) {
        self.mount = mount
        state.withLock { $0.handlesRefused = !fileHandles }
        self.minimumRescanNs = minimumRescanNs
        self.capacity = capacity
        mountFD = open(mount.mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    deinit {
        if mountFD >= 0 { close(mountFD) }
    }

    /// This process's cgroup2 mount; nil when none is mounted (a v1-only host).
    public static func mountedCgroup2() -> MountInfo? {
        guard let text = try? Preflight.readFile("/proc/self/mountinfo") else { return nil }
        return MountInfo.cgroup2(in: MountInfo.parse(text))
    }

    /// The resolver of this process's cgroup2 mount; nil when none is mounted.
    public static func discover() -> CgroupResolver? {
        mountedCgroup2().map { CgroupResolver(mount: $0) }
    }

    /// Walks of the mount so far (only where file handles are refused).
    public var scans: UInt64 { state.withLock { $0.scans } }

    /// Whether ids are still named by file handle (false once the kernel refused one, or when asked).
    public var namesByFileHandle: Bool { state.withLock { !$0.handlesRefused } }

    /// The cgroup's path from the hierarchy's root (`/system.slice/nginx.service`), or nil when
    /// it cannot be named (removed before its id was first seen, or 0).
    public func path(of id: UInt64) -> String? {
        state.withLock { path(of: id, in: &$0) }
    }

    /// Names a cgroup as soon as its id appears, while it surely exists.
    public func learn(_ id: UInt64) {
        _ = path(of: id)
    }

    /// The workload the cgroup's path names, parsed once per id; nil for 0 (no cgroup).
    public func workload(of id: UInt64) -> Workload? {
        guard id != 0 else { return nil }
        return state.withLock { state in
            if let workload = state.workloads[id] { return workload }
            guard let path = path(of: id, in: &state) else { return nil }
            let workload = Workload(cgroupPath: path)
            state.workloads[id] = workload
            return workload
        }
    }

    private func path(of id: UInt64, in state: inout State) -> String? {
        guard id != 0 else { return nil }
        if let path = state.paths[id] { return path }
        let now = Clocks.bootNs()
        if let missed = state.missedAtNs[id], now &- missed < Self.missRetryNs { return nil }
        if !state.handlesRefused {
            switch openedPath(of: id) {
            case .success(let path):
                remember(id, path, &state)
                return path
            case .failure(let errno) where errno == Errno(rawValue: ESTALE) || errno == .noSuchFileOrDirectory:
                state.missedAtNs[id] = now
                return nil
            case .failure:
                state.handlesRefused = true
            }
        }
        if state.lastScanNs == 0 || now &- state.lastScanNs >= minimumRescanNs {
            state.lastScanNs = now
            state.scans += 1
            for (found, path) in walk() where state.paths[found] == nil { remember(found, path, &state) }
        }
        guard let path = state.paths[id] else {
            state.missedAtNs[id] = now
            return nil
        }
        return path
    }

    private func remember(_ id: UInt64, _ path: String, _ state: inout State) {
        state.paths[id] = path
        state.order.append(id)
        state.missedAtNs[id] = nil
        if state.order.count > capacity {
            let oldest = state.order.removeFirst()
            state.paths[oldest] = nil
            state.workloads[oldest] = nil
        }
        if state.missedAtNs.count > capacity { state.missedAtNs.removeAll() }
    }

    /// The path by file handle: the descriptor's link under /proc/self/fd, less the mount point.
    private func openedPath(of id: UInt64) -> Result<String, Errno> {
        guard mountFD >= 0 else { return .failure(.badFileDescriptor) }
        let fd = synwave_open_cgroup(mountFD, id)
        guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
        defer { close(fd) }
        var link = [CChar](repeating: 0, count: 4097)
        let length = readlink("/proc/self/fd/\(fd)", &link, link.count - 1)
        guard length > 0 else { return .failure(Errno(rawValue: errno)) }
        let target = String(decoding: link[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .success(cgroupPath(ofMounted: target))
    }

    /// `/sys/fs/cgroup/unified/system.slice/x.service` -> `/system.slice/x.service` (the mount's
    /// root first, inside a cgroup namespace).
    func cgroupPath(ofMounted target: String) -> String {
        let relative = target == mount.mountPoint ? "" : String(target.dropFirst(mount.mountPoint.count))
        if mount.root == "/" { return relative.isEmpty ? "/" : relative }
        return mount.root + relative
    }

    /// Every cgroup directory under the mount, by inode.
    private func walk() -> [UInt64: String] {
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
        return found
    }
}
