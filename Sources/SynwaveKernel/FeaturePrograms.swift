import SynwaveCore

/// The BPF programs behind each feature, per attach mode (bpf/*.bpf.c).
struct FeaturePrograms: Sendable {
    struct Tracepoint: Sendable {
        var category: String
        var name: String
        var text: String { "\(category):\(name)" }
    }

    let feature: Feature
    let tracepoint: Tracepoint
    /// tp_btf programs in attach order: a rescue program must run after its main one.
    let btf: [String]
    /// Iterator programs loaded with the tp_btf ones, attached only when read (ListenerIterator).
    let iterators: [String]
    /// The classic-tracepoint program, nil where a classic one cannot serve.
    let classic: String?
    /// Why there is no classic program.
    let noClassicReason: String
    /// The iterator targets of `iterators`: where the kernel refuses one of the programs before
    /// verifying it, an empty program of each target tells whether the target itself is refused.
    let iteratorTargets: [String]

    init(_ feature: Feature, _ category: String, _ name: String, btf: [String], iterators: [String] = [],
         iteratorTargets: [String] = [], classic: String?, noClassicReason: String = "") {
        self.feature = feature
        tracepoint = Tracepoint(category: category, name: name)
        self.btf = btf
        self.iterators = iterators
        self.iteratorTargets = iteratorTargets
        self.classic = classic
        self.noClassicReason = noClassicReason
    }

    /// Every program to load in `mode`.
    func programs(_ mode: FeatureAttachment) -> [String] {
        mode == .btf ? btf + iterators : attached(mode)
    }

    /// The programs attached to the tracepoint at start, in order.
    func attached(_ mode: FeatureAttachment) -> [String] {
        switch mode {
        case .btf: btf
        case .tracepoint: classic.map { [$0] } ?? []
        case .off, .sockDiag: []
        }
    }

    /// Every feature, the state program first: its mode decides the socket identity of the others.
    static let catalog: [FeaturePrograms] = [
        .init(.stateChanges, "sock", "inet_sock_set_state", btf: ["sw_state_btf", "sw_state_rescue"], classic: "sw_state_tp"),
        .init(.retransmits, "tcp", "tcp_retransmit_skb", btf: ["sw_retransmit_skb"], classic: "sw_retransmit_skb_tp"),
        .init(.synackRetransmits, "tcp", "tcp_retransmit_synack", btf: ["sw_retransmit_synack"],
              classic: "sw_retransmit_synack_tp"),
        .init(.resetsSent, "tcp", "tcp_send_reset", btf: ["sw_send_reset"], classic: "sw_send_reset_tp"),
        .init(.resetsReceived, "tcp", "tcp_receive_reset", btf: ["sw_receive_reset"], classic: "sw_receive_reset_tp"),
        .init(.socketErrors, "sock", "inet_sk_error_report", btf: ["sw_sock_error"], classic: nil,
              noClassicReason: "the classic tracepoint's record has no socket address"),
        .init(.socketEnd, "tcp", "tcp_destroy_sock", btf: ["sw_destroy_sock", "sw_destroy_rescue"], classic: "sw_destroy_sock_tp"),
        .init(.listenerAcceptQueue, "sock", "sk_data_ready", btf: ["sw_listener_ready"], classic: "sw_listener_ready_tp"),
        .init(.listenerOverflow, "skb", "kfree_skb", btf: ["sw_listener_overflow"], classic: "sw_listener_overflow_tp"),
        .init(.listenerIterator, "sock", "inet_sock_set_state", btf: ["sw_listener_mark"],
              iterators: ["sw_listener_mark_existing", "sw_listener_dump", "sw_listener_dump_changes"],
              iteratorTargets: ["bpf_sk_storage_map", "tcp"], classic: nil,
              noClassicReason: "iterators and socket storage have no classic-tracepoint form"),
        // Where the kernel refuses the map iterator: the same records from per-namespace walks.
        .init(.listenerWalk, "sock", "inet_sock_set_state", btf: [], iterators: ["sw_listener_walk", "sw_listener_walk_changes"],
              iteratorTargets: ["tcp"], classic: nil,
              noClassicReason: "iterators and socket storage have no classic-tracepoint form"),
    ]

    static let listenerFeatures: Set<Feature> = [.synackRetransmits, .listenerAcceptQueue, .listenerOverflow,
                                                 .listenerIterator, .listenerWalk]
    /// Loaded only for polling listeners (`TracerOptions.pollsListeners`).
    static let pollingFeatures: Set<Feature> = [.listenerIterator, .listenerWalk]

    static func wanted(_ set: ProgramSet) -> [FeaturePrograms] {
        switch set {
        case .all: catalog
        case .listeners: catalog.filter { listenerFeatures.contains($0.feature) }
        }
    }
}

extension AttachMode {
    /// The modes tried for each feature, in order.
    var candidates: [FeatureAttachment] {
        switch self {
        case .btf: [.btf]
        case .tracepoint: [.tracepoint]
        case .auto: [.btf, .tracepoint]
        }
    }
}

extension BPFError {
    /// One line on why a program did not load, in the kernel's terms where they are telling:
    /// a CO-RE relocation without a match means the kernel lacks a field, type or enum value;
    /// a refused context access means its tracepoint has fewer arguments.
    var loadFailureReason: String {
        let relocation = "failed to resolve CO-RE relocation "
        if let line = libbpfLog.first(where: { $0.contains(relocation) }) ?? verifierReason.flatMap({ $0.contains(relocation) ? $0 : nil }),
           let range = line.range(of: relocation) {
            // "<enumval_value> [1246] enum skb_drop_reason::SKB_DROP_REASON_TCP_LISTEN_OVERFLOW = 40" -> the name.
            var what = line[range.upperBound...].split(separator: " ").dropFirst(2).joined(separator: " ")
            if let cut = what.range(of: " (") ?? what.range(of: " = ") { what = String(what[..<cut.lowerBound]) }
            return "this kernel lacks \(what)"
        }
        if refusedBeforeVerification {
            let program = failedProgram.map { " \($0)" } ?? ""
            return "the kernel refused\(program) before verifying any instruction: \(errnoText)"
        }
        if let verifier = verifierReason {
            if verifier.contains("invalid bpf_context access") {
                return "this kernel's tracepoint has fewer arguments (verifier: \(verifier))"
            }
            return "verifier: \(verifier)"
        }
        if let line = libbpfLog.first(where: { line in ["failed to find kernel BTF type", "unknown func", "cannot use helper"].contains { line.contains($0) } }) {
            return line
        }
        return "\(operation): \(errnoText)"
    }

    /// `loadFailureReason`, and for a program refused before verification, whether the kernel
    /// refuses its iterator target outright (an empty program of it).
    func loadFailureReason(iteratorTargets: [String]) -> String {
        guard refusedBeforeVerification,
              let target = iteratorTargets.lazy.compactMap(IteratorProbe.targetRefusedReason).first else { return loadFailureReason }
        return "\(loadFailureReason); \(target)"
    }
}
