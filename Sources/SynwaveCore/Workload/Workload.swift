/// What a cgroup v2 path says about the workload that owns a socket: its systemd unit, its
/// container, its Kubernetes pod. The path is always kept; the rest is present only where the path
/// names it (docs/workloads.md lists every pattern).
public struct Workload: Hashable, Sendable {
    /// The cgroup's path from the root of the cgroup2 hierarchy, as `/system.slice/nginx.service`.
    public var path: String
    /// The innermost systemd unit: a `.service` or `.scope`, else a `.slice`.
    public var unit: String?
    public var container: Container?
    public var pod: Pod?

    public init(path: String, unit: String? = nil, container: Container? = nil, pod: Pod? = nil) {
        self.path = path
        self.unit = unit
        self.container = container
        self.pod = pod
    }

    /// A short name for a column: the container's short id, else the unit, else the path's last part.
    public var shortName: String {
        if let container { return container.shortID }
        if let unit { return unit }
        return path.split(separator: "/").last.map(String.init) ?? "/"
    }
}

public struct Container: Hashable, Sendable {
    /// Unknown where the path names only the id (Kubernetes' cgroupfs driver with containerd).
    public var runtime: ContainerRuntime?
    /// 64 lowercase hex digits.
    public var id: String

    public init(runtime: ContainerRuntime?, id: String) {
        self.runtime = runtime
        self.id = id
    }

    /// The 12 digits `docker ps` and `crictl ps` show.
    public var shortID: String { String(id.prefix(12)) }
}

public enum ContainerRuntime: String, Hashable, Sendable, CaseIterable {
    case docker
    case containerd
    case crio = "cri-o"
    case podman
}

public struct Pod: Hashable, Sendable {
    /// As the API server shows it (dashes, never the systemd driver's underscores); a static
    /// pod's UID is 32 hex digits.
    public var uid: String
    public var qos: PodQoS

    public init(uid: String, qos: PodQoS) {
        self.uid = uid
        self.qos = qos
    }
}

/// The kubelet's QoS classes, as its cgroup tree places pods.
public enum PodQoS: String, Hashable, Sendable, CaseIterable {
    case guaranteed
    case burstable
    case besteffort
}
