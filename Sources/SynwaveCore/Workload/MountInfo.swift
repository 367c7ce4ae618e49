/// One line of `/proc/PID/mountinfo` (proc(5)): where a filesystem is mounted, and which of its
/// directories is that mount's root (not `/` inside a cgroup namespace or for a bind mount).
public struct MountInfo: Hashable, Sendable {
    public var root: String
    public var mountPoint: String
    public var fsType: String

    public init(root: String, mountPoint: String, fsType: String) {
        self.root = root
        self.mountPoint = mountPoint
        self.fsType = fsType
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
