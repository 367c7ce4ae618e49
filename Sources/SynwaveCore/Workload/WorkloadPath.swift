/// Reads a cgroup v2 path into a `Workload`: systemd units, container runtimes' scopes and
/// directories, and the kubelet's pod cgroups under both of its drivers (systemd and cgroupfs).
/// Every pattern is in docs/workloads.md. Parts that match no pattern are skipped, so a hostile or
/// unusual path gives a `Workload` with only its path.
extension Workload {
    public init(cgroupPath path: String) {
        self.init(path: path)
        var parent: Substring?
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if let unit = Self.unitName(part) {
                // The innermost service or scope; a slice only until one is found.
                if !unit.hasSuffix(".slice") || self.unit == nil || self.unit!.hasSuffix(".slice") {
                    self.unit = unit
                }
            }
            if let container = Self.container(part, under: parent, inPod: pod != nil) {
                self.container = container
            }
            if let pod = Self.pod(part, under: parent) {
                self.pod = pod
            }
            parent = part
        }
    }

    static let unitSuffixes = [".service", ".scope", ".slice"]

    static func unitName(_ part: Substring) -> String? {
        for suffix in unitSuffixes where part.hasSuffix(suffix) && part.count > suffix.count {
            return String(part)
        }
        return nil
    }

    /// Scope prefixes each runtime's systemd cgroup driver uses (`docker-<id>.scope`), and the
    /// cgroupfs directories that hold bare ids (`/docker/<id>`).
    static let scopePrefixes: [(prefix: String, runtime: ContainerRuntime)] = [
        ("docker-", .docker),
        ("cri-containerd-", .containerd),
        ("crio-", .crio),
        ("libpod-", .podman),
    ]

    static func container(_ part: Substring, under parent: Substring?, inPod: Bool) -> Container? {
        var name = part
        if name.hasSuffix(".scope") { name = name.dropLast(".scope".count) }
        for (prefix, runtime) in scopePrefixes where name.hasPrefix(prefix) {
            let id = name.dropFirst(prefix.count)
            // crio-conmon-<id> and libpod-conmon-<id> are the monitors beside containers.
            return isContainerID(id) ? Container(runtime: runtime, id: String(id)) : nil
        }
        guard part == name, isContainerID(name) else { return nil }
        switch parent {
        case "docker": return Container(runtime: .docker, id: String(name))
        case "libpod_parent": return Container(runtime: .podman, id: String(name))
        default: return inPod ? Container(runtime: nil, id: String(name)) : nil
        }
    }

    static func isContainerID(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy(isLowerHex)
    }

    /// `pod<uid>` (cgroupfs) or `kubepods[-<qos>]-pod<uid>.slice` (systemd, with `_` for `-`),
    /// below `kubepods`; the QoS class is the pod's parent's.
    static func pod(_ part: Substring, under parent: Substring?) -> Pod? {
        guard let parent, let qos = kubepodsQoS(parent) else { return nil }
        var name = part
        if name.hasSuffix(".slice") {
            name = name.dropLast(".slice".count)
            // The systemd driver writes the UID with underscores, so the pod's part is the last.
            guard name.hasPrefix("kubepods") || name.hasPrefix("kubelet-kubepods"),
                  let last = name.split(separator: "-").last, last.hasPrefix("pod") else { return nil }
            name = last.dropFirst(3)
        } else {
            guard name.hasPrefix("pod") else { return nil }
            name = name.dropFirst(3)
        }
        guard let uid = podUID(name) else { return nil }
        return Pod(uid: uid, qos: qos)
    }

    /// The QoS class a kubepods directory holds pods of: guaranteed ones sit in kubepods itself.
    static func kubepodsQoS(_ part: Substring) -> PodQoS? {
        var name = part
        if name.hasSuffix(".slice") { name = name.dropLast(".slice".count) }
        if name.hasPrefix("kubelet-") { name = name.dropFirst("kubelet-".count) } // kind and nested kubelets
        switch name {
        case "kubepods": return .guaranteed
        case "kubepods-burstable", "burstable": return .burstable
        case "kubepods-besteffort", "besteffort": return .besteffort
        default: return nil
        }
    }

    /// A UUID (dashes, or the systemd driver's underscores) or a static pod's 32 hex digits.
    static func podUID(_ text: Substring) -> String? {
        let bytes = Array(text.utf8)
        if bytes.count == 32 && bytes.allSatisfy(isLowerHex) { return String(text) }
        guard bytes.count == 36 else { return nil }
        var uid: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") else { return nil }
                uid.append(UInt8(ascii: "-"))
            } else {
                guard isLowerHex(byte) else { return nil }
                uid.append(byte)
            }
        }
        return String(decoding: uid, as: UTF8.self)
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
