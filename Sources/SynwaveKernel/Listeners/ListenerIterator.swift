import CLibbpf
import CNetlinkDiag
import CSynwaveABI
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Every listener's queues from BPF iterators (bpf/listener_iter.bpf.c) instead of a sock_diag
/// dump per namespace: one read over the marked listeners of all namespaces (the map
/// iterator), or, where the kernel refuses that, one iter/tcp walk per namespace. Either way
/// a poll reads only the listeners that are new or changed, unless one is gone (see
/// `ListenerDumpLedger`). Owns the iterator links; the marking program stays attached with the tracer.
public final class ListenerIterator: @unchecked Sendable {
    enum Source {
        case storageMap(markExisting: BPFLink, dumpAll: BPFLink, dumpChanges: BPFLink)
        /// Kernels that refuse map-element iterators (6.18.44-fc-v1272).
        case tcpWalk(all: BPFLink, changes: BPFLink)
    }

    /// A watched namespace: its inode and a descriptor for it (-1: synwave's own).
    typealias Namespace = (netns: UInt32, nsfd: Int32)

    /// One poll's listeners by namespace: all of them when `complete`, else the changed ones.
    public struct Dump {
        public var byNetns: [UInt32: [ListenerSnapshot]] = [:]
        public var complete: Bool
    }

    private let source: Source
    private var marked: Set<UInt32> = []
    private var ledger = ListenerDumpLedger()
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(_ source: Source) {
        self.source = source
    }

    /// What the start lines call it.
    public var name: String {
        switch source {
        case .storageMap: "the BPF listener iterator"
        case .tcpWalk: "BPF walks of each namespace's TCP sockets"
        }
    }

    /// Marks the listeners a namespace already had, once per namespace: new ones are marked
    /// by the kernel as they start listening (a walk marks what it finds). `nsfd` -1 is
    /// synwave's own namespace.
    func markListeners(netns: UInt32, nsfd: Int32) throws(SyscallError) {
        guard !marked.contains(netns) else { return }
        if case .storageMap(let markExisting, _, _) = source {
            let fd = synwave_iter_create_in_netns(nsfd, markExisting.fd)
            if fd < 0 { throw SyscallError("open the listener-marking iterator in netns \(netns)", errno: .init(rawValue: -fd)) }
            defer { close(fd) }
            try readAll(fd, "listener-marking iterator") { _ in }
        }
        marked.insert(netns)
        // A namespace watched again has listeners marked (and reported) long ago.
        ledger.needsFullDump = true
    }

    /// Forgets namespaces no longer watched (their inode may come back for another one).
    func keepMarks(of namespaces: Set<UInt32>) {
        marked.formIntersection(namespaces)
    }

    /// The listeners of `namespaces` changed since the last call, or all of them (the first
    /// call, or when one is gone).
    func listeners(of namespaces: [Namespace]) throws(SyscallError) -> Dump {
        if !ledger.needsFullDump {
            let changes = try dump(full: false, namespaces)
            if ledger.take(cookies: changes.cookies, visited: changes.visited, full: false) {
                return Dump(byNetns: changes.byNetns, complete: false)
            }
        }
        let all = try dump(full: true, namespaces)
        // Only a program and a reader built from different headers disagree on the count.
        guard ledger.take(cookies: all.cookies, visited: all.visited, full: true) else {
            throw SyscallError("listener iterator: the dump listed \(all.cookies.count) listeners and counted \(all.visited.map(String.init) ?? "none")",
                               errno: .protocolError)
        }
        return Dump(byNetns: all.byNetns, complete: true)
    }

    private typealias Found = (byNetns: [UInt32: [ListenerSnapshot]], cookies: [UInt64], visited: UInt32?)

    /// One dump: a read of the map iterator, or a walk of each namespace (visited counts summed).
    private func dump(full: Bool, _ namespaces: [Namespace]) throws(SyscallError) -> Found {
        var found: Found = ([:], [], nil)
        switch source {
        case .storageMap(_, let all, let changes):
            let fd = bpf_iter_create((full ? all : changes).fd)
            if fd < 0 { throw SyscallError("open the listener iterator", errno: .init(rawValue: -fd)) }
            defer { close(fd) }
            try readRecords(fd, full ? "listener iterator" : "listener iterator (changes)", into: &found)
        case .tcpWalk(let all, let changes):
            var visited: UInt32 = 0
            for namespace in namespaces {
                let fd = synwave_iter_create_in_netns(namespace.nsfd, (full ? all : changes).fd)
                if fd < 0 { throw SyscallError("open the listener walk in netns \(namespace.netns)", errno: .init(rawValue: -fd)) }
                defer { close(fd) }
                found.visited = nil
                try readRecords(fd, "listener walk of netns \(namespace.netns)", into: &found)
                // A walk without its end record leaves the sum unknown: the ledger then dumps all.
                guard let walked = found.visited else { return found }
                visited &+= walked
            }
            found.visited = visited
        }
        return found
    }

    private func readRecords(_ fd: Int32, _ what: String, into found: inout Found) throws(SyscallError) {
        var rejected = 0
        try readAll(fd, what) { records in
            rejected += ListenerRecordDecoder.decode(records, end: { found.visited = $0 }) { netns, snapshot in
                found.byNetns[netns, default: []].append(snapshot)
                found.cookies.append(snapshot.cookie)
            }
        }
        // Only a program and a reader built from different headers disagree on the record.
        if rejected > 0 { throw SyscallError("\(what): \(rejected) bytes were not whole records", errno: .protocolError) }
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
