/// What synwave can trace, each loaded on its own so that a kernel lacking one piece loses that
/// piece only. The raw values are the `feature` label of `synwave_feature_enabled`.
public enum Feature: String, CaseIterable, Sendable, Codable {
    case stateChanges = "state_changes"
    case retransmits
    case synackRetransmits = "synack_retransmits"
    case resetsSent = "resets_sent"
    case resetsReceived = "resets_received"
    case socketErrors = "socket_errors"
    case socketEnd = "socket_end"
    case listenerAcceptQueue = "listener_accept_queue"
    case listenerOverflow = "listener_overflow"
    case listenerIterator = "listener_iterator"
    case listenerWalk = "listener_walk"
    case connectionRecords = "connection_records"

    /// What the feature gives the user, for `doctor`.
    public var summary: String {
        switch self {
        case .stateChanges: "TCP state changes (sock:inet_sock_set_state)"
        case .retransmits: "data, SYN and FIN retransmits (tcp:tcp_retransmit_skb)"
        case .synackRetransmits: "SYN-ACK retransmits, SYN queue depth (tcp:tcp_retransmit_synack)"
        case .resetsSent: "resets sent (tcp:tcp_send_reset)"
        case .resetsReceived: "resets received (tcp:tcp_receive_reset)"
        case .socketErrors: "socket errors as reported (sock:inet_sk_error_report)"
        case .socketEnd: "socket end with probe and retransmit counts (tcp:tcp_destroy_sock)"
        case .listenerAcceptQueue: "accept queue peaks per listener (sock:sk_data_ready)"
        case .listenerOverflow: "accept queue overflow drops per listener (skb:kfree_skb)"
        case .listenerIterator: "every listener's queues at a poll, SYN queue exact (marked at sock:inet_sock_set_state)"
        case .listenerWalk: "every listener's queues at a poll, walking each namespace's TCP sockets (iter/tcp)"
        case .connectionRecords: "one record per connection assembled in the kernel; events only on demand (tp_btf, 5.12+)"
        }
    }
}

/// How a feature ended up attached.
public enum FeatureAttachment: String, Sendable, Codable {
    case btf = "tp_btf"
    case tracepoint
    /// Read from netlink sock_diag, no BPF.
    case sockDiag = "sock_diag"
    case off
}

/// One row of the feature table: a kernel feature or a capability derived from several.
public struct FeatureStatus: Sendable, Equatable, Codable {
    public var name: String
    public var attachment: FeatureAttachment
    /// Why it is off, or what it lacks while on; empty when there is nothing to say.
    public var detail: String

    public init(name: String, attachment: FeatureAttachment, detail: String = "") {
        self.name = name
        self.attachment = attachment
        self.detail = detail
    }

    public var enabled: Bool { attachment != .off }
}

/// The per-feature load plan: for each feature, the first attach mode that loaded.
public enum LoadPlan {
    /// One attempt's outcome: nil when the mode loaded, else why not.
    public typealias Attempt = (mode: FeatureAttachment, failure: String?)

    /// The mode to use, or `.off` with every attempt's reason ("tp_btf: …; tracepoint: …").
    public static func choose(_ attempts: [Attempt]) -> (FeatureAttachment, String) {
        var reasons: [String] = []
        for attempt in attempts {
            guard let failure = attempt.failure else { return (attempt.mode, "") }
            reasons.append("\(attempt.mode.rawValue): \(failure)")
        }
        return (.off, reasons.isEmpty ? "not requested" : reasons.joined(separator: "; "))
    }
}

/// Capabilities that follow from the loaded features and from what the kernel's tracepoints
/// carry: rows of the doctor's table and of `synwave_feature_enabled`.
public enum DerivedFeatures {
    /// What the host showed beyond the load plan.
    public struct Facts: Sendable {
        /// tcp:tcp_send_reset has its `reason` field (6.10+).
        public var resetReasonField: Bool
        /// tcp:tcp_retransmit_skb has its `err` field.
        public var retransmitErrField: Bool
        /// nil when a sock_diag dump of connections worked, else why not.
        public var sockDiagFailure: String?

        public init(resetReasonField: Bool, retransmitErrField: Bool, sockDiagFailure: String?) {
            self.resetReasonField = resetReasonField
            self.retransmitErrField = retransmitErrField
            self.sockDiagFailure = sockDiagFailure
        }
    }

    public static func derive(from features: [FeatureStatus], _ facts: Facts) -> [FeatureStatus] {
        func attachment(_ feature: Feature) -> FeatureAttachment {
            features.first { $0.name == feature.rawValue }?.attachment ?? .off
        }
        var rows: [FeatureStatus] = []
        let state = attachment(.stateChanges)
        rows.append(state == .btf
            ? FeatureStatus(name: "socket_cookies", attachment: .btf, detail: "sockets identified by their cookie")
            : FeatureStatus(name: "socket_cookies", attachment: .off,
                            detail: "state changes not on tp_btf: sockets identified by kernel address"))

        let resets = attachment(.resetsSent)
        if resets == .off {
            rows.append(FeatureStatus(name: "reset_reasons", attachment: .off, detail: "resets sent are not traced"))
        } else if resets == .btf || facts.resetReasonField {
            rows.append(FeatureStatus(name: "reset_reasons", attachment: resets, detail: "why each reset was sent"))
        } else {
            rows.append(FeatureStatus(name: "reset_reasons", attachment: .off,
                                      detail: "tcp:tcp_send_reset has no reason (6.10+): ends classified from errno and state"))
        }

        let retransmits = attachment(.retransmits)
        if retransmits != .off, retransmits == .btf || facts.retransmitErrField {
            rows.append(FeatureStatus(name: "retransmit_errors", attachment: retransmits,
                                      detail: "retransmits the stack failed to send"))
        } else {
            rows.append(FeatureStatus(name: "retransmit_errors", attachment: .off,
                                      detail: retransmits == .off ? "retransmits are not traced"
                                          : "tcp:tcp_retransmit_skb has no err field on this kernel"))
        }

        // Keepalive and retransmit timeouts are told apart by the probe and retransmit counts
        // read when the socket errs or ends.
        let ending = [attachment(.socketEnd), attachment(.socketErrors)].first { $0 != .off } ?? .off
        rows.append(ending == .off
            ? FeatureStatus(name: "keepalive_classification", attachment: .off,
                            detail: "neither socket errors nor socket end are traced: timeouts end as unknown")
            : FeatureStatus(name: "keepalive_classification", attachment: ending,
                            detail: "keepalive vs retransmit timeouts from probe counts"))

        rows.append(sockDiagRow("existing_connections", "connections open before start", facts))
        // The listener iterator reads the marked listeners in the kernel; sock_diag is the fallback.
        if attachment(.listenerIterator) == .btf {
            rows.append(FeatureStatus(name: "listener_polling", attachment: .btf,
                                      detail: "current queue depths of every listener, from the listener iterator"))
        } else if attachment(.listenerWalk) == .btf {
            rows.append(FeatureStatus(name: "listener_polling", attachment: .btf,
                                      detail: "current queue depths of every listener, walking each namespace's TCP sockets (the listener iterator is off)"))
        } else {
            rows.append(sockDiagRow("listener_polling", "current queue depths of every listener (the listener iterator is off)", facts))
        }
        return rows
    }

    private static func sockDiagRow(_ name: String, _ what: String, _ facts: Facts) -> FeatureStatus {
        facts.sockDiagFailure.map { FeatureStatus(name: name, attachment: .off, detail: "sock_diag: \($0)") }
            ?? FeatureStatus(name: name, attachment: .sockDiag, detail: what)
    }
}
