import SynwaveCore

/// Which sockets the kernel still has: per network namespace, one sock_diag dump of its TCP
/// connections, whose cookies are the socket cookies the BPF programs report. The correlator
/// asks about sockets idle long enough that their closing events may have been lost.
public enum SocketPresence {
    public struct Answer: Sendable, Equatable {
        public var present: [UInt64] = []
        public var gone: [UInt64] = []
        /// Sockets of namespaces that no process or name reaches any more, or that could not be read.
        public var unverified = 0
        public var failures: [String] = []

        public init() {}
    }

    public static func check(_ wanted: [UInt32: [UInt64]],
                             namespaces: @autoclosure () -> [NamespaceTarget] = NamespaceDiscovery.all()) -> Answer {
        var answer = Answer()
        guard !wanted.isEmpty else { return answer }
        var remaining = wanted
        for target in namespaces() where !remaining.isEmpty {
            guard let inode = try? target.inode(), remaining[inode] != nil else { continue }
            do {
                let probe = try NamespaceProbe(target)
                guard let cookies = remaining.removeValue(forKey: probe.netns) else { continue }
                let there = try probe.connectionCookies()
                for cookie in cookies {
                    if there.contains(cookie) { answer.present.append(cookie) } else { answer.gone.append(cookie) }
                }
            } catch {
                answer.failures.append("\(target.name): \(error)")
            }
        }
        answer.unverified = remaining.values.reduce(0) { $0 + $1.count }
        return answer
    }
}

extension Correlator {
    /// Looks up the open sockets idle for `idleNs` (0: all) in the kernel's table and ends those
    /// it no longer has (`reconcile`): their closing events were lost.
    public mutating func endSocketsGoneFromKernel(idleNs: UInt64, nowNs: UInt64,
                                                  into records: inout [ConnectionRecord]) -> SocketPresence.Answer {
        let wanted = socketsToConfirm(idleNs: idleNs, nowNs: nowNs)
        guard !wanted.isEmpty else { return SocketPresence.Answer() }
        let answer = SocketPresence.check(wanted)
        reconcile(present: answer.present, gone: answer.gone, nowNs: nowNs, into: &records)
        return answer
    }
}

/// When the correlator's idle sockets are looked up: at most every `min(afterNs, 10 s)`, those
/// without an event for `afterNs` (config `close_check_after`).
public struct IdleSocketCheck: Sendable {
    public let afterNs: UInt64
    private var nextNs: UInt64 = 0

    public init(afterNs: UInt64 = DaemonConfig().closeCheckAfterNs) {
        self.afterNs = afterNs
    }

    /// The look-up's answer when one was due, else nil.
    public mutating func runIfDue(_ correlator: inout Correlator, nowNs: UInt64,
                                  into records: inout [ConnectionRecord]) -> SocketPresence.Answer? {
        guard nowNs >= nextNs else { return nil }
        nextNs = nowNs &+ min(afterNs, 10_000_000_000)
        return correlator.endSocketsGoneFromKernel(idleNs: afterNs, nowNs: nowNs, into: &records)
    }
}
