import CLibbpf
import Foundation
import SystemPackage

/// How many times a kernel tracepoint fired, counted by the kernel itself with counting perf
/// events (no samples, no wakeups: a counter increment per firing).
///
/// Why: a firing can reach no BPF program without the kernel counting a recursion miss. On the
/// sandbox kernel synwave is developed on (6.18, a Firecracker guest), no BPF program runs while
/// the task on the CPU belongs to PID 1 (the VM's agent), softirqs taken on top of it included.
/// Comparing the firings with the program's own run counter makes such losses visible; counting
/// the firings while PID 1 runs says where they came from.
public final class TracepointHits: @unchecked Sendable {
    public let name: String
    private var descriptors: [Int32] = []

    /// `category:name` from tracefs (mounted by preflight): every firing, one event per possible CPU.
    public convenience init(category: String, name: String) throws(SyscallError) {
        let cpus = Int32(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        try self.init(category: category, name: name, targets: (0..<cpus).map { (thread: -1, cpu: $0) })
    }

    /// Only the firings while one of `process`'s threads (those alive now) is on the CPU.
    public convenience init(category: String, name: String, threadsOf process: Int32) throws(SyscallError) {
        let directory = "/proc/\(process)/task"
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw SyscallError("list \(directory)", errno: .noSuchFileOrDirectory)
        }
        try self.init(category: category, name: name, targets: tasks.compactMap(Int32.init).map { (thread: $0, cpu: -1) })
    }

    private init(category: String, name: String, targets: [(thread: Int32, cpu: Int32)]) throws(SyscallError) {
        self.name = "\(category):\(name)"
        let idPath = "\(Preflight.tracefsPath)/events/\(category)/\(name)/id"
        guard let text = try? Preflight.readFile(idPath),
              let id = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SyscallError("read \(idPath)", errno: .noSuchFileOrDirectory)
        }
        for target in targets {
            let fd = synwave_perf_count_tracepoint(id, target.thread, target.cpu)
            if fd < 0 {
                let error = SyscallError.last("perf_event_open(tracepoint \(self.name), thread \(target.thread), cpu \(target.cpu))")
                // A possible but offline CPU cannot fire anything; a thread that exited meanwhile neither.
                if error.errno == Errno(rawValue: ENODEV) || error.errno == Errno(rawValue: ESRCH) { continue }
                descriptors.forEach { _ = close($0) }
                throw error
            }
            descriptors.append(fd)
        }
    }

    deinit {
        descriptors.forEach { _ = close($0) }
    }

    /// Firings since the counters were opened, summed over CPUs or threads.
    public func count() -> UInt64 {
        var total: UInt64 = 0
        for fd in descriptors {
            var value: UInt64 = 0
            if read(fd, &value, MemoryLayout<UInt64>.size) == MemoryLayout<UInt64>.size { total += value }
        }
        return total
    }
}
