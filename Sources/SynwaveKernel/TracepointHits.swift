import CLibbpf
import Foundation
import SystemPackage

/// How many times a kernel tracepoint fired, counted by the kernel itself with one counting perf
/// event per CPU (no samples, no wakeups: a counter increment per firing).
///
/// Why: on this 6.18 kernel tp_btf programs are sometimes not run for a firing without the skip
/// being counted in recursion_misses (a burst of a few dozen firings in one softirq, about one run
/// in four under churn). Comparing the firings with the program's own run counter makes such
/// losses visible instead of silent.
public final class TracepointHits: @unchecked Sendable {
    public let name: String
    private var descriptors: [Int32] = []

    /// `category:name` from tracefs (mounted by preflight); one event per possible CPU.
    public init(category: String, name: String) throws(SyscallError) {
        self.name = "\(category):\(name)"
        let idPath = "\(Preflight.tracefsPath)/events/\(category)/\(name)/id"
        guard let text = try? Preflight.readFile(idPath),
              let id = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SyscallError("read \(idPath)", errno: .noSuchFileOrDirectory)
        }
        for cpu in 0..<Int32(sysconf(Int32(_SC_NPROCESSORS_CONF))) {
            let fd = synwave_perf_count_tracepoint(id, cpu)
            if fd < 0 {
                let error = SyscallError.last("perf_event_open(tracepoint \(self.name), cpu \(cpu))")
                // A possible but offline CPU cannot fire anything.
                if error.errno == Errno(rawValue: ENODEV) { continue }
                descriptors.forEach { _ = close($0) }
                throw error
            }
            descriptors.append(fd)
        }
    }

    deinit {
        descriptors.forEach { _ = close($0) }
    }

    /// Firings since the counters were opened, summed over CPUs.
    public func count() -> UInt64 {
        var total: UInt64 = 0
        for fd in descriptors {
            var value: UInt64 = 0
            if read(fd, &value, MemoryLayout<UInt64>.size) == MemoryLayout<UInt64>.size { total += value }
        }
        return total
    }
}
