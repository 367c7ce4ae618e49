/// `synwave tail --cgroup/--unit/--container/--pod`: each non-empty criterion must match, each
/// by any of its values. Something without a workload (no cgroup, or one not resolved) matches
/// none of them.
public struct WorkloadFilter: Sendable, Equatable {
    /// Prefixes of the cgroup path, e.g. `/system.slice/` or `/kubepods.slice/`.
    public var cgroupPrefixes: [String] = []
    /// systemd units; a name without a unit suffix means its `.service`, as systemctl reads it.
    public var units: Set<String> = []
    /// Prefixes of the container id: the 12 digits `docker ps` shows, or more.
    public var containerPrefixes: [String] = []
    /// Pod UIDs, with dashes or the systemd driver's underscores.
    public var pods: Set<String> = []

    public init(cgroupPrefixes: [String] = [], units: [String] = [], containerPrefixes: [String] = [], pods: [String] = []) {
        self.cgroupPrefixes = cgroupPrefixes
        self.units = Set(units.map { unit in
            Workload.unitSuffixes.contains(where: { unit.hasSuffix($0) }) ? unit : unit + ".service"
        })
        self.containerPrefixes = containerPrefixes.map { $0.lowercased() }
        self.pods = Set(pods.map { $0.lowercased().replacingUnderscores() })
    }

    public var isEmpty: Bool { cgroupPrefixes.isEmpty && units.isEmpty && containerPrefixes.isEmpty && pods.isEmpty }

    public func matches(_ workload: Workload?) -> Bool {
        guard let workload else { return isEmpty }
        if !cgroupPrefixes.isEmpty, !cgroupPrefixes.contains(where: { workload.path.hasPrefix($0) }) { return false }
        if !units.isEmpty, !workload.unitsOnPath.contains(where: { units.contains($0) }) { return false }
        if !containerPrefixes.isEmpty {
            guard let id = workload.container?.id, containerPrefixes.contains(where: { id.hasPrefix($0) }) else { return false }
        }
        if !pods.isEmpty {
            guard let uid = workload.pod?.uid, pods.contains(uid) else { return false }
        }
        return true
    }
}

extension Workload {
    /// Every unit the path passes through, so that `--unit docker.service`'s own children and
    /// a slice's members match too (`--unit system.slice`).
    var unitsOnPath: [String] {
        path.split(separator: "/").compactMap { Self.unitName($0) }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
