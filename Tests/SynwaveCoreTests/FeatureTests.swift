import Foundation
import SynwaveCore
import Testing

@Suite struct LoadPlanTests {
    @Test func theFirstModeThatLoadsWins() {
        let (mode, detail) = LoadPlan.choose([(.btf, "verifier: unknown func"), (.tracepoint, nil)])
        #expect(mode == .tracepoint)
        #expect(detail.isEmpty)
    }

    @Test func offCarriesEveryAttemptsReason() {
        let (mode, detail) = LoadPlan.choose([(.btf, "no tracepoint sock:sk_data_ready"), (.tracepoint, "no tracepoint sock:sk_data_ready")])
        #expect(mode == .off)
        #expect(detail == "tp_btf: no tracepoint sock:sk_data_ready; tracepoint: no tracepoint sock:sk_data_ready")
        #expect(LoadPlan.choose([]).0 == .off)
    }
}

@Suite struct DerivedFeatureTests {
    private func derive(_ modes: [Feature: FeatureAttachment], reason: Bool = false, err: Bool = false,
                        sockDiag: String? = nil) -> [String: FeatureStatus] {
        let features = Feature.allCases.map { FeatureStatus(name: $0.rawValue, attachment: modes[$0] ?? .off) }
        let facts = DerivedFeatures.Facts(resetReasonField: reason, retransmitErrField: err, sockDiagFailure: sockDiag)
        return Dictionary(uniqueKeysWithValues: DerivedFeatures.derive(from: features, facts).map { ($0.name, $0) })
    }

    @Test func everythingOnTpBtf() {
        let rows = derive(Dictionary(uniqueKeysWithValues: Feature.allCases.map { ($0, .btf) }))
        #expect(rows.values.allSatisfy { $0.enabled })
        #expect(rows["socket_cookies"]?.attachment == .btf)
        #expect(rows["existing_connections"]?.attachment == .sockDiag)
        #expect(rows["listener_polling"]?.attachment == .btf)
    }

    @Test func listenersPolledThroughSockDiagWithoutTheIterator() {
        var modes = Dictionary(uniqueKeysWithValues: Feature.allCases.map { ($0, FeatureAttachment.btf) })
        modes[.listenerIterator] = .off
        // The map iterator refused, iter/tcp taken (6.18.44-fc-v1272): the walks poll.
        #expect(derive(modes)["listener_polling"]?.attachment == .btf)
        #expect(derive(modes)["listener_polling"]?.detail.contains("walking each namespace's TCP sockets") == true)
        modes[.listenerWalk] = .off
        #expect(derive(modes)["listener_polling"]?.attachment == .sockDiag)
        #expect(derive(modes, sockDiag: "sock_diag dump failed: Permission denied")["listener_polling"]?.enabled == false)
    }

    /// A 5.10-like kernel: classic tracepoints everywhere, no reset reasons, no err, no error report.
    @Test func olderKernelClassicTracepoints() {
        let rows = derive([.stateChanges: .tracepoint, .resetsSent: .tracepoint, .retransmits: .tracepoint,
                           .socketEnd: .tracepoint])
        #expect(rows["socket_cookies"]?.enabled == false)
        #expect(rows["reset_reasons"]?.enabled == false)
        #expect(rows["reset_reasons"]?.detail.contains("6.10") == true)
        #expect(rows["retransmit_errors"]?.enabled == false)
        #expect(rows["keepalive_classification"]?.attachment == .tracepoint)
    }

    @Test func classicResetsWithTheReasonField() {
        let rows = derive([.stateChanges: .btf, .resetsSent: .tracepoint, .retransmits: .tracepoint], reason: true, err: true)
        #expect(rows["reset_reasons"]?.attachment == .tracepoint)
        #expect(rows["retransmit_errors"]?.attachment == .tracepoint)
    }

    @Test func noSocketEndNoKeepaliveClassification() {
        let rows = derive([.stateChanges: .btf], sockDiag: "sock_diag dump failed: No such file or directory")
        #expect(rows["keepalive_classification"]?.enabled == false)
        #expect(rows["existing_connections"]?.enabled == false)
        #expect(rows["listener_polling"]?.detail.hasPrefix("sock_diag: ") == true)
    }
}

@Suite struct DoctorReportTests {
    private let report = DoctorReport(
        kernel: "5.10.0-46-cloud-amd64",
        checks: [.init(name: "kernel", ok: true, detail: "5.10"), .init(name: "btf", ok: true, detail: "/sys/kernel/btf/vmlinux")],
        features: [FeatureStatus(name: "state_changes", attachment: .tracepoint),
                   FeatureStatus(name: "socket_errors", attachment: .off, detail: "tp_btf: this kernel has no tracepoint")])

    @Test func readyWhenStateChangesAreTraced() {
        #expect(report.ready)
        var broken = report
        broken.features[0].attachment = .off
        #expect(!broken.ready)
        var failing = report
        failing.checks[1].ok = false
        #expect(!failing.ready)
    }

    @Test func textShowsEachFeatureWithItsReasonOrSummary() {
        let text = report.text()
        #expect(text.contains("state_changes"))
        #expect(text.contains("tracepoint TCP state changes (sock:inet_sock_set_state)"))
        #expect(text.contains("off        tp_btf: this kernel has no tracepoint"))
        #expect(text.hasSuffix("synwave can trace on this host.\n"))
    }

    @Test func jsonRoundTrips() throws {
        let json = report.json()
        #expect(json.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["ready"] as? Bool == true)
        #expect(object["kernel"] as? String == "5.10.0-46-cloud-amd64")
        let features = try #require(object["features"] as? [[String: Any]])
        #expect(features.map { $0["attachment"] as? String } == ["tracepoint", "off"])
    }
}
