import SynwaveCore
import SystemPackage

/// Why tracing could not start, worded for the user: one line each.
public enum TracerSetupError: Error, Sendable, CustomStringConvertible {
    case notPrivileged(missing: [String])
    case noBTF(path: String)
    case kernelTooOld(release: String)
    case tracefsUnavailable(Errno)
    /// Mounted, but this user may not look inside.
    case tracefsUnreadable(path: String, Errno)
    case tracepointMissing(String)
    /// `rings`: "2 × 8 MiB".
    case ringBufferRejected(rings: String, BPFError)
    case loadFailed(BPFError)
    /// Nothing traces state changes: every feature's status, with the reasons.
    case stateTracingUnavailable([FeatureStatus])

    public var description: String {
        switch self {
        case .notPrivileged(let missing):
            "tracing needs root (or \(missing.joined(separator: " and "))): run synwave with sudo"
        case .noBTF(let path):
            "this kernel has no BTF (\(path) is missing): synwave needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
        case .kernelTooOld(let release):
            "kernel \(release) is too old: synwave needs Linux \(KernelRelease.minimumSupported) or newer (BPF ring buffer)"
        case .tracefsUnavailable(let errno):
            "tracefs is not mounted and mounting it failed (\(errno.description)): run 'mount -t tracefs tracefs /sys/kernel/tracing'"
        case .tracefsUnreadable(let path, let errno):
            "tracefs is mounted at \(path) but this user cannot read it (\(errno.description)): run synwave as root"
        case .tracepointMissing(let name):
            "this kernel has no tracepoint \(name)"
        case .ringBufferRejected(let rings, let error):
            "the kernel refused \(rings) ring buffers, one per CPU (\(error.errno.description)): choose a smaller --ring-size"
        case .loadFailed(let error):
            "could not load the tracing programs: \(error)"
        case .stateTracingUnavailable(let features):
            "cannot trace TCP state changes on this kernel ("
                + (features.first { $0.name == Feature.stateChanges.rawValue }?.detail ?? "no program for them")
                + "); 'synwave doctor' lists every feature"
        }
    }

    /// libbpf's own words (verifier log etc.), for --verbose.
    public var libbpfLog: [String] {
        switch self {
        case .ringBufferRejected(_, let e), .loadFailed(let e): e.libbpfLog
        default: []
        }
    }
}
