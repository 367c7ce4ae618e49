import Logging
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Examines the host the way tracing would use it: prerequisites, then the real load plan
/// (programs loaded and attached, then released), then what sock_diag can read.
public enum Doctor {
    public static func examine(attach: AttachMode, logger: Logger) -> DoctorReport {
        let release = Preflight.kernelRelease()
        var checks: [DoctorReport.Check] = []
        func check(_ name: String, _ body: () throws(TracerSetupError) -> String) {
            do {
                checks.append(.init(name: name, ok: true, detail: try body()))
            } catch {
                checks.append(.init(name: name, ok: false, detail: "\(error)"))
            }
        }
        check("kernel") { () throws(TracerSetupError) in
            try Preflight.checkRelease()
            return "\(release) (needs \(KernelRelease.minimumSupported) or newer)"
        }
        check("btf") { () throws(TracerSetupError) in
            try Preflight.checkBTF()
            return Preflight.btfPath
        }
        check("privileges") { () throws(TracerSetupError) in
            try Preflight.checkPrivileges()
            return geteuid() == 0 ? "root" : "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN"
        }
        let wasMounted = Preflight.tracefsMounted
        check("tracefs") { () throws(TracerSetupError) in
            try Preflight.ensureTracefs()
            return wasMounted ? "\(Preflight.tracefsPath)" : "\(Preflight.tracefsPath) (mounted by synwave)"
        }
        checks.append(.init(name: "bpf_stats", ok: true, detail: KernelTracer.bpfStatsEnabled
            ? "kernel.bpf_stats_enabled=1: BPF run time measured"
            : "kernel.bpf_stats_enabled=0: BPF run time not measured (sysctl -w kernel.bpf_stats_enabled=1)"))
        // Not needed to trace: without it, records carry no cgroup.
        let mounts = MountInfo.parse((try? Preflight.readFile("/proc/self/mountinfo")) ?? "")
        let cgroupProblem = MountInfo.cgroupProblem(in: mounts, kernel: KernelRelease(parsing: release))
        checks.append(.init(name: "cgroup2", ok: true, detail: cgroupProblem ?? MountInfo.cgroup2(in: mounts).map {
            "mounted at \($0.mountPoint)\($0.root == "/" ? "" : " (root \($0.root))"): records name their sockets' workloads"
        } ?? ""))

        var features: [FeatureStatus]
        if let failed = checks.first(where: { !$0.ok && $0.name != "tracefs" }) {
            features = Feature.allCases.map { FeatureStatus(name: $0.rawValue, attachment: .off,
                                                            detail: "not tried: \(failed.name) check failed") }
        } else {
            do {
                var options = TracerOptions(attach: attach, ringBufferBytes: 64 << 10)
                options.pollsListeners = true // as the daemon loads them
                let tracer = try KernelTracer.start(options, logger: logger)
                features = tracer.features
                tracer.detach()
            } catch {
                if case .stateTracingUnavailable(let statuses) = error {
                    features = statuses
                } else {
                    features = Feature.allCases.map { FeatureStatus(name: $0.rawValue, attachment: .off, detail: "\(error)") }
                }
            }
        }
        return DoctorReport(kernel: release, checks: checks, features: features + derived(from: features))
    }

    /// The capabilities that follow from the loaded features on this kernel (`DerivedFeatures`).
    public static func derived(from features: [FeatureStatus]) -> [FeatureStatus] {
        DerivedFeatures.derive(from: features, DerivedFeatures.Facts(
            resetReasonField: tracepointHasField("tcp", "tcp_send_reset", "reason"),
            retransmitErrField: tracepointHasField("tcp", "tcp_retransmit_skb", "err"),
            sockDiagFailure: sockDiagFailure()))
    }

    /// Whether the tracepoint's record (its tracefs format) has the field.
    public static func tracepointHasField(_ category: String, _ name: String, _ field: String) -> Bool {
        guard let format = try? Preflight.readFile("\(Preflight.tracefsPath)/events/\(category)/\(name)/format") else {
            return false
        }
        return format.split(separator: "\n").contains { line in
            line.contains("field:") && (line.contains(" \(field);") || line.contains(" \(field)["))
        }
    }

    static func sockDiagFailure() -> String? {
        do {
            _ = try NamespaceProbe(.own).connections()
            return nil
        } catch {
            // The kernel answers ENOENT when no handler serves TCP: inet_diag/tcp_diag are modules.
            if error.errno == .noSuchFileOrDirectory { return "\(error) (load the tcp_diag module: modprobe tcp_diag)" }
            return "\(error)"
        }
    }
}
