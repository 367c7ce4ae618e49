import CSynwaveABI

/// Why a ring buffer record could not be decoded. Each one is counted, never fatal.
public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(size: Int)
    case unknownType(UInt16)
    case sizeMismatch(type: UInt16, declared: Int, actual: Int, expected: Int)
    case invalidState(UInt8)
    case invalidFamily(UInt16)

    public var description: String {
        switch self {
        case .truncated(let size): "record of \(size) bytes is shorter than a header"
        case .unknownType(let type): "unknown record type \(type)"
        case .sizeMismatch(let type, let declared, let actual, let expected):
            "record type \(type) declares \(declared) bytes, has \(actual), expected \(expected)"
        case .invalidState(let state): "invalid TCP state \(state)"
        case .invalidFamily(let family): "invalid address family \(family)"
        }
    }
}

/// Turns raw ring buffer records (synwave_abi.h layouts) into `KernelEvent`s.
public enum EventDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<KernelEvent, DecodeError> {
        let headerSize = MemoryLayout<synwave_event_header>.size
        guard bytes.count >= headerSize, bytes.baseAddress != nil else {
            return .failure(.truncated(size: bytes.count))
        }
        let header = bytes.loadUnaligned(as: synwave_event_header.self)
        switch UInt32(header.type) {
        case SYNWAVE_EVENT_STATE.rawValue:
            return checkedSize(header, bytes, synwave_state_event.self).flatMap { decodeState($0) }
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

    private static func decodeState(_ raw: synwave_state_event) -> Result<KernelEvent, DecodeError> {
        guard let old = TCPState(rawValue: raw.oldstate) else { return .failure(.invalidState(raw.oldstate)) }
        guard let new = TCPState(rawValue: raw.newstate) else { return .failure(.invalidState(raw.newstate)) }
        var raw = raw
        let addresses = withUnsafeBytes(of: &raw.saddr) { s in
            withUnsafeBytes(of: &raw.daddr) { d in
                (IPAddress(family: raw.family, bytes: s), IPAddress(family: raw.family, bytes: d))
            }
        }
        guard let source = addresses.0, let destination = addresses.1 else {
            return .failure(.invalidFamily(raw.family))
        }
        let hasCookie = raw.hdr.flags & SYNWAVE_EVF_COOKIE.rawValue != 0
        let identity = hasCookie
            ? SocketIdentity(kind: .cookie, value: raw.hdr.cookie)
            : SocketIdentity(kind: .skAddr, value: raw.hdr.skaddr)
        var totals: TCPTotals?
        if raw.hdr.flags & SYNWAVE_EVF_TOTALS.rawValue != 0 {
            let t = raw.totals
            totals = TCPTotals(bytesAcked: t.bytes_acked, bytesReceived: t.bytes_received,
                               segsOut: t.segs_out, segsIn: t.segs_in, totalRetrans: t.total_retrans,
                               srttMicros: t.srtt_us, mssCache: t.mss_cache)
        }
        return .success(.state(StateEvent(
            timestampNs: raw.hdr.ts_ns, socket: identity, netns: raw.netns, tgid: raw.tgid,
            tid: raw.pid, comm: commString(&raw.comm), family: raw.family,
            oldState: old, newState: new,
            sourceAddress: source, sourcePort: raw.sport,
            destinationAddress: destination, destinationPort: raw.dport, totals: totals)))
    }

    /// A NUL-padded kernel comm; invalid UTF-8 is repaired, never trusted.
    static func commString<T>(_ comm: inout T) -> String {
        withUnsafeBytes(of: &comm) { raw in
            let length = raw.firstIndex(of: 0) ?? raw.count
            return String(decoding: raw[0..<length], as: UTF8.self)
        }
    }
}
