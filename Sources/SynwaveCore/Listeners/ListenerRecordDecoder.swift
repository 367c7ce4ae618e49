import CSynwaveABI

/// Decodes what the BPF listener iterator writes: back-to-back `synwave_listener_record`s.
public enum ListenerRecordDecoder {
    /// Calls `each` with every well-formed record's namespace and snapshot; returns how many
    /// bytes did not make a record (a torn tail or an unknown address family).
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, _ each: (UInt32, ListenerSnapshot) -> Void) -> Int {
        let size = MemoryLayout<synwave_listener_record>.size
        var offset = 0
        var rejected = 0
        while offset + size <= bytes.count {
            var record = bytes.loadUnaligned(fromByteOffset: offset, as: synwave_listener_record.self)
            offset += size
            guard let address = withUnsafeBytes(of: &record.addr, { IPAddress(family: record.family, bytes: $0) }) else {
                rejected += size
                continue
            }
            each(record.netns, ListenerSnapshot(
                cookie: record.cookie, listener: ListenerAddress(netns: record.netns, address: address, port: record.port),
                acceptQueue: record.accept_queue, backlog: record.backlog, drops: record.drops, inode: record.inode,
                uid: record.uid, synQueue: record.syn_queue))
        }
        return rejected + bytes.count - offset
    }
}
