import CLibbpf
import SynwaveCore
import SystemPackage

/// Whether the kernel takes BPF iterator programs of a target at all: an empty program of
/// that target, loaded and closed at once. Kernel builds differ here: 6.18.44-fc-v1272
/// refuses every map-element iterator (bpf_map_elem, bpf_sk_storage_map, sockmap) with
/// EPERM before verifying an instruction, while iter/tcp loads; 6.18.44-fc-v595 took both.
public enum IteratorProbe {
    /// nil when an empty `iter/<target>` program loads, else the errno of the refusal.
    public static func refusal(target: String) -> Errno? {
        LibbpfLog.install()
        let result = synwave_probe_iter_target(target)
        _ = LibbpfLog.take()
        return result < 0 ? Errno(rawValue: -result) : nil
    }

    /// Why programs of `target` cannot load when an empty one cannot either; nil when the
    /// empty one loads (then the refusal is about the program's own code).
    static func targetRefusedReason(target: String) -> String? {
        guard let errno = refusal(target: target) else { return nil }
        let tcp = refusal(target: "tcp") == nil ? " (iter/tcp loads)" : ""
        return "an empty iter/\(target) program is refused too, with \(ErrnoName.name(errno.rawValue))\(tcp): "
            + "this kernel build takes no program of that iterator target"
    }
}
