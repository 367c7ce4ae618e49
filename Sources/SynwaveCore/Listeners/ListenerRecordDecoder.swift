import CSynwaveABI

/// Decodes what the BPF listener iterator writes: back-to-back `synwave_listener_record`s, the
/// last of a dump an end record (family 0) with how many listeners the dump visited.
public enum ListenerRecordDecoder {
    /// Calls `each` with every well-formed listener record's namespace and snapshot, and `end`
    /// with an end record's count; returns how many bytes did not make a record (a torn tail
    /// or an unknown address family).
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, end: (UInt32) -> Void = { _ in },
                              _ each: (UInt32, ListenerSnapshot) -> Void) -> Int {
        let size = MemoryLayout<synwave_listener_record>.size
        var offset = 0
        var rejected = 0
        while offset + size <= bytes.count {
            var record = bytes.loadUnaligned(fromByteOffset: offset, as: synwave_listener_record.self)
            offset += size
            if record.family == 0 {
                end(record.visited)
                continue
            }
            guard let address = withUnsafeBytes(of: &record.addr, { IPAddress(family: record.family, bytes: $0) }) else {
                rejected += size
                continue
            }
            each(record.netns, ListenerSnapshot(
                cookie: record.cookie, listener: ListenerAddress(netns: record.netns, address: address, port: record.port),
                acceptQueue: record.accept_queue, backlog: record.backlog, drops: record.drops, inode: record.inode,
                uid: record.uid, synQueue: record.syn_queue, cgroupID: record.cgroup_id))
        }
        return rejected + bytes.count - offset
    }
}
