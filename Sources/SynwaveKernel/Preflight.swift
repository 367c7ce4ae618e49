import SynwaveCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Checks what tracing needs before any BPF is loaded, so each failure gets its own clear message.
public enum Preflight {
    public static let btfPath = "/sys/kernel/btf/vmlinux"
    public static let tracefsPath = "/sys/kernel/tracing"

    public static func kernelRelease() -> String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    public static func checkKernel() throws(TracerSetupError) {
        try checkRelease()
        try checkBTF()
    }

    public static func checkRelease() throws(TracerSetupError) {
        let release = kernelRelease()
        if let parsed = KernelRelease(parsing: release), parsed < KernelRelease.minimumSupported {
            throw .kernelTooOld(release: release)
        }
    }

    public static func checkBTF() throws(TracerSetupError) {
        if access(btfPath, R_OK) != 0 { throw .noBTF(path: btfPath) }
    }

    public static func checkPrivileges() throws(TracerSetupError) {
        let status = (try? readFile("/proc/self/status")) ?? ""
        let caps = Capabilities(procStatus: status) ?? Capabilities(mask: geteuid() == 0 ? ~0 : 0)
        let missing = caps.missingForTracing
        if !missing.isEmpty { throw .notPrivileged(missing: missing) }
    }

    /// The empty mount point has no `events` folder; a mounted tracefs always does.
    public static var tracefsMounted: Bool {
        access("\(tracefsPath)/events", F_OK) == 0
    }

    /// tracefs is mounted at its path, readable by this user or not: the mount table says so to
    /// anyone (tracefs is mode 700, so `events` is hidden from other users).
    public static var tracefsMountedAtPath: Bool {
        let mounts = (try? readFile("/proc/self/mounts")) ?? ""
        return mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1] == tracefsPath && fields[2] == "tracefs"
        }
    }

    /// Mounts tracefs at /sys/kernel/tracing when nothing is mounted there.
    public static func ensureTracefs() throws(TracerSetupError) {
        if tracefsMounted { return }
        if tracefsMountedAtPath {
            let denied = access("\(tracefsPath)/events", F_OK) == 0 ? Errno.permissionDenied : Errno(rawValue: errno)
            throw .tracefsUnreadable(path: tracefsPath, denied)
        }
        if mount("tracefs", tracefsPath, "tracefs", 0, nil) != 0 {
            throw .tracefsUnavailable(Errno(rawValue: errno))
        }
    }

    /// With tracefs mounted, tells whether `category:name` exists on this kernel.
    public static func tracepointExists(category: String, name: String) -> Bool {
        access("\(tracefsPath)/events/\(category)/\(name)", F_OK) == 0
    }

    public static func readFile(_ path: String) throws -> String {
        let fd = try FileDescriptor.open(FilePath(path), .readOnly)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
