#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as the kernel stores it (network byte order). No heap storage:
/// one is decoded for every kernel event.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// The 16 bytes in memory order, as two words.
    case v6(UInt64, UInt64)

    public static let familyIPv4: UInt16 = 2
    public static let familyIPv6: UInt16 = 10

    /// Reads an address of `family` from the first bytes of `bytes`; nil for other families.
    public init?(family: UInt16, bytes: UnsafeRawBufferPointer) {
        switch family {
        case Self.familyIPv4 where bytes.count >= 4:
            self = .v4(bytes.loadUnaligned(as: UInt32.self))
        case Self.familyIPv6 where bytes.count >= 16:
            self = .v6(bytes.loadUnaligned(as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        default:
            return nil
        }
    }

    /// Parses dotted IPv4 or textual IPv6 (as inet_pton does).
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = withUnsafeBytes(of: v4) { .v4($0.loadUnaligned(as: UInt32.self)) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = withUnsafeBytes(of: v6) { IPAddress(family: Self.familyIPv6, bytes: $0)! }
            return
        }
        return nil
    }

    public var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// 0.0.0.0 or ::, what a listener bound to every address has.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let raw): raw == 0
        case .v6(let high, let low): high == 0 && low == 0
        }
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
    public var unmapped: IPAddress {
        // Bytes 8...11 are 00 00 ff ff; read as a little-endian word that is 0xffff0000.
        guard case .v6(let high, let low) = self, high == 0,
              UInt32(truncatingIfNeeded: low) == 0xFFFF_0000
        else { return self }
        return .v4(UInt32(truncatingIfNeeded: low >> 32))
    }

    /// Appends the textual form (inet_ntop's) to `out`.
    public func appendText<Out: ByteSink>(to out: inout Out) {
        switch self {
        case .v4(let raw):
            withUnsafeBytes(of: raw) { b in
                for i in 0..<4 {
                    if i > 0 { out.append(UInt8(ascii: ".")) }
                    out.append(decimal: UInt64(b[i]))
                }
            }
        case .v6(let high, let low):
            var words = (high, low)
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
                let ok = withUnsafeBytes(of: &words) {
                    inet_ntop(AF_INET6, $0.baseAddress, text.baseAddress, socklen_t(text.count)) != nil
                }
                guard ok else { out.append(UInt8(ascii: "?")); return }
                for c in text {
                    if c == 0 { break }
                    out.append(UInt8(bitPattern: c))
                }
            }
        }
    }

    /// `addr:port`, with brackets for IPv6.
    public func appendEndpoint<Out: ByteSink>(port: UInt16, to out: inout Out) {
        if isIPv6 { out.append(UInt8(ascii: "[")) }
        appendText(to: &out)
        if isIPv6 { out.append(UInt8(ascii: "]")) }
        out.append(UInt8(ascii: ":"))
        out.append(decimal: UInt64(port))
    }

    public var description: String {
        var out: [UInt8] = []
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func endpoint(port: UInt16) -> String {
        var out: [UInt8] = []
        appendEndpoint(port: port, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
