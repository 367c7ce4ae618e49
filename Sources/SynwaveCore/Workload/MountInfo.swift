/// One line of `/proc/PID/mountinfo` (proc(5)): where a filesystem is mounted, and which of its
/// directories is that mount's root (not `/` inside a cgroup namespace or for a bind mount).
public struct MountInfo: Hashable, Sendable {
    public var root: String
    public var mountPoint: String
    public var fsType: String
    /// The filesystem's own options (the last field): a cgroup v1 mount names its controllers there.
    public var superOptions: String

    public init(root: String, mountPoint: String, fsType: String, superOptions: String = "") {
        self.root = root
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.superOptions = superOptions
    }

    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`;
    /// nil for a line not in that shape.
    public init?(line: Substring) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 9, let separator = fields[6...].firstIndex(of: "-"), separator + 1 < fields.count else {
            return nil
        }
        root = Self.unescaped(fields[3])
        mountPoint = Self.unescaped(fields[4])
        fsType = String(fields[separator + 1])
        superOptions = separator + 3 < fields.count ? String(fields[separator + 3]) : ""
    }

    /// All mounts of a mountinfo text, skipping lines not in its shape.
    public static func parse(_ text: String) -> [MountInfo] {
        text.split(separator: "\n").compactMap { MountInfo(line: $0) }
    }

    /// The first cgroup2 mount: `/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified` on
    /// hybrid ones (systemd's), wherever else an administrator put it.
    public static func cgroup2(in mounts: [MountInfo]) -> MountInfo? {
        mounts.first { $0.fsType == "cgroup2" }
    }

    /// What keeps sockets from carrying their cgroup v2, for doctor: no cgroup2 mount (records
    /// then carry none), or before 5.15 a mounted net_cls or net_prio (a socket whose classid or
    /// priority map is set keeps that data in the word that would hold its cgroup); nil when none.
    public static func cgroupProblem(in mounts: [MountInfo], kernel: KernelRelease?) -> String? {
        guard cgroup2(in: mounts) != nil else { return "no cgroup2 mounted (a cgroup v1-only host): records carry no cgroup" }
        let netClassifiers = mounts.contains { mount in
            mount.fsType == "cgroup" && mount.superOptions.split(separator: ",").contains { $0 == "net_cls" || $0 == "net_prio" }
        }
        if netClassifiers, let kernel, kernel < KernelRelease(major: 5, minor: 15) {
            return "net_cls or net_prio (cgroup v1) is mounted: before 5.15 sockets they classify carry no cgroup v2 (their records say null)"
        }
        return nil
    }

    /// The kernel writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
    static func unescaped(_ field: Substring) -> String {
        guard field.utf8.contains(UInt8(ascii: "\\")) else { return String(field) }
        let bytes = Array(field.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
               let value = octal(bytes[(index + 1)..<(index + 4)]) {
                out.append(value)
                index += 4
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}

/// `/proc/PID/cgroup`: the process's cgroup v2 path is the `0::` line (hybrid hosts list v1
/// hierarchies too); nil without one.
public enum ProcessCgroup {
    public static func v2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = line.dropFirst(3)
            return path.hasPrefix("/") ? String(path) : nil
        }
        return nil
    }
}
