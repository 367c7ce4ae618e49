import Foundation
import Testing

/// `synwave doctor` on this kernel, where every feature has both a tp_btf and (but one) a
/// classic program: the table must say so, in text and JSON.
@Suite(.enabled(if: Harness.isRoot, "root integration tests: they load BPF programs"))
struct DoctorIntegrationTests {
    private func report(_ arguments: [String]) throws -> [String: FeatureRow] {
        let result = try run(Harness.synwave, ["doctor", "--json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["ready"] as? Bool == true)
        let features = try #require(object["features"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: features.compactMap { row in
            (row["name"] as? String).map { ($0, FeatureRow(attachment: row["attachment"] as? String ?? "", detail: row["detail"] as? String ?? "")) }
        })
    }

    struct FeatureRow {
        var attachment: String
        var detail: String
    }

    static let loaded = ["state_changes", "retransmits", "synack_retransmits", "resets_sent", "resets_received",
                         "socket_errors", "socket_end", "listener_accept_queue", "listener_overflow"]

    @Test func everyFeatureOnTpBtf() throws {
        let rows = try report([])
        for name in Self.loaded { #expect(rows[name]?.attachment == "tp_btf", "\(name): \(rows[name]?.detail ?? "missing")") }
        for name in ["socket_cookies", "reset_reasons", "retransmit_errors", "keepalive_classification"] {
            #expect(rows[name]?.attachment == "tp_btf", "\(name)")
        }
        #expect(rows["existing_connections"]?.attachment == "sock_diag")
        #expect(rows["listener_polling"]?.attachment == KernelAllows.listenerPollingAttachment, "as the daemon polls")
        if KernelAllows.listenerIterator {
            #expect(rows["listener_iterator"]?.attachment == "tp_btf", "\(rows["listener_iterator"]?.detail ?? "missing")")
        } else {
            // The kernel refuses even an empty iter/bpf_sk_storage_map program: doctor must say so.
            let detail = rows["listener_iterator"]?.detail ?? "missing"
            #expect(rows["listener_iterator"]?.attachment == "off")
            #expect(detail.contains("the kernel refused sw_listener_dump before verifying any instruction: EPERM (Operation not permitted)"), "\(detail)")
            #expect(detail.contains("an empty iter/bpf_sk_storage_map program is refused too, with EPERM (iter/tcp loads)"), "\(detail)")
            #expect(!detail.contains("5.11") && !detail.contains("PROG LOAD LOG"), "\(detail)")
            #expect(rows["listener_polling"]?.detail.contains("the listener iterator is off") == true)
        }
        // Where the map iterator is refused, the walk of each namespace takes its place.
        #expect(rows["listener_walk"]?.attachment == (KernelAllows.listenerWalk ? "tp_btf" : "off"))
        if !KernelAllows.listenerIterator, KernelAllows.listenerWalk {
            #expect(rows["listener_polling"]?.detail.contains("walking each namespace's TCP sockets") == true)
        }
    }

    @Test func classicTracepointsWhereAsked() throws {
        let rows = try report(["--attach", "tracepoint"])
        for name in Self.loaded where name != "socket_errors" {
            #expect(rows[name]?.attachment == "tracepoint", "\(name): \(rows[name]?.detail ?? "missing")")
        }
        #expect(rows["socket_errors"]?.attachment == "off")
        #expect(rows["socket_errors"]?.detail.contains("no socket address") == true)
        #expect(rows["socket_cookies"]?.attachment == "off")
        // This kernel's classic tcp_send_reset has the reason field.
        #expect(rows["reset_reasons"]?.attachment == "tracepoint")
    }

    /// As a user who may not look inside tracefs (mode 700 at /sys/kernel/tracing), doctor says
    /// that it is mounted but unreadable, not that it is missing.
    @Test func unprivilegedDoctorSaysWhatIsTrueOfTracefs() throws {
        let directory = NSTemporaryDirectory() + "synwave-doctor-user-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o755)
        let binary = directory + "/synwave"
        try FileManager.default.copyItem(atPath: Harness.synwave, toPath: binary)
        let result = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "doctor"])
        #expect(result.status != 0)
        #expect(result.stdout.contains("FAIL privileges"), "\(result.stdout)")
        let line = result.stdout.split(separator: "\n").first { $0.contains("tracefs") }.map(String.init) ?? "no tracefs line"
        #expect(!line.contains("not mounted"), "\(line)")
        let mode = (try FileManager.default.attributesOfItem(atPath: "/sys/kernel/tracing")[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if mode & 0o005 == 0 {
            #expect(line.contains("FAIL tracefs") && line.contains("is mounted at /sys/kernel/tracing but this user cannot read it"), "\(line)")
        } else {
            #expect(line.contains("ok   tracefs"), "\(line)")
        }
    }

    @Test func textTableAndExitStatus() throws {
        let result = try run(Harness.synwave, ["doctor"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("FEATURE"))
        #expect(result.stdout.contains("synwave can trace on this host."))
        let bad = try run(Harness.synwave, ["doctor", "--attach", "sideways"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("sideways"))
        #expect(!bad.stderr.contains("Fatal error"))
    }
}
