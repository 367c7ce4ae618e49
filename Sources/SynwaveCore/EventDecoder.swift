import CSynwaveABI

/// Why a ring buffer record could not be decoded. Each one is counted, never fatal.
public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(size: Int)
    case unknownType(UInt16)
    case sizeMismatch(type: UInt16, declared: Int, actual: Int, expected: Int)
    case invalidState(UInt8)
    case invalidFamily(UInt16)
    case invalidField(String, UInt64)

    public var description: String {
        switch self {
        case .truncated(let size): "record of \(size) bytes is shorter than a header"
        case .unknownType(let type): "unknown record type \(type)"
        case .sizeMismatch(let type, let declared, let actual, let expected):
            "record type \(type) declares \(declared) bytes, has \(actual), expected \(expected)"
        case .invalidState(let state): "invalid TCP state \(state)"
        case .invalidFamily(let family): "invalid address family \(family)"
        case .invalidField(let field, let value): "invalid \(field) \(value)"
        }
    }
}

/// Turns raw ring buffer records (synwave_abi.h layouts) into `KernelEvent`s.
public enum EventDecoder {
    /// One record on its own.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<KernelEvent, DecodeError> {
        var events: [KernelEvent] = []
        if let error = decode(bytes, into: &events) { return .failure(error) }
        return .success(events[0])
    }

    /// Appends the record's event to `events`, or returns why it could not be decoded. The
    /// reader's path: a state event is built straight into the batch, not passed up through a
    /// `Result` (each copy of it showed in the daemon's profile).
    public static func decode(_ bytes: UnsafeRawBufferPointer, into events: inout [KernelEvent]) -> DecodeError? {
        let headerSize = MemoryLayout<synwave_event_header>.size
        guard bytes.count >= headerSize, bytes.baseAddress != nil else {
            return .truncated(size: bytes.count)
        }
        let header = bytes.loadUnaligned(as: synwave_event_header.self)
        if UInt32(header.type) == SYNWAVE_EVENT_STATE.rawValue {
            return decodeState(header, bytes, into: &events)
        }
        if UInt32(header.type) == SYNWAVE_EVENT_CONNECTION.rawValue {
            return decodeConnection(header, bytes, into: &events)
        }
        switch decodeOther(header, bytes) {
        case .success(let event):
            events.append(event)
            return nil
        case .failure(let error):
            return error
        }
    }

    private static func decodeOther(
        _ header: synwave_event_header, _ bytes: UnsafeRawBufferPointer
    ) -> Result<KernelEvent, DecodeError> {
        switch UInt32(header.type) {
        case SYNWAVE_EVENT_RETRANSMIT.rawValue:
            return checkedSize(header, bytes, synwave_retransmit_event.self).flatMap { decodeRetransmit($0) }
        case SYNWAVE_EVENT_RESET.rawValue:
            return checkedSize(header, bytes, synwave_reset_event.self).flatMap { decodeReset($0) }
        case SYNWAVE_EVENT_SOCKET.rawValue:
            return checkedSize(header, bytes, synwave_socket_event.self).flatMap { decodeSocket($0) }
        case SYNWAVE_EVENT_LISTENER.rawValue:
            return checkedSize(header, bytes, synwave_listener_event.self).flatMap { decodeListener($0) }
        case SYNWAVE_EVENT_CGROUP.rawValue:
            return checkedSize(header, bytes, synwave_cgroup_event.self).map {
                .cgroup(CgroupEvent(timestampNs: $0.hdr.ts_ns, cgroupID: $0.cgroup_id))
            }
        default:
            return .failure(.unknownType(header.type))
        }
    }

    private static func checkedSize<T>(
        _ header: synwave_event_header, _ bytes: UnsafeRawBufferPointer, _: T.Type
    ) -> Result<T, DecodeError> {
        let expected = MemoryLayout<T>.size
        // The ring buffer rounds records up to 8 bytes, so only a shorter one is malformed.
        guard Int(header.size) == expected, bytes.count >= expected else {
            return .failure(.sizeMismatch(type: header.type, declared: Int(header.size),
                                          actual: bytes.count, expected: expected))
        }
        return .success(bytes.loadUnaligned(as: T.self))
    }

    /// A state record is whole (with totals) or ends where the totals begin (without). Read
    /// with one copy into a local: state records are most of the stream, and each further copy
    /// of the 152-byte record (through `Result`s and closures) showed in the daemon's profile.
    private static func decodeState(
        _ header: synwave_event_header, _ bytes: UnsafeRawBufferPointer, into events: inout [KernelEvent]
    ) -> DecodeError? {
        let short = Int(SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS)
        let size = Int(header.size) == short && header.flags & SYNWAVE_EVF_TOTALS.rawValue == 0
            ? short : MemoryLayout<synwave_state_event>.size
        guard Int(header.size) == size, bytes.count >= size else {
            return .sizeMismatch(type: header.type, declared: Int(header.size), actual: bytes.count, expected: size)
        }
        var raw = synwave_state_event()
        withUnsafeMutableBytes(of: &raw) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<size])) }
        guard let old = TCPState(rawValue: raw.oldstate) else { return .invalidState(raw.oldstate) }
        guard let new = TCPState(rawValue: raw.newstate) else { return .invalidState(raw.newstate) }
        let addresses = withUnsafeBytes(of: &raw.saddr) { s in
            withUnsafeBytes(of: &raw.daddr) { d in
                (IPAddress(family: raw.family, bytes: s), IPAddress(family: raw.family, bytes: d))
            }
        }
        guard let source = addresses.0, let destination = addresses.1 else {
            return .invalidFamily(raw.family)
        }
        let identity = identity(raw.hdr)
        var totals: TCPTotals?
        if raw.hdr.flags & SYNWAVE_EVF_TOTALS.rawValue != 0 {
            let t = raw.totals
            totals = TCPTotals(bytesAcked: t.bytes_acked, bytesReceived: t.bytes_received,
                               segsOut: t.segs_out, segsIn: t.segs_in, totalRetrans: t.total_retrans,
                               srttMicros: t.srtt_us, mssCache: t.mss_cache)
        }
        events.append(.state(StateEvent(
            timestampNs: raw.hdr.ts_ns, socket: identity, netns: raw.netns, tgid: raw.tgid,
            tid: raw.pid, comm: taskName(&raw.comm), family: raw.family,
            oldState: old, newState: new,
            sourceAddress: source, sourcePort: raw.sport,
            destinationAddress: destination, destinationPort: raw.dport, error: raw.error, totals: totals,
            address: raw.hdr.skaddr, cgroupID: raw.cgroup_id)))
        return nil
    }

    private static func identity(_ header: synwave_event_header) -> SocketIdentity {
        header.flags & SYNWAVE_EVF_COOKIE.rawValue != 0
            ? SocketIdentity(kind: .cookie, value: header.cookie)
            : SocketIdentity(kind: .skAddr, value: header.skaddr)
    }

    /// nil for family 0 (the kernel had no tuple); an error for any other unknown family.
    private static func endpoints(_ tuple: synwave_tuple) -> Result<Endpoints?, DecodeError> {
        if tuple.family == 0 { return .success(nil) }
        var tuple = tuple
        let addresses = withUnsafeBytes(of: &tuple.saddr) { s in
            withUnsafeBytes(of: &tuple.daddr) { d in
                (IPAddress(family: tuple.family, bytes: s), IPAddress(family: tuple.family, bytes: d))
            }
        }
        guard let local = addresses.0, let remote = addresses.1 else { return .failure(.invalidFamily(tuple.family)) }
        return .success(Endpoints(localAddress: local, localPort: tuple.sport, remoteAddress: remote, remotePort: tuple.dport))
    }

    private static func state(_ raw: UInt8) -> Result<TCPState, DecodeError> {
        TCPState(rawValue: raw).map { .success($0) } ?? .failure(.invalidState(raw))
    }

    private static func decodeRetransmit(_ raw: synwave_retransmit_event) -> Result<KernelEvent, DecodeError> {
        guard let kind = RetransmitKind(rawValue: raw.kind) else { return .failure(.invalidField("retransmit kind", UInt64(raw.kind))) }
        return state(raw.state).flatMap { state in
            endpoints(raw.tuple).map { endpoints in
                .retransmit(RetransmitEvent(
                    timestampNs: raw.hdr.ts_ns, socket: identity(raw.hdr), netns: raw.netns, state: state, kind: kind,
                    isTailLossProbe: raw.flags & UInt8(SYNWAVE_RETRANSMIT_TLP.rawValue) != 0,
                    afterTimeout: raw.flags & UInt8(SYNWAVE_RETRANSMIT_TIMEOUT.rawValue) != 0,
                    error: raw.err, retransmits: raw.retransmits, synQueue: raw.syn_queue,
                    acceptQueue: raw.accept_queue, backlog: raw.backlog, endpoints: endpoints))
            }
        }
    }

    private static func decodeReset(_ raw: synwave_reset_event) -> Result<KernelEvent, DecodeError> {
        guard let direction = ResetEvent.Direction(rawValue: raw.direction) else {
            return .failure(.invalidField("reset direction", UInt64(raw.direction)))
        }
        guard let kind = SocketKind(rawValue: raw.socket_kind) else {
            return .failure(.invalidField("socket kind", UInt64(raw.socket_kind)))
        }
        let reason = ResetReason(rawValue: raw.reason) ?? .unknown
        let socketState: TCPState?
        if kind == .none {
            socketState = nil
        } else {
            switch state(raw.state) {
            case .success(let s): socketState = s
            case .failure(let error): return .failure(error)
            }
        }
        return endpoints(raw.tuple).map { endpoints in
            .reset(ResetEvent(
                timestampNs: raw.hdr.ts_ns, socket: kind == .none ? nil : identity(raw.hdr), netns: raw.netns,
                direction: direction, socketKind: kind, state: socketState, reason: reason, endpoints: endpoints))
        }
    }

    private static func decodeSocket(_ raw: synwave_socket_event) -> Result<KernelEvent, DecodeError> {
        guard let kind = SocketEvent.Kind(rawValue: raw.kind) else { return .failure(.invalidField("socket event kind", UInt64(raw.kind))) }
        return state(raw.state).flatMap { state in
            endpoints(raw.tuple).map { endpoints in
                .socket(SocketEvent(
                    timestampNs: raw.hdr.ts_ns, socket: identity(raw.hdr), netns: raw.netns, kind: kind, state: state,
                    error: raw.error, probesOut: raw.probes_out, retransmits: raw.retransmits,
                    packetsOut: raw.packets_out, endpoints: endpoints))
            }
        }
    }

    private static func decodeListener(_ raw: synwave_listener_event) -> Result<KernelEvent, DecodeError> {
        guard let kind = ListenerEvent.Kind(rawValue: raw.kind) else {
            return .failure(.invalidField("listener event kind", UInt64(raw.kind)))
        }
        var raw = raw
        guard let address = withUnsafeBytes(of: &raw.addr, { IPAddress(family: raw.family, bytes: $0) }) else {
            return .failure(.invalidFamily(raw.family))
        }
        return .success(.listener(ListenerEvent(
            timestampNs: raw.hdr.ts_ns, socket: identity(raw.hdr), kind: kind,
            listener: ListenerAddress(netns: raw.netns, address: address, port: raw.port),
            synQueue: raw.syn_queue, acceptQueue: raw.accept_queue, backlog: raw.backlog,
            acceptOverflows: raw.accept_overflows, inode: raw.inode, cgroupID: raw.cgroup_id)))
    }

    /// Read in place, like state records: a connection record is most of the stream where the
    /// kernel assembles connections, and each copy of its 232 bytes showed in the daemon's profile.
    private static func decodeConnection(
        _ header: synwave_event_header, _ bytes: UnsafeRawBufferPointer, into events: inout [KernelEvent]
    ) -> DecodeError? {
        let size = MemoryLayout<synwave_connection_event>.size
        guard Int(header.size) == size, bytes.count >= size else {
            return .sizeMismatch(type: header.type, declared: Int(header.size), actual: bytes.count, expected: size)
        }
        let conn = UnsafeRawBufferPointer(rebasing: bytes[MemoryLayout<synwave_event_header>.size...])
        let c = conn.loadUnaligned(as: synwave_connection.self)
        let flags = UInt32(c.flags)
        func has(_ flag: synwave_connection_flags) -> Bool { flags & flag.rawValue != 0 }
        let kept = min(Int(c.transition_count), Int(SYNWAVE_CONNECTION_TRANSITIONS))
        var transitions: [AssembledConnection.Transition] = []
        transitions.reserveCapacity(kept)
        let words = withUnsafeBytes(of: c.transitions) { Array($0.bindMemory(to: UInt64.self)) }
        for word in words.prefix(kept) {
            let oldRaw = UInt8(word & 0xF), newRaw = UInt8((word >> 4) & 0xF)
            guard let old = TCPState(rawValue: oldRaw) else { return .invalidState(oldRaw) }
            guard let new = TCPState(rawValue: newRaw) else { return .invalidState(newRaw) }
            transitions.append(.init(old: old, new: new, offsetNs: word >> 8))
        }
        var local: Endpoints?
        if has(SYNWAVE_CONN_TUPLE) {
            switch endpoints(c.tuple) {
            case .success(let e): local = e
            case .failure(let error): return error
            }
        }
        var totals: TCPTotals?
        if has(SYNWAVE_CONN_TOTALS) {
            let t = c.totals
            totals = TCPTotals(bytesAcked: t.bytes_acked, bytesReceived: t.bytes_received, segsOut: t.segs_out,
                               segsIn: t.segs_in, totalRetrans: t.total_retrans, srttMicros: t.srtt_us, mssCache: t.mss_cache)
        }
        let r = c.retransmits
        var comm = c.comm
        events.append(.connection(AssembledConnection(
            timestampNs: header.ts_ns, socket: identity(header), netns: c.netns, startNs: c.start_ns,
            transitions: transitions, transitionsSeen: Int(c.transition_count), tgid: c.tgid,
            comm: taskName(&comm), ownerKnown: has(SYNWAVE_CONN_OWNER), endpoints: local, totals: totals,
            error: c.error, probesOut: c.probes_out, packetsOut: c.packets_out,
            retransmits: RetransmitCounts(syn: r.0, data: r.1, fin: r.2, tlp: r.3),
            resetsReceived: c.resets_received, resetsSent: c.resets_sent,
            firstResetReason: ResetReason(rawValue: c.first_reset_reason) ?? .unknown,
            lastResetReason: ResetReason(rawValue: c.last_reset_reason) ?? .unknown,
            lastResetReceivedNs: c.last_reset_received_ns, cgroupID: c.cgroup_id,
            sent: has(SYNWAVE_CONN_DESTROYED) ? .atDestroy : .atClose)))
        return nil
    }

    /// A NUL-padded kernel comm; kept as bytes (text made from it repairs invalid UTF-8).
    static func taskName<T>(_ comm: inout T) -> TaskName {
        withUnsafeBytes(of: &comm) { TaskName(kernelBytes: $0) }
    }
}
