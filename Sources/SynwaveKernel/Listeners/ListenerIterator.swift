import CLibbpf
import CNetlinkDiag
import CSynwaveABI
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Every listener's queues from the BPF listener iterator (bpf/listener_iter.bpf.c): one read
/// over the marked listeners of all namespaces, instead of a sock_diag dump per namespace.
/// A poll reads only the listeners that are new or changed, unless one is gone (see
/// `ListenerDumpLedger`). Owns the iterator links; the marking program stays attached with the tracer.
public final class ListenerIterator: @unchecked Sendable {
    /// One poll's listeners by namespace: all of them when `complete`, else the changed ones.
    public struct Dump {
        public var byNetns: [UInt32: [ListenerSnapshot]] = [:]
        public var complete: Bool
    }

    private let markExisting: BPFLink
    private let dumpAll: BPFLink
    private let dumpChanges: BPFLink
    private var marked: Set<UInt32> = []
    private var ledger = ListenerDumpLedger()
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(markExisting: BPFLink, dumpAll: BPFLink, dumpChanges: BPFLink) {
        self.markExisting = markExisting
        self.dumpAll = dumpAll
        self.dumpChanges = dumpChanges
    }

    /// Marks the listeners a namespace already had, once per namespace: new ones are marked
    /// by the kernel as they start listening. `nsfd` -1 is synwave's own namespace.
    func markListeners(netns: UInt32, nsfd: Int32) throws(SyscallError) {
        guard !marked.contains(netns) else { return }
        let fd = synwave_iter_create_in_netns(nsfd, markExisting.fd)
        if fd < 0 { throw SyscallError("open the listener-marking iterator in netns \(netns)", errno: .init(rawValue: -fd)) }
        defer { close(fd) }
        try readAll(fd, "listener-marking iterator") { _ in }
        marked.insert(netns)
        // A namespace watched again has listeners marked (and reported) long ago.
        ledger.needsFullDump = true
    }

    /// Forgets namespaces no longer watched (their inode may come back for another one).
    func keepMarks(of namespaces: Set<UInt32>) {
        marked.formIntersection(namespaces)
    }

    /// The listeners changed since the last call, or all of them (the first call, or when one is gone).
    func listeners() throws(SyscallError) -> Dump {
        if !ledger.needsFullDump {
            let changes = try dump(dumpChanges, "listener iterator (changes)")
            if ledger.take(cookies: changes.cookies, visited: changes.visited, full: false) {
                return Dump(byNetns: changes.byNetns, complete: false)
            }
        }
        let all = try dump(dumpAll, "listener iterator")
        // Only a program and a reader built from different headers disagree on the count.
        guard ledger.take(cookies: all.cookies, visited: all.visited, full: true) else {
            throw SyscallError("listener iterator: the dump listed \(all.cookies.count) listeners and counted \(all.visited.map(String.init) ?? "none")",
                               errno: .protocolError)
        }
        return Dump(byNetns: all.byNetns, complete: true)
    }

    private func dump(_ link: BPFLink, _ what: String) throws(SyscallError)
        -> (byNetns: [UInt32: [ListenerSnapshot]], cookies: [UInt64], visited: UInt32?) {
        let fd = bpf_iter_create(link.fd)
        if fd < 0 { throw SyscallError("open the \(what)", errno: .init(rawValue: -fd)) }
        defer { close(fd) }
        var byNetns: [UInt32: [ListenerSnapshot]] = [:]
        var cookies: [UInt64] = []
        var visited: UInt32?
        var rejected = 0
        try readAll(fd, what) { records in
            rejected += ListenerRecordDecoder.decode(records, end: { visited = $0 }) { netns, snapshot in
                byNetns[netns, default: []].append(snapshot)
                cookies.append(snapshot.cookie)
            }
        }
        // Only a program and a reader built from different headers disagree on the record.
        if rejected > 0 { throw SyscallError("\(what): \(rejected) bytes were not whole records", errno: .protocolError) }
        return (byNetns, cookies, visited)
    }

    /// Reads an iterator to its end; `each` gets whole records only (the kernel never splits one).
    private func readAll(_ fd: Int32, _ what: String, _ each: (UnsafeRawBufferPointer) -> Void) throws(SyscallError) {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                throw .last("read(\(what))")
            }
            if count == 0 { return }
            buffer.withUnsafeBytes { each(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
