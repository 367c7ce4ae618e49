/// A kernel release like `6.18.44-fc-v595`, compared by its numeric prefix.
public struct KernelRelease: Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public init?(parsing release: String) {
        let numeric = release.prefix { $0.isNumber || $0 == "." }
        let parts = numeric.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        self.init(major: parts[0], minor: parts[1], patch: parts.count > 2 ? parts[2] : 0)
    }

    public static func < (a: KernelRelease, b: KernelRelease) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    /// BPF ring buffers (and bpf_ktime_get_boot_ns) arrived in 5.8.
    public static let minimumSupported = KernelRelease(major: 5, minor: 8)
}

/// Effective capabilities, as in the `CapEff:` line of /proc/self/status.
public struct Capabilities: Sendable, Equatable {
    public var mask: UInt64

    public static let sysAdmin = 21
    public static let perfmon = 38
    public static let bpf = 39

    public init(mask: UInt64) { self.mask = mask }

    /// Reads the CapEff line of a /proc/PID/status text.
    public init?(procStatus: String) {
        guard let line = procStatus.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace(), radix: 16)
        else { return nil }
        self.mask = mask
    }

    public func has(_ capability: Int) -> Bool { mask & (1 << UInt64(capability)) != 0 }

    /// Loading tracing programs needs CAP_BPF and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
    public var missingForTracing: [String] {
        if has(Self.sysAdmin) || (has(Self.bpf) && has(Self.perfmon)) { return [] }
        var missing: [String] = []
        if !has(Self.bpf) { missing.append("CAP_BPF") }
        if !has(Self.perfmon) { missing.append("CAP_PERFMON") }
        return missing
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}
