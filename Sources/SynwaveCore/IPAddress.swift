#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as the kernel stores it (network byte order).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt8, UInt8, UInt8, UInt8)
    case v6([UInt8])

    public static let familyIPv4: UInt16 = 2
    public static let familyIPv6: UInt16 = 10

    /// Reads an address of `family` from the first bytes of `bytes`; nil for other families.
    public init?(family: UInt16, bytes: UnsafeRawBufferPointer) {
        switch family {
        case Self.familyIPv4 where bytes.count >= 4:
            self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        case Self.familyIPv6 where bytes.count >= 16:
            self = .v6(Array(bytes[0..<16]))
        default:
            return nil
        }
    }

    /// Parses dotted IPv4 or textual IPv6 (as inet_pton does).
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let b = withUnsafeBytes(of: v4) { Array($0) }
            self = .v4(b[0], b[1], b[2], b[3])
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
            return
        }
        return nil
    }

    public var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
    public var unmapped: IPAddress {
        guard case .v6(let b) = self,
              b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff
        else { return self }
        return .v4(b[12], b[13], b[14], b[15])
    }

    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d)"
        case .v6(let bytes):
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let ok = bytes.withUnsafeBytes { raw in
                inet_ntop(AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
            }
            guard ok else { return "?" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `addr:port`, with brackets for IPv6.
    public func endpoint(port: UInt16) -> String {
        isIPv6 ? "[\(self)]:\(port)" : "\(self):\(port)"
    }
}
