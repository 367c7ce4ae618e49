import SynwaveCore

/// Polls the listeners of the chosen network namespaces: through the BPF listener iterator once
/// `iterator` is set (one read for every namespace), else through sock_diag. The own namespace is
/// always watched; named ones must open at start; with `discover`, namespaces found under
/// /run/netns and /proc/*/ns/net are added as they appear and dropped as they vanish (an open
/// probe holds its namespace alive, so it is released as soon as the namespace is gone).
public final class ListenerPoller {
    private var probes: [NamespaceTarget: NamespaceProbe] = [:]
    private let named: [NamespaceTarget]
    private let discover: Bool
    /// Set once the tracer has the listener iterator; dropped (back to sock_diag) if it fails.
    public var iterator: ListenerIterator?

    /// Opens every named namespace now, so a wrong name is reported at once.
    public init(namespaces: [NamespaceTarget], discover: Bool) throws(SyscallError) {
        self.named = [.own] + namespaces.filter { $0 != .own }
        self.discover = discover
        for target in named where probes[target] == nil {
            probes[target] = try NamespaceProbe(target)
        }
    }

    /// One poll of every namespace; a namespace that fails (it vanished) is dropped, not fatal.
    public func poll() -> (polls: [NamespacePoll], failures: [String]) {
        refreshTargets()
        var polls: [NamespacePoll] = []
        var failures: [String] = []
        let distinct = distinctProbes
        let found = iterated(distinct, &failures)
        for (target, probe) in distinct {
            do {
                var poll = if let found {
                    try probe.poll(listeners: found.byNetns[probe.netns] ?? [], complete: found.complete)
                } else {
                    try probe.poll()
                }
                poll.owner = Self.owner(of: target)
                polls.append(poll)
            } catch {
                failures.append("netns \(target.name): \(error)")
                probes[target] = nil
            }
        }
        return (polls, failures)
    }

    /// Every watched namespace's listeners from the iterator (those changed, or all), its new
    /// namespaces marked first; nil without an iterator, or when it failed (then sock_diag
    /// serves from now on).
    private func iterated(_ distinct: [(target: NamespaceTarget, probe: NamespaceProbe)],
                          _ failures: inout [String]) -> ListenerIterator.Dump? {
        guard let iterator else { return nil }
        do {
            iterator.keepMarks(of: Set(probes.values.map(\.netns)))
            for probe in probes.values { try iterator.markListeners(netns: probe.netns, nsfd: probe.nsfd) }
            return try iterator.listeners(of: distinct.map { ($0.probe.netns, $0.probe.nsfd) })
        } catch {
            failures.append("listener iterator: \(error); polling through sock_diag instead")
            self.iterator = nil
            return nil
        }
    }

    /// The workload of the process a namespace was found through (`/proc/PID/ns/net`).
    static func owner(of target: NamespaceTarget) -> Workload? {
        guard let path = target.path, path.hasPrefix("/proc/"), path.hasSuffix("/ns/net"),
              let text = try? Preflight.readFile(String(path.dropLast("ns/net".count)) + "cgroup"),
              let cgroup = ProcessCgroup.v2Path(text), cgroup != "/" else { return nil }
        return Workload(cgroupPath: cgroup)
    }

    /// Each watched namespace once, by inode: a name and a pid can reach the same one.
    private var distinctProbes: [(target: NamespaceTarget, probe: NamespaceProbe)] {
        var seen: Set<UInt32> = []
        return probes.sorted { $0.value.netns < $1.value.netns }
            .filter { seen.insert($0.value.netns).inserted }
            .map { (target: $0.key, probe: $0.value) }
    }

    private func refreshTargets() {
        guard discover else {
            // A named namespace deleted since: release it (its path no longer resolves).
            for (target, probe) in probes where (try? target.inode()) != probe.netns { probes[target] = nil }
            return
        }
        let found = NamespaceDiscovery.all()
        let wanted = Set(found).union(named)
        for target in probes.keys where !wanted.contains(target) { probes[target] = nil }
        for target in found where probes[target] == nil {
            probes[target] = try? NamespaceProbe(target)
        }
    }
}
