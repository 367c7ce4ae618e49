import Foundation
import SynwaveKernel

/// Firings, during one test case, of the tracepoints synwave attaches to while one of PID 1's
/// threads was on the CPU (softirqs and timers taken on top of it included).
///
/// Why: the Firecracker guest kernel these tests run on (6.18) runs no BPF program of any type
/// then, and counts nothing: an event of the case may be missing through no fault of synwave
/// (its stop summary counts the watched ones as "not run by the kernel, N of them while PID 1
/// was on the CPU"). A case that crossed such a firing is run again rather than judged.
final class InitContextFirings {
    static let tracepoints = [
        ("sock", "inet_sock_set_state"), ("tcp", "tcp_destroy_sock"), ("sock", "inet_sk_error_report"),
        ("tcp", "tcp_retransmit_skb"), ("tcp", "tcp_retransmit_synack"), ("tcp", "tcp_send_reset"),
        ("tcp", "tcp_receive_reset"), ("sock", "sk_data_ready"), ("skb", "kfree_skb"),
    ]
    private let hits: [TracepointHits]

    init() throws {
        try Preflight.ensureTracefs()
        hits = try Self.tracepoints.filter { Preflight.tracepointExists(category: $0.0, name: $0.1) }.map {
            try TracepointHits(category: $0.0, name: $0.1, threadsOf: 1)
        }
    }

    var count: UInt64 { hits.reduce(0) { $0 + $1.count() } }

    /// Runs `attempt` again while PID 1 was on the CPU for a firing during it, or while `lost`
    /// finds another reason in its result, at most `attempts` times in all; the last attempt
    /// is returned whatever happened during it.
    static func retrying<T>(_ name: String, attempts: Int = 3, alsoWhen lost: (T) -> String? = { _ in nil },
                            _ attempt: () throws -> T) throws -> T {
        var number = 1
        while true {
            let firings = try InitContextFirings()
            let value = try attempt()
            let crossed = firings.count
            let reason = crossed > 0
                ? "\(crossed) tracepoint firings while PID 1 was on the CPU, which this kernel hides from BPF programs"
                : lost(value)
            guard let reason, number < attempts else { return value }
            number += 1
            print("\(name): \(reason); attempt \(number) of \(attempts)")
        }
    }

    /// How many firings a stop summary says the kernel's recursion guard skipped (0 if none).
    static func recursionSkips(in summary: String) -> Int {
        guard let end = summary.range(of: " skipped by the recursion guard") else { return 0 }
        let digits = summary[..<end.lowerBound].reversed().prefix { $0.isNumber }
        return Int(String(digits.reversed())) ?? 0
    }
}
