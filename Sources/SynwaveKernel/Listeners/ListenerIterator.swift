import CLibbpf
import CNetlinkDiag
import CSynwaveABI
import SynwaveCore
#if canImport(Glibc)
import Glibc
#endif

/// Every listener's queues from the BPF listener iterator (bpf/listener_iter.bpf.c): one read
/// over the marked listeners of all namespaces, instead of a sock_diag dump per namespace.
/// Owns the two iterator links; the marking program stays attached with the tracer.
public final class ListenerIterator: @unchecked Sendable {
    private let markExisting: BPFLink
    private let dump: BPFLink
    private var marked: Set<UInt32> = []
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(markExisting: BPFLink, dump: BPFLink) {
        self.markExisting = markExisting
        self.dump = dump
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
    }

    /// Forgets namespaces no longer watched (their inode may come back for another one).
    func keepMarks(of namespaces: Set<UInt32>) {
        marked.formIntersection(namespaces)
    }

    /// The marked listeners still listening, by namespace.
    func listeners() throws(SyscallError) -> [UInt32: [ListenerSnapshot]] {
        let fd = bpf_iter_create(dump.fd)
        if fd < 0 { throw SyscallError("open the listener iterator", errno: .init(rawValue: -fd)) }
        defer { close(fd) }
        var byNetns: [UInt32: [ListenerSnapshot]] = [:]
        var rejected = 0
        try readAll(fd, "listener iterator") { records in
            rejected += ListenerRecordDecoder.decode(records) { netns, snapshot in byNetns[netns, default: []].append(snapshot) }
        }
        // Only a program and a reader built from different headers disagree on the record.
        if rejected > 0 { throw SyscallError("listener iterator: \(rejected) bytes were not whole records", errno: .protocolError) }
        return byNetns
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
