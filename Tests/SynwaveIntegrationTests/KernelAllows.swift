import Foundation
import Testing
import SynwaveKernel

/// What the running kernel takes, probed on its own (an empty program of each kind) before a
/// test requires an attachment: kernel builds differ (6.18.44-fc-v1272 refuses every
/// map-element iterator, 6.18.44-fc-v595 took them), and a test asserts what this one allows.
enum KernelAllows {
    /// The BPF listener iterator walks the listener marks with an iter/bpf_sk_storage_map program.
    static let listenerIterator: Bool = Harness.isRoot && IteratorProbe.refusal(target: "bpf_sk_storage_map") == nil

    /// The walk of each namespace's TCP sockets, where the map iterator is refused, is an iter/tcp program.
    static let listenerWalk: Bool = Harness.isRoot && IteratorProbe.refusal(target: "tcp") == nil

    /// Every way `synwave listeners --watch` can read queue depths here: sock_diag always.
    static var listenerPollSources: [ListenerPollSource] {
        (listenerIterator ? [.iterator] : []) + (listenerWalk ? [.walk] : []) + [.sockDiag]
    }

    /// Connections assembled in socket storage need every socket feature on tp_btf: the typed
    /// tcp_retransmit_skb with its err (6.13+) and tcp_send_reset with its reason (6.10+), the
    /// kernel adding both to the classic record in the same change, and bpf_sk_storage_get in
    /// tracing programs (5.11+), which the iter/tcp walk uses too.
    static let connectionRecords: Bool = listenerWalk && Doctor.tracepointHasField("tcp", "tcp_retransmit_skb", "err")
        && Doctor.tracepointHasField("tcp", "tcp_send_reset", "reason")

    /// Cgroup ids opened as kernfs file handles (open_by_handle_at), else the resolver walks.
    static let cgroupFileHandles: Bool = {
        guard Harness.isRoot, let resolver = CgroupResolver.discover() else { return false }
        var info = stat()
        guard stat(resolver.mount.mountPoint, &info) == 0 else { return false }
        _ = resolver.path(of: UInt64(info.st_ino))
        return resolver.namesByFileHandle
    }()

    /// `connection_records` as doctor and the daemon must name it.
    static var connectionRecordsAttachment: String { connectionRecords ? "tp_btf" : "off" }

    /// `listener_polling` as doctor and the daemon's metrics must name it.
    static var listenerPollingAttachment: String { listenerIterator || listenerWalk ? "tp_btf" : "sock_diag" }
}

/// `synwave listeners --poll-via`, and the words its start line uses.
enum ListenerPollSource: String, Sendable, CustomTestStringConvertible {
    case iterator, walk
    case sockDiag = "sock-diag"

    var startLine: String {
        switch self {
        case .iterator: "through the BPF listener iterator"
        case .walk: "through BPF walks of each namespace's TCP sockets"
        case .sockDiag: "through sock_diag"
        }
    }
    var testDescription: String { rawValue }
}
